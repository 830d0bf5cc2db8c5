// Small durable files of a node's data directory: the current epoch and the
// secret session passwords are derived from. Each is replaced atomically
// (temp file, fsync, rename, fsync of the directory) so a crash leaves the
// old or the new value, never a torn one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace zkd::data_dir {

// Creates `dir` (and parents) if missing. Returns an error text or "".
std::string ensure(const std::string& dir);

// Replaces `path` with `content` atomically. Returns an error text or "".
std::string write_atomically(const std::string& path,
                             const std::string& content);

// Reads a whole small file; nullopt if it does not exist.
std::optional<std::string> read(const std::string& path);

} // namespace zkd::data_dir
