// Jute binary archives (org.apache.jute.BinaryOutputArchive /
// BinaryInputArchive) over plain byte buffers, and the codec of every record
// in records.hpp.
//
// Encoding: int and long big-endian, bool one byte (any non-zero byte reads
// as true, like DataInput.readBoolean), buffers and strings as an int length
// followed by the bytes (-1 for null), vectors as an int count followed by the
// elements (-1 for null).
//
// The reader trusts nothing: every read is bounds-checked, a failure is
// sticky (every later read fails too), and nothing is allocated for a length
// or count the remaining input cannot back, so a hostile frame costs at most
// a small constant times its own size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "records.hpp"

namespace zkd::wire {

// Appends jute-encoded values to a byte vector it does not own.
class writer {
public:
  explicit writer(std::vector<char>& out) noexcept : out_(out) {
    // nop
  }

  void write_int(int32_t x) { store_u32(grow(4), static_cast<uint32_t>(x)); }

  void write_long(int64_t x) {
    auto u = static_cast<uint64_t>(x);
    auto p = grow(8);
    store_u32(p, static_cast<uint32_t>(u >> 32));
    store_u32(p + 4, static_cast<uint32_t>(u));
  }

  void write_bool(bool x) { out_.push_back(x ? 1 : 0); }

  // A non-null string or buffer. Lengths above INT32_MAX are a programmer
  // error (frames are limited to jute.maxbuffer long before that) and abort.
  void write_string(std::string_view x);

  // A buffer that may be null (length -1).
  void write_buffer(const opt_bytes& x) {
    if (x)
      write_string(*x);
    else
      write_null();
  }

  // The -1 length of a null string, buffer or vector.
  void write_null() { write_int(-1); }

  // The count prefix of a vector; aborts above INT32_MAX like write_string.
  void write_count(size_t n);

  // Reserves the 4-byte length prefix of a frame and returns its offset;
  // end_frame() patches in the number of bytes appended since.
  size_t begin_frame() {
    auto pos = out_.size();
    out_.resize(pos + 4);
    return pos;
  }

  void end_frame(size_t frame_start);

  std::vector<char>& buffer() noexcept { return out_; }

private:
  // Appends n bytes to be filled in; cheaper than vector::insert per field.
  char* grow(size_t n) {
    auto pos = out_.size();
    out_.resize(pos + n);
    return out_.data() + pos;
  }

  static void store_u32(char* p, uint32_t u) noexcept {
    p[0] = static_cast<char>(u >> 24);
    p[1] = static_cast<char>(u >> 16);
    p[2] = static_cast<char>(u >> 8);
    p[3] = static_cast<char>(u);
  }

  std::vector<char>& out_;
};

// Reads jute-encoded values from a byte range it does not own.
class reader {
public:
  reader(const char* data, size_t size) noexcept
      : pos_(data), end_(data + size) {
    // nop
  }

  explicit reader(std::string_view bytes) noexcept
      : reader(bytes.data(), bytes.size()) {
    // nop
  }

  // False once any read failed; sticky.
  bool ok() const noexcept { return ok_; }

  size_t remaining() const noexcept { return static_cast<size_t>(end_ - pos_); }

  // Marks the input malformed: used by record codecs for semantic checks.
  void fail() noexcept { ok_ = false; }

  bool read_int(int32_t& x) noexcept {
    if (!take(4))
      return false;
    x = static_cast<int32_t>(load_u32(pos_ - 4));
    return true;
  }

  bool read_long(int64_t& x) noexcept {
    if (!take(8))
      return false;
    auto p = pos_ - 8;
    x = static_cast<int64_t>((uint64_t{load_u32(p)} << 32) | load_u32(p + 4));
    return true;
  }

  bool read_bool(bool& x) noexcept {
    if (!take(1))
      return false;
    x = pos_[-1] != 0;
    return true;
  }

  // The bytes of a string or buffer without copying; `is_null` tells a
  // null (-1) from an empty one. A length below -1 or beyond the remaining
  // input fails, like BinaryInputArchive.checkLength plus readFully.
  bool read_view(std::string_view& x, bool& is_null) noexcept {
    int32_t len;
    if (!read_int(len))
      return false;
    is_null = len == -1;
    if (is_null) {
      x = std::string_view{};
      return true;
    }
    if (len < 0 || static_cast<size_t>(len) > remaining()) {
      ok_ = false;
      return false;
    }
    x = std::string_view{pos_, static_cast<size_t>(len)};
    pos_ += len;
    return true;
  }

  // A string or buffer; null reads as empty.
  bool read_string(std::string& x) {
    std::string_view v;
    bool is_null;
    if (!read_view(v, is_null))
      return false;
    x.assign(v.data(), v.size());
    return true;
  }

  // A buffer keeping null apart from empty.
  bool read_buffer(opt_bytes& x) {
    std::string_view v;
    bool is_null;
    if (!read_view(v, is_null))
      return false;
    if (is_null)
      x.reset();
    else if (x)
      x->assign(v.data(), v.size());
    else
      x.emplace(v.data(), v.size());
    return true;
  }

  // The count of a vector whose elements take at least `min_element_size`
  // bytes each. Null (-1) reads as 0, and so does any other negative count:
  // ZooKeeper's BinaryIndex treats a count <= 0 as "done", so it decodes such
  // a vector as empty (verified against ZooKeeper 3.8: setWatches with counts
  // of -2 succeeds). A count the remaining input cannot hold fails at once
  // instead of after reading up to the end, which is where ZooKeeper fails.
  bool read_count(size_t& n, size_t min_element_size) noexcept {
    int32_t count;
    if (!read_int(count))
      return false;
    if (count <= 0) {
      n = 0;
      return true;
    }
    if (static_cast<size_t>(count) > remaining() / min_element_size) {
      ok_ = false;
      return false;
    }
    n = static_cast<size_t>(count);
    return true;
  }

private:
  static uint32_t load_u32(const char* p) noexcept {
    auto b = reinterpret_cast<const unsigned char*>(p);
    return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) |
           (uint32_t{b[2]} << 8) | uint32_t{b[3]};
  }

  // Advances by n bytes if the input is still good and holds them.
  bool take(size_t n) noexcept {
    if (!ok_ || remaining() < n) {
      ok_ = false;
      return false;
    }
    pos_ += n;
    return true;
  }

  const char* pos_;
  const char* end_;
  bool ok_ = true;
};

// -- record codecs (records.cpp) ---------------------------------------------
//
// write() appends the record in ZooKeeper's field order. read() overwrites
// every field of its target (so one object can be reused across frames
// without leftovers) and returns r.ok(); after a failure the target holds
// partial values and must not be used.

void write(writer& w, const id& x);
bool read(reader& r, id& x);
void write(writer& w, const acl& x);
bool read(reader& r, acl& x);
void write(writer& w, const stat& x);
bool read(reader& r, stat& x);
void write(writer& w, const connect_request& x);
bool read(reader& r, connect_request& x);
void write(writer& w, const connect_response& x);
bool read(reader& r, connect_response& x);
void write(writer& w, const set_watches& x);
bool read(reader& r, set_watches& x);
void write(writer& w, const set_watches2& x);
bool read(reader& r, set_watches2& x);
void write(writer& w, const request_header& x);
bool read(reader& r, request_header& x);
void write(writer& w, const multi_header& x);
bool read(reader& r, multi_header& x);
void write(writer& w, const auth_packet& x);
bool read(reader& r, auth_packet& x);
void write(writer& w, const reply_header& x);
bool read(reader& r, reply_header& x);
void write(writer& w, const get_data_request& x);
bool read(reader& r, get_data_request& x);
void write(writer& w, const set_data_request& x);
bool read(reader& r, set_data_request& x);
void write(writer& w, const reconfig_request& x);
bool read(reader& r, reconfig_request& x);
void write(writer& w, const set_data_response& x);
bool read(reader& r, set_data_response& x);
void write(writer& w, const create_request& x);
bool read(reader& r, create_request& x);
void write(writer& w, const create_ttl_request& x);
bool read(reader& r, create_ttl_request& x);
void write(writer& w, const delete_request& x);
bool read(reader& r, delete_request& x);
void write(writer& w, const get_children_request& x);
bool read(reader& r, get_children_request& x);
void write(writer& w, const get_all_children_number_request& x);
bool read(reader& r, get_all_children_number_request& x);
void write(writer& w, const get_children2_request& x);
bool read(reader& r, get_children2_request& x);
void write(writer& w, const check_version_request& x);
bool read(reader& r, check_version_request& x);
void write(writer& w, const sync_request& x);
bool read(reader& r, sync_request& x);
void write(writer& w, const sync_response& x);
bool read(reader& r, sync_response& x);
void write(writer& w, const get_acl_request& x);
bool read(reader& r, get_acl_request& x);
void write(writer& w, const set_acl_request& x);
bool read(reader& r, set_acl_request& x);
void write(writer& w, const set_acl_response& x);
bool read(reader& r, set_acl_response& x);
void write(writer& w, const add_watch_request& x);
bool read(reader& r, add_watch_request& x);
void write(writer& w, const watcher_event& x);
bool read(reader& r, watcher_event& x);
void write(writer& w, const error_response& x);
bool read(reader& r, error_response& x);
void write(writer& w, const create_response& x);
bool read(reader& r, create_response& x);
void write(writer& w, const create2_response& x);
bool read(reader& r, create2_response& x);
void write(writer& w, const exists_request& x);
bool read(reader& r, exists_request& x);
void write(writer& w, const exists_response& x);
bool read(reader& r, exists_response& x);
void write(writer& w, const get_data_response& x);
bool read(reader& r, get_data_response& x);
void write(writer& w, const get_children_response& x);
bool read(reader& r, get_children_response& x);
void write(writer& w, const get_all_children_number_response& x);
bool read(reader& r, get_all_children_number_response& x);
void write(writer& w, const get_children2_response& x);
bool read(reader& r, get_children2_response& x);
void write(writer& w, const get_acl_response& x);
bool read(reader& r, get_acl_response& x);
void write(writer& w, const check_watches_request& x);
bool read(reader& r, check_watches_request& x);
void write(writer& w, const remove_watches_request& x);
bool read(reader& r, remove_watches_request& x);
void write(writer& w, const get_ephemerals_request& x);
bool read(reader& r, get_ephemerals_request& x);
void write(writer& w, const get_ephemerals_response& x);
bool read(reader& r, get_ephemerals_response& x);
void write(writer& w, const client_info& x);
bool read(reader& r, client_info& x);
void write(writer& w, const whoami_response& x);
bool read(reader& r, whoami_response& x);

// Encodes one record on its own (no frame), mostly for tests and txn payloads.
template <class T>
std::vector<char> encode(const T& x) {
  std::vector<char> out;
  writer w{out};
  write(w, x);
  return out;
}

// Decodes one record from the front of `bytes`; trailing bytes are ignored,
// as ByteBufferInputStream.byteBuffer2Record does.
template <class T>
bool decode(std::string_view bytes, T& x) {
  reader r{bytes};
  return read(r, x);
}

} // namespace zkd::wire
