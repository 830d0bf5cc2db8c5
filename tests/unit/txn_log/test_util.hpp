// Helpers shared by the txn_log tests: temp directories, raw file surgery and
// an encoder written from the format description in txn_log.hpp (not from the
// writer), so tests can build files the writer would never produce.
#pragma once

#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <sys/resource.h>

#include "actors/txn_log/crc32c.hpp"
#include "actors/txn_log/txn_log.hpp"

namespace zkd::txn_log::test {

// Lowers the file size limit of the process so the next write past it fails
// with EFBIG: a real error from the kernel, without a full disk.
class file_size_limit {
public:
  explicit file_size_limit(rlim_t bytes) {
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    ::getrlimit(RLIMIT_FSIZE, &old_);
    rlimit lim = old_;
    lim.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &lim);
  }
  ~file_size_limit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }

private:
  rlimit old_;
  void (*old_handler_)(int);
};

class temp_dir {
public:
  temp_dir() {
    char tmpl[] = "/tmp/zkd-txnlog-test-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const { return path_; }

  // A fresh, empty subdirectory path (not created).
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

using record = std::pair<int64_t, std::string>;

// A payload that differs per zxid and has zero bytes inside, of size n.
inline std::string payload_for(int64_t zxid, size_t n) {
  std::string s(n, '\0');
  uint64_t x = static_cast<uint64_t>(zxid) * 0x9E3779B97F4A7C15ull + n;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s[i] = (i % 7 == 3) ? '\0' : static_cast<char>(x);
  }
  return s;
}

struct scanned {
  std::vector<record> records;
  scan_result result;
};

inline scanned scan_all(const std::string& dir, int64_t from = 0) {
  scanned out;
  out.result = scan(dir, from, [&](int64_t zxid, std::string_view p) {
    out.records.emplace_back(zxid, std::string(p));
    return true;
  });
  return out;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

inline uint64_t file_size(const std::string& path) {
  return std::filesystem::file_size(path);
}

// Overwrites bytes in place (the file keeps its size).
inline void patch_file(const std::string& path, uint64_t offset,
                       const std::string& data) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
}

inline void flip_byte(const std::string& path, uint64_t offset) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5A);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

inline void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out.push_back(static_cast<char>(v >> (8 * i)));
}

inline std::string encode_header(int64_t first_zxid, uint32_t version = 1) {
  std::string h = "ZKDL";
  put_le(h, version, 4);
  put_le(h, static_cast<uint64_t>(first_zxid), 8);
  return h;
}

inline std::string encode_record(int64_t zxid, const std::string& payload) {
  std::string z;
  put_le(z, static_cast<uint64_t>(zxid), 8);
  auto crc = crc32c_extend(crc32c(z), payload.data(), payload.size());
  std::string r;
  put_le(r, payload.size(), 4);
  put_le(r, crc, 4);
  return r + z + payload;
}

// Writes a segment file by hand: header, the records, then `zero_tail`
// bytes of zeros as preallocation would leave.
inline std::string write_segment(const std::string& dir, int64_t first_zxid,
                                 const std::vector<record>& recs,
                                 size_t zero_tail = 4096) {
  std::filesystem::create_directories(dir);
  std::string data = encode_header(first_zxid);
  for (auto& r : recs)
    data += encode_record(r.first, r.second);
  data.append(zero_tail, '\0');
  auto path = dir + "/" + segment_file_name(first_zxid);
  write_file(path, data);
  return path;
}

inline writer_options test_options(uint64_t segment_bytes = 1u << 20,
                                   prealloc mode = prealloc::fallocate) {
  writer_options o;
  o.fsync = false;
  o.segment_bytes = segment_bytes;
  o.preallocate = mode;
  return o;
}

} // namespace zkd::txn_log::test
