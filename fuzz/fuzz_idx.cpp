// libFuzzer target: the IDX reader (raw or gzip, through zlib) on arbitrary bytes, alone and as a pair of
// image and label files (what --data points the samples at). Contract under test: read_idx_u8 and
// load_labeled_images either return data that satisfies their postconditions or throw data_error; never
// another exception, a crash, a hang, undefined behaviour or an out-of-bounds access (ASan + UBSan).
// The reader takes a path, so the input is handed over as an in-memory file (memfd) by its /proc path.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "runtime/data/data_error.hpp"
#include "runtime/data/idx.hpp"
#include "runtime/data/labeled_images.hpp"

namespace {

// An anonymous in-memory file holding `size` bytes, closed on destruction.
class memory_file {
public:
    memory_file(const std::uint8_t* data, std::size_t size) : fd_(::memfd_create("fuzz-idx", MFD_CLOEXEC)) {
        if (fd_ < 0) std::abort();
        for (std::size_t done = 0; done < size;) {
            const ssize_t wrote = ::write(fd_, data + done, size - done);
            if (wrote <= 0) std::abort();
            done += static_cast<std::size_t>(wrote);
        }
    }
    ~memory_file() { ::close(fd_); }
    memory_file(const memory_file&) = delete;
    memory_file& operator=(const memory_file&) = delete;
    std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

private:
    int fd_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    // First byte: 0 reads one IDX file; otherwise the rest is split into images and labels at a point
    // the second byte chooses (a fraction of the rest).
    const std::uint8_t mode = data[0];
    ++data;
    --size;
    try {
        if (mode % 2 == 0) {
            memory_file file(data, size);
            const nnfuse::idx_u8 idx = nnfuse::read_idx_u8(file.path());
            std::uint64_t product = 1;
            for (std::uint32_t d : idx.dims) product *= d;
            if (idx.dims.empty() || idx.dims.size() > 4 || product != idx.data.size()) std::abort();
        } else {
            if (size == 0) return 0;
            const std::size_t split = 1 + (size - 1) * data[0] / 255;
            memory_file images(data + 1, split - 1), labels(data + split, size - split);
            const nnfuse::labeled_images set = nnfuse::load_labeled_images(images.path(), labels.path(), 10);
            if (set.pixels.size() != set.count * set.height * set.width || set.labels.size() != set.count) std::abort();
            for (std::uint8_t label : set.labels)
                if (label >= 10) std::abort();
        }
    } catch (const nnfuse::data_error&) {
    }
    return 0;
}
