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

// Zab's epoch files (accepted_epoch, current_epoch), ZooKeeper's layout: the
// epoch in decimal and a newline.
//
// The stored epoch; 0 if the file does not exist (a node that never took
// part in an epoch). -1 if it cannot be read or does not hold one
// non-negative decimal number (optionally followed by a newline): the caller
// must not guess, ZooKeeper refuses to start then; `error`, if given, gets a
// sentence naming the file and what it holds.
int64_t read_epoch(const std::string& path, std::string* error = nullptr);

// Replaces the epoch file atomically (write_atomically). Returns an error
// text or "".
std::string write_epoch(const std::string& path, int64_t epoch);

} // namespace zkd::data_dir
