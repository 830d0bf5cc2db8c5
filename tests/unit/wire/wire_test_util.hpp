// Helpers shared by the wire codec tests: hex conversion and sample records
// with every field set to a distinct, non-default value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "messages/wire/jute.hpp"
#include "messages/wire/records.hpp"

namespace zkd::wire::test {

// "00 0a ff" or "000aff" -> bytes; spaces are ignored.
inline std::vector<char> from_hex(std::string_view hex) {
  std::vector<char> out;
  int hi = -1;
  for (char c : hex) {
    int v;
    if (c >= '0' && c <= '9')
      v = c - '0';
    else if (c >= 'a' && c <= 'f')
      v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v = c - 'A' + 10;
    else
      continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<char>(hi * 16 + v));
      hi = -1;
    }
  }
  return out;
}

inline std::string to_hex(const std::vector<char>& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    auto u = static_cast<unsigned char>(c);
    out += digits[u >> 4];
    out += digits[u & 15];
  }
  return out;
}

inline std::string_view view(const std::vector<char>& bytes) {
  return {bytes.data(), bytes.size()};
}

// A frame's payload: the bytes after the 4-byte length prefix.
inline std::string_view payload_of(const std::vector<char>& frame) {
  return {frame.data() + 4, frame.size() - 4};
}

inline stat sample_stat(int64_t base = 0x100) {
  stat s;
  s.czxid = base + 1;
  s.mzxid = base + 2;
  s.ctime = 0x0102030405060708 + base;
  s.mtime = 0x1112131415161718 + base;
  s.version = 5;
  s.cversion = 6;
  s.aversion = 7;
  s.ephemeral_owner = -0x7edcba9876543210;
  s.data_length = 9;
  s.num_children = 10;
  s.pzxid = base + 11;
  return s;
}

inline std::vector<acl> sample_acls() {
  return {acl{31, id{"world", "anyone"}}, acl{1, id{"digest", "u:hash="}}};
}

// Encodes a request frame: length, RequestHeader{xid, type}, body.
template <class T>
std::vector<char> request_frame(int32_t xid, int32_t type, const T& body) {
  std::vector<char> out;
  writer w{out};
  auto f = w.begin_frame();
  write(w, request_header{xid, type});
  write(w, body);
  w.end_frame(f);
  return out;
}

inline std::vector<char> request_frame(int32_t xid, int32_t type) {
  std::vector<char> out;
  writer w{out};
  auto f = w.begin_frame();
  write(w, request_header{xid, type});
  w.end_frame(f);
  return out;
}

} // namespace zkd::wire::test

#include "messages/wire/protocol.hpp"
#include "messages/wire/request.hpp"

namespace zkd::wire::test {

// Encodes a decoded request back into a frame the way ZooKeeper's clients
// do (a multi as MultiOperationRecord.serialize writes it), so a decode can
// be checked against the bytes it came from.
inline std::vector<char> encode_request(const request& rq) {
  std::vector<char> out;
  writer w{out};
  auto f = w.begin_frame();
  write(w, rq);
  w.end_frame(f);
  return out;
}

// A multi frame from (header type, body) pairs, closed by {-1, true, -1}.
struct raw_op {
  int32_t type;
  std::vector<char> body;
};

inline std::vector<char> multi_frame(int32_t xid, int32_t type,
                                     const std::vector<raw_op>& ops) {
  std::vector<char> out;
  writer w{out};
  auto f = w.begin_frame();
  write(w, request_header{xid, type});
  for (auto& op : ops) {
    write(w, multi_header{op.type, false, -1});
    out.insert(out.end(), op.body.begin(), op.body.end());
  }
  write(w, multi_header{-1, true, -1});
  w.end_frame(f);
  return out;
}

} // namespace zkd::wire::test
