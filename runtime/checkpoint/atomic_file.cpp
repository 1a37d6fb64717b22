// Atomic, durable file replacement with POSIX calls (see atomic_file.hpp): temp file, fsync, rename,
// fsync of the directory.
#include "runtime/checkpoint/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "runtime/checkpoint/checkpoint_error.hpp"

namespace nnfuse {

namespace {

[[noreturn]] void fail(const std::filesystem::path& target, std::string_view step, int error) {
    throw checkpoint_error(fmt::format("{}: cannot save ({}: {})", target.string(), step, std::strerror(error)));
}

std::filesystem::path directory_of(const std::filesystem::path& target) {
    const std::filesystem::path parent = target.parent_path();
    return parent.empty() ? std::filesystem::path(".") : parent;
}

// An open temporary file next to the target, removed on destruction unless released.
class temporary_file {
public:
    explicit temporary_file(const std::filesystem::path& target) : target_(target) {
        static std::atomic<unsigned> serial{0};
        if (target.filename().empty()) fail(target, "the path names a directory", EISDIR);
        for (int attempt = 0; attempt < 100; ++attempt) {
            path_ = target;
            path_ += fmt::format(".tmp.{}.{}", ::getpid(), serial++);
            fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
            if (fd_ >= 0) return;
            if (errno != EEXIST) fail(target, fmt::format("creating {}", path_.string()), errno);
        }
        fail(target, "creating a temporary file", EEXIST);
    }
    ~temporary_file() {
        if (fd_ >= 0) ::close(fd_);
        if (!path_.empty()) ::unlink(path_.c_str());
    }
    temporary_file(const temporary_file&) = delete;
    temporary_file& operator=(const temporary_file&) = delete;

    void write_all(std::string_view bytes) {
        std::size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t wrote = ::write(fd_, bytes.data() + done, bytes.size() - done);
            if (wrote < 0 && errno == EINTR) continue;
            if (wrote < 0) fail(target_, "writing", errno);
            done += static_cast<std::size_t>(wrote);
        }
    }
    void sync_and_close() {
        if (::fsync(fd_) != 0) fail(target_, "fsync", errno);
        const int fd = fd_;
        fd_ = -1;
        if (::close(fd) != 0) fail(target_, "closing", errno);  // NFS may report write errors only here
    }
    void rename_over_target() {
        if (::rename(path_.c_str(), target_.c_str()) != 0) fail(target_, "renaming the temporary file", errno);
        path_.clear();  // it is the target now
    }
    void remove() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
        ::unlink(path_.c_str());
        path_.clear();
    }

private:
    std::filesystem::path target_;
    std::filesystem::path path_;
    int fd_ = -1;
};

}  // namespace

void write_file_atomically(const std::filesystem::path& target, std::string_view bytes) {
    {
        temporary_file temp(target);
        temp.write_all(bytes);
        temp.sync_and_close();
        temp.rename_over_target();
    }
    const std::filesystem::path directory = directory_of(target);
    const int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const int dir_error = dir_fd < 0 ? errno : (::fsync(dir_fd) != 0 ? errno : 0);
    if (dir_fd >= 0) ::close(dir_fd);
    if (dir_error != 0) {
        throw checkpoint_error(fmt::format(
            "{}: saved, but syncing the directory {} failed ({}): the new file may not survive a power loss",
            target.string(), directory.string(), std::strerror(dir_error)));
    }
}

void check_writable(const std::filesystem::path& target) {
    std::error_code error;
    if (std::filesystem::is_directory(target, error)) fail(target, "the path is a directory", EISDIR);
    temporary_file probe(target);
    probe.remove();
}

}  // namespace nnfuse
