// write_file_atomically: replaces a file so that, whatever happens (crash, SIGKILL, power loss after
// return), the path holds either its old complete content or the new complete content, never a mix.
//
// write_file_atomically(target, bytes)
//   does:     creates "<target>.tmp.<pid>.<n>" in the target's directory (O_EXCL: never someone else's
//             file), writes every byte, fsync()s it, renames it over the target (atomic within one file
//             system, which is why the temporary file is in the same directory), then fsync()s the
//             directory so that the rename itself survives a power loss.
//   ensures:  on return the new content is in place and durable. Readers that already opened the old
//             file keep reading the old bytes (it is replaced, never truncated in place: safetensors#764).
//   throws:   checkpoint_error "<target>: cannot save (<step>: <reason>)" when any step fails; the temporary
//             file is removed and the target left as it was, except when only the final directory fsync
//             fails: then the new content is in place but its durability is uncertain, and the message
//             says so. A process killed mid-save leaves a "<target>.tmp.*" file behind (safe to delete).
//   A symbolic link at `target` is replaced by the file, not followed.
//
// check_writable(target)
//   throws the same checkpoint_error when a save to `target` would fail for lack of a directory or of
//   permission, or because the target is a directory; creates and removes a temporary file to find out,
//   so programs can refuse a bad path before hours of training rather than after.
#pragma once

#include <filesystem>
#include <string_view>

namespace nnfuse {

void write_file_atomically(const std::filesystem::path& target, std::string_view bytes);

void check_writable(const std::filesystem::path& target);

}  // namespace nnfuse
