// Helpers shared by the YAML and zoo.cfg readers. Not part of the API.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace zkd::config::detail {

// A decimal integer: optional sign, digits, nothing else. nullopt when
// malformed or outside [lo, hi].
std::optional<int64_t> parse_int(std::string_view s, int64_t lo, int64_t hi);

// Same for unsigned 64-bit values (server ids).
std::optional<uint64_t> parse_uint64(std::string_view s);

// Java's Integer.parseInt / Long.parseLong: like parse_int, but also the
// exact range of int / long.
std::optional<int32_t> java_parse_int(std::string_view s);
std::optional<int64_t> java_parse_long(std::string_view s);

// The closest candidate by edit distance, if it is close enough to be a
// likely typo; "" otherwise.
std::string closest(std::string_view word,
                    const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" or "".
std::string did_you_mean(std::string_view word,
                         const std::vector<std::string>& candidates);

// "a, b, c".
std::string join(const std::vector<std::string>& words,
                 std::string_view sep = ", ");

bool contains(const std::vector<std::string>& words, std::string_view w);

// Adds "srvr", sorts and removes duplicates.
void normalize_four_letter_words(std::vector<std::string>& words);

// 0.0.0.0, ::, [::] or "" listen on every address.
bool is_wildcard(std::string_view address);

// Two listening sockets of the ensemble that would collide on one machine.
struct clash {
  size_t first;           // index into servers
  size_t second;          // index into servers (may equal first)
  std::string first_what; // "quorum_port", "election_port", ...
  std::string second_what;
  std::string address;
  uint16_t port;
};

enum class clash_scope {
  all,         // quorum, election, client and (if enabled) admin sockets
  quorum_only, // quorum and election sockets
};

// Servers with the same `host` share a machine; two sockets on one machine
// collide when their ports are equal and their addresses are equal or one is
// a wildcard. Each colliding pair is reported once, for its later socket.
std::vector<clash> find_clashes(const std::vector<server>& servers,
                                bool admin_enabled,
                                const std::string& admin_address,
                                clash_scope scope);

} // namespace zkd::config::detail
