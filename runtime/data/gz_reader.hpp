// nnfuse::gz_reader: the bytes of a raw or gzip-compressed file, with every zlib error a data_error.
//
// Contract:
//   gz_reader(file)  throws data_error "<file>: cannot open (<reason>)" when the file cannot be opened.
//   read_some(dst, n) reads up to n bytes and returns how many; fewer than n means the data ended. The end is
//                    only believed when zlib reports no error: a cut gzip stream also makes gzread return 0, so
//                    a truncated or corrupt stream throws data_error (naming the file and how many
//                    decompressed bytes were read) instead of looking like a short file.
//   compressed()     whether the file is gzip (meaningful after the first read).
//   fail(problem)    throws data_error "<file>: <problem>".
//
// Compression is decided by content, not by name: zlib's gzread inflates a stream that starts with the gzip
// magic 1f 8b and passes any other file through unchanged. Known limit: bytes after the last gzip member that
// do not start with 1f 8b are discarded by zlib without an error (gzip -d only warns about them).
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

struct gzFile_s;

namespace nnfuse {

class gz_reader {
public:
    explicit gz_reader(const std::filesystem::path& file);
    ~gz_reader();
    gz_reader(const gz_reader&) = delete;
    gz_reader& operator=(const gz_reader&) = delete;

    std::size_t read_some(void* destination, std::size_t count);
    bool compressed() const;
    const std::string& name() const { return name_; }

    [[noreturn]] void fail(std::string_view problem) const;

private:
    [[noreturn]] void fail_with_zlib_error() const;

    std::string name_;
    gzFile_s* gz_ = nullptr;
    std::size_t consumed_ = 0;
};

}  // namespace nnfuse
