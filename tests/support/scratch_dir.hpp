// A scratch directory for one test: created empty under the system's temporary directory, named
// nnfuse-<prefix>-<pid>-<serial> so that concurrent test programs and tests never share one, and removed with
// everything in it when the object is destroyed (errors ignored: a test's result does not depend on the cleanup).
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <system_error>

namespace nnfuse::test {

class scratch_dir {
public:
    explicit scratch_dir(const std::string& prefix = "test") {
        static std::atomic<int> serial{0};
        path_ = std::filesystem::temp_directory_path() /
                ("nnfuse-" + prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(serial++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~scratch_dir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;

    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

}  // namespace nnfuse::test
