#include "actors/txn_log/txn_log.hpp"

#include "actors/txn_log/byte_order.hpp"
#include "actors/txn_log/crc32c.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace zkd::txn_log {

namespace {

constexpr char magic[4] = {'Z', 'K', 'D', 'L'};
constexpr size_t read_chunk_bytes = 1u << 20;
// Disks write whole sectors; a 512-byte run of zeros inside a record that
// fails its CRC means part of the write never reached the disk.
constexpr uint64_t sector_bytes = 512;
// A buffer grown by one huge batch is released rather than kept forever.
constexpr size_t keep_buffer_bytes = 8u << 20;

void put_u32(char* p, uint32_t v) {
  store_le32(p, v);
}
void put_u64(char* p, uint64_t v) {
  store_le64(p, v);
}
uint32_t get_u32(const char* p) {
  return load_le32(p);
}
uint64_t get_u64(const char* p) {
  return load_le64(p);
}

uint32_t record_crc(const char* zxid_le, std::string_view payload) {
  return crc32c_extend(crc32c(zxid_le, 8), payload.data(), payload.size());
}

void encode_file_header(char* out, int64_t first_zxid) {
  std::memcpy(out, magic, 4);
  put_u32(out + 4, format_version);
  put_u64(out + 8, static_cast<uint64_t>(first_zxid));
}

std::string hex_zxid(int64_t zxid) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%" PRIx64, static_cast<uint64_t>(zxid));
  return buf;
}

std::string at(const std::string& path, uint64_t offset) {
  return path + " at byte " + std::to_string(offset);
}

log_error sys_error(std::string what, int err) {
  log_error e;
  e.code = errc::io_error;
  e.sys_errno = err;
  e.message = std::move(what) + ": " + std::strerror(err);
  return e;
}

// Reads exactly n bytes unless the file ends first; returns the byte count
// or -1 with errno set.
ssize_t pread_full(int fd, char* buf, size_t n, uint64_t off) {
  size_t got = 0;
  while (got < n) {
    auto r = ::pread(fd, buf + got, n - got, static_cast<off_t>(off + got));
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    if (r == 0)
      break;
    got += static_cast<size_t>(r);
  }
  return static_cast<ssize_t>(got);
}

// Returns 0 or an errno value. A short write is continued, so ENOSPC or EIO
// in the middle of a batch is reported, not lost.
int pwrite_full(int fd, const char* buf, size_t n, uint64_t off) {
  size_t done = 0;
  while (done < n) {
    auto r = ::pwrite(fd, buf + done, n - done, static_cast<off_t>(off + done));
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return errno;
    }
    if (r == 0)
      return EIO;
    done += static_cast<size_t>(r);
  }
  return 0;
}

int datasync(int fd) {
  while (::fdatasync(fd) != 0) {
    if (errno != EINTR)
      return errno;
  }
  return 0;
}

int full_sync(int fd) {
  while (::fsync(fd) != 0) {
    if (errno != EINTR)
      return errno;
  }
  return 0;
}

// Makes [from, to) of the file allocated and zero, as configured. Returns 0
// or an errno value.
int preallocate(int fd, prealloc mode, uint64_t from, uint64_t to) {
  if (to <= from || mode == prealloc::none)
    return 0;
  if (mode == prealloc::fallocate) {
    // posix_fallocate returns the error instead of setting errno, and falls
    // back to writing when the file system cannot allocate.
    int rc;
    do {
      rc = ::posix_fallocate(fd, static_cast<off_t>(from),
                             static_cast<off_t>(to - from));
    } while (rc == EINTR);
    // Less free space than a segment is not yet a full disk: go on without
    // the reservation (ZooKeeper's padding is sparse and never fails here).
    // A write that really finds no space fails with ENOSPC and stops us then.
    // Whatever part was allocated reads as zeros, as the scan expects.
    if (rc == ENOSPC)
      return 0;
    return rc;
  }
  static const std::string zeros(read_chunk_bytes, '\0');
  for (uint64_t off = from; off < to;) {
    auto n = static_cast<size_t>(std::min<uint64_t>(zeros.size(), to - off));
    if (int rc = pwrite_full(fd, zeros.data(), n, off))
      return rc;
    off += n;
  }
  return 0;
}

bool is_zero(const char* p, size_t n) {
  // memcmp against zeros is vectorized by libc; a byte loop with an early
  // exit is not, and start-up reads whole preallocated segments.
  static const std::string zeros(64 * 1024, '\0');
  while (n > 0) {
    auto k = std::min(n, zeros.size());
    if (std::memcmp(p, zeros.data(), k) != 0)
      return false;
    p += k;
    n -= k;
  }
  return true;
}

// Sequential reads of one file through a window buffer, so parsing costs one
// pread per MiB rather than one per record.
class file_reader {
public:
  file_reader(int fd, uint64_t size) : fd_(fd), size_(size) {}

  uint64_t size() const { return size_; }

  // n bytes at off (off + n <= size()), or nullptr with error() set.
  const char* get(uint64_t off, size_t n) {
    if (off >= buf_off_ && off + n <= buf_off_ + buf_len_)
      return buf_.get() + (off - buf_off_);
    auto want = static_cast<size_t>(
        std::min<uint64_t>(std::max(n, read_chunk_bytes), size_ - off));
    if (want > buf_cap_) {
      buf_.reset(new char[want]);
      buf_cap_ = want;
    }
    buf_len_ = 0;
    auto got = pread_full(fd_, buf_.get(), want, off);
    if (got < 0) {
      error_ = errno;
      return nullptr;
    }
    if (static_cast<size_t>(got) < n) {
      error_ = EIO; // the file shrank under us
      return nullptr;
    }
    buf_off_ = off;
    buf_len_ = static_cast<size_t>(got);
    return buf_.get();
  }

  // true if [from, to) holds only zero bytes; nullopt on a read error.
  std::optional<bool> all_zero(uint64_t from, uint64_t to) {
    to = std::min(to, size_);
    for (uint64_t off = from; off < to;) {
      auto n =
          static_cast<size_t>(std::min<uint64_t>(read_chunk_bytes, to - off));
      auto p = get(off, n);
      if (p == nullptr)
        return std::nullopt;
      if (!is_zero(p, n))
        return false;
      off += n;
    }
    return true;
  }

  int error() const { return error_; }

private:
  int fd_;
  uint64_t size_;
  std::unique_ptr<char[]> buf_;
  size_t buf_cap_ = 0;
  uint64_t buf_off_ = 0;
  size_t buf_len_ = 0;
  int error_ = 0;
};

struct search_result {
  std::optional<uint64_t> offset; // where a valid record starts
  bool io_error = false;
};

// Looks for the first offset >= from where a complete record with a matching
// CRC and a zxid above `after` starts. Runs of zeros are skipped quickly; the
// zxid filter (same epoch range) keeps CRC work on garbage negligible.
search_result find_valid_record(file_reader& in, uint64_t from, int64_t after) {
  search_result res;
  auto max_epoch = (static_cast<uint64_t>(after) >> 32) + 0xFFFF;
  uint64_t q = from;
  while (q + record_header_bytes <= in.size()) {
    const char* h = in.get(q, record_header_bytes);
    if (h == nullptr) {
      res.io_error = true;
      return res;
    }
    bool zero = true;
    for (size_t i = 0; i < record_header_bytes && zero; ++i)
      zero = h[i] == 0;
    if (zero) {
      // No record can start in [q, nz - 15) when nz is the next non-zero
      // byte after this run.
      uint64_t nz = q + record_header_bytes;
      while (nz < in.size()) {
        auto n = static_cast<size_t>(
            std::min<uint64_t>(read_chunk_bytes, in.size() - nz));
        const char* c = in.get(nz, n);
        if (c == nullptr) {
          res.io_error = true;
          return res;
        }
        size_t i = 0;
        while (i < n && c[i] == 0)
          ++i;
        nz += i;
        if (i < n)
          break;
      }
      q = nz - (record_header_bytes - 1);
      continue;
    }
    uint32_t len = get_u32(h);
    uint32_t crc = get_u32(h + 4);
    char zxid_le[8];
    std::memcpy(zxid_le, h + 8, 8);
    auto zxid = get_u64(zxid_le);
    if (zxid > static_cast<uint64_t>(after) && (zxid >> 32) <= max_epoch &&
        zxid <= static_cast<uint64_t>(INT64_MAX) && len <= max_payload_bytes &&
        q + record_header_bytes + len <= in.size()) {
      const char* body = in.get(q + record_header_bytes, len);
      if (body == nullptr) {
        res.io_error = true;
        return res;
      }
      if (record_crc(zxid_le, std::string_view(body, len)) == crc) {
        res.offset = q;
        return res;
      }
    }
    ++q;
  }
  return res;
}

struct segment_scan {
  scan_status status = scan_status::clean;
  std::string message;
  uint64_t bad_offset = 0;
  uint64_t end_offset = 0; // just past the last record consumed
  int64_t last_zxid = 0;
  uint64_t records = 0;   // valid records consumed
  uint64_t delivered = 0; // of which handed to the callback
  bool stopped = false;
  int sys_errno = 0;
};

struct scan_params {
  bool is_last = false;  // a torn tail is only possible in the newest file
  int64_t prev_zxid = 0; // every record must be above this
  int64_t from_zxid = 0; // deliver records >= this
  // Stop before the first record above this (used by truncate_after); the
  // records after it are left unread.
  int64_t until_zxid = INT64_MAX;
  const scan_callback* callback = nullptr;
  const positioned_callback* positioned = nullptr; // instead of callback
};

// Parses one segment. Records are checked in order; at the first one that
// fails, the rest of the file decides between a torn tail and corruption.
segment_scan scan_segment(int fd, const segment_info& seg,
                          const scan_params& p) {
  segment_scan res;
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    res.status = scan_status::io_error;
    res.sys_errno = errno;
    res.message = "cannot stat " + seg.path + ": " + std::strerror(errno);
    return res;
  }
  file_reader in(fd, static_cast<uint64_t>(st.st_size));
  auto io_failure = [&](uint64_t off) {
    res.status = scan_status::io_error;
    res.sys_errno = in.error();
    res.bad_offset = off;
    res.message =
        "cannot read " + at(seg.path, off) + ": " + std::strerror(in.error());
    return res;
  };
  auto corrupt = [&](uint64_t off, const std::string& why) {
    res.status = scan_status::corrupt;
    res.bad_offset = off;
    res.message = "corrupt transaction log " + at(seg.path, off) + ": " + why;
    return res;
  };

  // File header. A crash right after creating the newest segment can leave
  // it with a header that is missing or half written; nothing else can.
  char expected[file_header_bytes];
  encode_file_header(expected, seg.first_zxid);
  auto head_len =
      static_cast<size_t>(std::min<uint64_t>(file_header_bytes, in.size()));
  const char* head = head_len > 0 ? in.get(0, head_len) : expected;
  if (head == nullptr)
    return io_failure(0);
  if (head_len < file_header_bytes ||
      std::memcmp(head, expected, file_header_bytes) != 0) {
    bool partial = true;
    for (size_t i = 0; i < head_len; ++i)
      partial = partial && (head[i] == expected[i] || head[i] == 0);
    if (partial) {
      auto rest_zero = in.all_zero(file_header_bytes, in.size());
      if (!rest_zero)
        return io_failure(file_header_bytes);
      if (*rest_zero && p.is_last) {
        res.status = scan_status::torn_tail;
        res.message = "transaction log " + seg.path +
                      " has an incomplete file header (crash while "
                      "creating it) and no records";
        return res;
      }
      return corrupt(0, "incomplete file header");
    }
    if (head_len >= 8 && std::memcmp(head, magic, 4) == 0 &&
        get_u32(head + 4) != format_version)
      return corrupt(4, "unsupported format version " +
                            std::to_string(get_u32(head + 4)));
    if (head_len >= 16 && std::memcmp(head, expected, 8) == 0)
      return corrupt(8, "file header says first zxid " +
                            hex_zxid(static_cast<int64_t>(get_u64(head + 8))) +
                            " but the file name says " +
                            hex_zxid(seg.first_zxid));
    return corrupt(0, "bad file header");
  }

  int64_t prev = p.prev_zxid;
  uint64_t off = file_header_bytes;
  res.end_offset = off;
  // Decides what the bad record at `off` is; `why` says what is wrong.
  auto bad_record = [&](uint64_t off, const std::string& why) {
    if (!p.is_last)
      return corrupt(off, why);
    // In the newest segment the question is whether anything acknowledged
    // follows. A batch is acknowledged only after its fdatasync, so a valid
    // record after the bad one means the bad one was durable once: it rotted.
    auto next = find_valid_record(
        in, off + 1, std::max<int64_t>({prev, seg.first_zxid - 1, 0}));
    if (next.io_error)
      return io_failure(off);
    if (next.offset) {
      // Unless a zero sector lies between: then the pages of the last batch
      // reached the disk out of order (a crash before its fdatasync
      // returned), and the valid records after the hole are from that same
      // unacknowledged batch.
      bool hole = false;
      auto first = (off + sector_bytes - 1) / sector_bytes * sector_bytes;
      for (uint64_t s = first; s + sector_bytes <= *next.offset && !hole;
           s += sector_bytes) {
        auto z = in.all_zero(s, s + sector_bytes);
        if (!z)
          return io_failure(s);
        hole = *z;
      }
      if (!hole)
        return corrupt(off, why + "; a valid record follows at byte " +
                                std::to_string(*next.offset));
    }
    res.status = scan_status::torn_tail;
    res.bad_offset = off;
    res.message = "torn tail in transaction log " + at(seg.path, off) + ": " +
                  why + "; the log now ends " +
                  (res.records > 0 ? "at zxid " + hex_zxid(res.last_zxid)
                                   : std::string("before this file"));
    return res;
  };

  for (;;) {
    // Records up to until_zxid are known complete; past them a live writer
    // may be in the middle of a write, so stop without looking.
    if (res.records > 0 && res.last_zxid >= p.until_zxid)
      return res;
    if (off + record_header_bytes > in.size()) {
      if (off == in.size())
        return res;
      auto z = in.all_zero(off, in.size());
      if (!z)
        return io_failure(off);
      if (*z)
        return res;
      return bad_record(off, "partial record header at the end of the file");
    }
    const char* h = in.get(off, record_header_bytes);
    if (h == nullptr)
      return io_failure(off);
    bool zero_header = true;
    for (size_t i = 0; i < record_header_bytes; ++i)
      zero_header = zero_header && h[i] == 0;
    if (zero_header) {
      // The preallocated, never written part; it must be zero to the end.
      // Anything else is a lost block or a batch whose first sector never
      // reached the disk.
      auto z = in.all_zero(off + record_header_bytes, in.size());
      if (!z)
        return io_failure(off);
      if (*z)
        return res;
      return bad_record(off, "zero record header followed by non-zero data");
    }
    uint32_t len = get_u32(h);
    uint32_t crc = get_u32(h + 4);
    char zxid_le[8];
    std::memcpy(zxid_le, h + 8, 8);
    auto zxid = static_cast<int64_t>(get_u64(zxid_le));
    if (len > max_payload_bytes)
      return bad_record(off, "record length " + std::to_string(len) +
                                 " is over the limit");
    if (off + record_header_bytes + len > in.size())
      return bad_record(off, "record of " + std::to_string(len) +
                                 " bytes runs past the end of the file");
    const char* body = in.get(off + record_header_bytes, len);
    if (body == nullptr)
      return io_failure(off + record_header_bytes);
    std::string_view payload(body, len);
    if (record_crc(zxid_le, payload) != crc)
      return bad_record(off, "CRC mismatch in record of " +
                                 std::to_string(len) + " bytes");
    // A record that passes its CRC was written completely, so anything
    // wrong with it is corruption even at the tail.
    if (res.records == 0 && zxid != seg.first_zxid)
      return corrupt(off, "first record has zxid " + hex_zxid(zxid) +
                              " but the file name says " +
                              hex_zxid(seg.first_zxid));
    if (zxid <= prev)
      return corrupt(off, "zxid " + hex_zxid(zxid) +
                              " is not greater than the previous zxid " +
                              hex_zxid(prev));
    if (zxid > p.until_zxid)
      return res; // truncate_after: stop before it
    ++res.records;
    res.last_zxid = zxid;
    prev = zxid;
    off += record_header_bytes + len;
    res.end_offset = off;
    if ((p.callback != nullptr || p.positioned != nullptr) &&
        zxid >= p.from_zxid) {
      ++res.delivered;
      bool go_on =
          p.callback != nullptr
              ? (*p.callback)(zxid, payload)
              : (*p.positioned)(
                    zxid, payload,
                    record_position{seg.path, off - record_header_bytes - len});
      if (!go_on) {
        res.stopped = true;
        return res;
      }
    }
  }
}

bool parse_segment_name(const std::string& name, int64_t& zxid) {
  if (name.size() != 20 || name.compare(0, 4, "log.") != 0)
    return false;
  uint64_t v = 0;
  for (size_t i = 4; i < name.size(); ++i) {
    char c = name[i];
    unsigned d;
    if (c >= '0' && c <= '9')
      d = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = static_cast<unsigned>(c - 'a' + 10);
    else
      return false;
    v = (v << 4) | d;
  }
  if (v > static_cast<uint64_t>(INT64_MAX))
    return false;
  zxid = static_cast<int64_t>(v);
  return true;
}

} // namespace

std::string segment_file_name(int64_t first_zxid) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "log.%016" PRIx64,
                static_cast<uint64_t>(first_zxid));
  return buf;
}

std::vector<segment_info> list_segments(const std::string& dir,
                                        std::optional<log_error>* err) {
  namespace fs = std::filesystem;
  std::vector<segment_info> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    if (ec != std::errc::no_such_file_or_directory && err != nullptr)
      *err =
          sys_error("cannot list transaction log directory " + dir, ec.value());
    return out;
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) {
      if (err != nullptr)
        *err = sys_error("cannot list transaction log directory " + dir,
                         ec.value());
      return out;
    }
    int64_t zxid = 0;
    if (parse_segment_name(it->path().filename().string(), zxid))
      out.push_back(segment_info{it->path().string(), zxid});
  }
  std::sort(out.begin(), out.end(),
            [](const segment_info& a, const segment_info& b) {
              return a.first_zxid < b.first_zxid;
            });
  return out;
}

namespace {

scan_result scan_dir(const std::string& dir, int64_t from_zxid,
                     const scan_callback* callback,
                     const positioned_callback* positioned,
                     int64_t until_zxid) {
  scan_result res;
  std::optional<log_error> err;
  auto segs = list_segments(dir, &err);
  if (err) {
    res.status = scan_status::io_error;
    res.sys_errno = err->sys_errno;
    res.message = err->message;
    res.file = dir;
    return res;
  }
  // Segment i holds zxids in [first_i, first_{i+1}): start at the last one
  // that begins at or before from_zxid.
  size_t start = 0;
  for (size_t i = 0; i < segs.size(); ++i)
    if (segs[i].first_zxid <= from_zxid)
      start = i;
  int64_t prev = 0;
  for (size_t i = start; i < segs.size(); ++i) {
    const auto& seg = segs[i];
    int fd = ::open(seg.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      res.status = scan_status::io_error;
      res.sys_errno = errno;
      res.message = "cannot open " + seg.path + ": " + std::strerror(errno);
      res.file = seg.path;
      return res;
    }
    scan_params p;
    p.is_last = i + 1 == segs.size();
    p.prev_zxid = prev;
    p.from_zxid = from_zxid;
    p.until_zxid = until_zxid;
    p.callback = callback;
    p.positioned = positioned;
    auto s = scan_segment(fd, seg, p);
    ::close(fd);
    res.delivered += s.delivered;
    if (s.records > 0) {
      prev = s.last_zxid;
      res.last_zxid = s.last_zxid;
    }
    if (s.status != scan_status::clean) {
      res.status = s.status;
      res.message = std::move(s.message);
      res.file = seg.path;
      res.offset = s.bad_offset;
      res.sys_errno = s.sys_errno;
      return res;
    }
    if (s.stopped) {
      res.stopped = true;
      return res;
    }
    if (s.records > 0 && s.last_zxid >= until_zxid)
      return res;
  }
  return res;
}

} // namespace

scan_result scan(const std::string& dir, int64_t from_zxid,
                 const scan_callback& callback, int64_t until_zxid) {
  return scan_dir(dir, from_zxid, &callback, nullptr, until_zxid);
}

scan_result scan_positioned(const std::string& dir, int64_t from_zxid,
                            const positioned_callback& callback,
                            int64_t until_zxid) {
  return scan_dir(dir, from_zxid, nullptr, &callback, until_zxid);
}

scan_result scan_file(const std::string& path,
                      const positioned_callback& callback) {
  scan_result res;
  res.file = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    res.status = scan_status::io_error;
    res.sys_errno = errno;
    res.message = "cannot open " + path + ": " + std::strerror(errno);
    return res;
  }
  segment_info seg{path, 0};
  auto slash = path.find_last_of('/');
  auto name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (!parse_segment_name(name, seg.first_zxid)) {
    // Checked against itself; the header's other fields still are checked.
    char head[file_header_bytes];
    if (pread_full(fd, head, sizeof(head), 0) ==
        static_cast<ssize_t>(sizeof(head)))
      seg.first_zxid = static_cast<int64_t>(get_u64(head + 8));
  }
  scan_params p;
  p.is_last = true;
  p.positioned = &callback;
  auto s = scan_segment(fd, seg, p);
  ::close(fd);
  res.status = s.status;
  res.message = std::move(s.message);
  res.offset = s.bad_offset;
  res.sys_errno = s.sys_errno;
  res.last_zxid = s.last_zxid;
  res.delivered = s.delivered;
  res.stopped = s.stopped;
  return res;
}

// ---- log_writer ------------------------------------------------------------

log_writer::~log_writer() {
  close();
}

void log_writer::close_segment() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
  seg_path_.clear();
  file_offset_ = 0;
  seg_records_ = 0;
}

void log_writer::close() {
  finish_spare();
  close_segment();
  if (dir_fd_ >= 0)
    ::close(dir_fd_);
  dir_fd_ = -1;
  buf_.clear();
  open_ = false;
}

namespace {

constexpr const char* spare_name = "log.spare";
constexpr const char* spare_tmp_name = "log.spare.tmp";

// Makes `dir`/log.spare: zero-filled to `bytes`, synced, then renamed into
// place, so a spare that exists is complete. Runs on its own thread.
int make_spare(const std::string& dir, uint64_t bytes, bool fsync) {
  auto tmp = dir + "/" + spare_tmp_name;
  int fd = ::open(tmp.c_str(), O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0)
    return errno;
  int rc = preallocate(fd, prealloc::zero_fill, 0, bytes);
  if (rc == 0 && fsync)
    rc = datasync(fd);
  ::close(fd);
  if (rc == 0 && ::rename(tmp.c_str(), (dir + "/" + spare_name).c_str()) != 0)
    rc = errno;
  if (rc != 0)
    ::unlink(tmp.c_str());
  return rc;
}

} // namespace

prealloc log_writer::inline_preallocation() const {
  return opts_.preallocate == prealloc::zero_fill_ahead ? prealloc::fallocate
                                                        : opts_.preallocate;
}

// A spare only exists complete (make_spare renames it into place when it
// is); one of another segment size is not used.
bool log_writer::spare_exists() const {
  struct stat st;
  return ::stat((dir_ + "/" + spare_name).c_str(), &st) == 0 &&
         static_cast<uint64_t>(st.st_size) == opts_.segment_bytes;
}

// Starts making a spare unless a complete one is there already (one left by
// an earlier run or round of this node).
void log_writer::prepare_spare() {
  if (opts_.preallocate != prealloc::zero_fill_ahead || spare_.valid() ||
      spare_exists())
    return;
  spare_ = std::async(std::launch::async, make_spare, dir_, opts_.segment_bytes,
                      opts_.fsync);
}

// Renames the spare to `path` if one is ready; false (and nothing changed)
// if not, so the caller creates the segment itself rather than wait.
bool log_writer::take_spare(const std::string& path) {
  if (opts_.preallocate != prealloc::zero_fill_ahead)
    return false;
  if (spare_.valid()) {
    if (spare_.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
      return false;
    spare_.get(); // a failed spare is simply not there
  }
  return spare_exists() &&
         ::rename((dir_ + "/" + spare_name).c_str(), path.c_str()) == 0;
}

// Waits for a spare being made (it takes milliseconds), so that no thread
// of ours writes in the directory after close().
void log_writer::finish_spare() {
  if (spare_.valid())
    spare_.get();
}

std::optional<log_error> log_writer::fail(log_error err) {
  failed_ = err;
  return err;
}

std::optional<log_error> log_writer::sync_dir() {
  if (!opts_.fsync)
    return std::nullopt;
  if (int rc = full_sync(dir_fd_))
    return sys_error("fsync of transaction log directory " + dir_, rc);
  return std::nullopt;
}

std::optional<log_error> log_writer::remove_segment(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return sys_error("cannot remove " + path, errno);
  // Each removal is made durable before the next, so a crash never leaves a
  // hole in the middle of the log.
  return sync_dir();
}

std::optional<log_error> log_writer::open(const std::string& dir,
                                          const writer_options& opts) {
  close();
  opts_ = opts;
  dir_ = dir;
  failed_.reset();
  recovery_warning_.clear();
  stats_ = writer_stats{};
  last_zxid_ = durable_zxid_ = 0;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return sys_error("cannot create transaction log directory " + dir,
                     ec.value());
  dir_fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd_ < 0)
    return sys_error("cannot open transaction log directory " + dir, errno);
  std::optional<log_error> err;
  auto segs = list_segments(dir, &err);
  if (err) {
    close();
    return err;
  }
  auto warn = [this](const std::string& text) {
    if (!recovery_warning_.empty())
      recovery_warning_ += "; ";
    recovery_warning_ += text;
  };
  while (!segs.empty()) {
    auto seg = segs.back();
    int fd = ::open(seg.path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      auto e = sys_error("cannot open " + seg.path, errno);
      close();
      return e;
    }
    scan_params p;
    p.is_last = true;
    auto s = scan_segment(fd, seg, p);
    if (s.status == scan_status::corrupt || s.status == scan_status::io_error) {
      ::close(fd);
      close();
      log_error e;
      e.code =
          s.status == scan_status::corrupt ? errc::corrupt : errc::io_error;
      e.sys_errno = s.sys_errno;
      e.message = std::move(s.message);
      return e;
    }
    if (s.status == scan_status::torn_tail)
      warn(s.message);
    if (s.records == 0) {
      // Created just before a crash, before its first batch was durable.
      ::close(fd);
      if (auto e = remove_segment(seg.path)) {
        close();
        return e;
      }
      warn("removed " + seg.path + " (no records)");
      segs.pop_back();
      continue;
    }
    fd_ = fd;
    seg_path_ = seg.path;
    // A clean scan of the newest segment has checked that everything after
    // its last record is zero.
    if (auto e = open_segment_at(seg, s.end_offset, s.last_zxid, s.records,
                                 s.status == scan_status::clean)) {
      close();
      return e;
    }
    break;
  }
  open_ = true;
  // A spare being made when the process died is incomplete.
  ::unlink((dir_ + "/" + spare_tmp_name).c_str());
  prepare_spare();
  return std::nullopt;
}

// Makes fd_ (already open on `seg`) the current segment, ending at
// end_offset. Unless known zero, whatever lies beyond (a torn tail, records
// removed by truncate_after) is replaced by zeros, so that later appends are
// never followed by old data.
std::optional<log_error> log_writer::open_segment_at(const segment_info& seg,
                                                     uint64_t end_offset,
                                                     int64_t last_zxid,
                                                     uint64_t records,
                                                     bool tail_is_zero) {
  if (!tail_is_zero) {
    struct stat st;
    if (::fstat(fd_, &st) != 0)
      return sys_error("cannot stat " + seg.path, errno);
    auto size = static_cast<uint64_t>(st.st_size);
    if (::ftruncate(fd_, static_cast<off_t>(end_offset)) != 0)
      return sys_error("cannot truncate " + at(seg.path, end_offset), errno);
    auto target = std::max<uint64_t>(size, opts_.segment_bytes);
    if (int rc = preallocate(fd_, inline_preallocation(), end_offset, target))
      return sys_error("cannot preallocate " + seg.path, rc);
    if (opts_.fsync) {
      if (int rc = datasync(fd_))
        return sys_error("fdatasync of " + seg.path, rc);
    }
  }
  seg_path_ = seg.path;
  file_offset_ = end_offset;
  seg_records_ = records;
  last_zxid_ = durable_zxid_ = last_zxid;
  return std::nullopt;
}

std::optional<log_error> log_writer::create_segment(int64_t first_zxid) {
  auto path = dir_ + "/" + segment_file_name(first_zxid);
  // A spare is renamed over nothing: no segment of that name can exist, as
  // zxids only grow and truncate_after removes emptied segments.
  bool spare = take_spare(path);
  int fd =
      spare ? ::open(path.c_str(), O_RDWR | O_CLOEXEC)
            : ::open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0)
    return sys_error("cannot create " + path, errno);
  auto undo = [&](log_error e) {
    ::close(fd);
    ::unlink(path.c_str());
    return e;
  };
  if (!spare) {
    if (int rc =
            preallocate(fd, inline_preallocation(), 0, opts_.segment_bytes))
      return undo(sys_error("cannot preallocate " + path, rc));
  }
  char header[file_header_bytes];
  encode_file_header(header, first_zxid);
  if (int rc = pwrite_full(fd, header, sizeof(header), 0))
    return undo(sys_error("cannot write the header of " + path, rc));
  // The header reaches the disk with the first batch's fdatasync; a crash
  // before that leaves an incomplete header, which open() removes. The
  // directory entry must be durable before any record in it is acknowledged.
  if (auto e = sync_dir())
    return undo(*e);
  fd_ = fd;
  seg_path_ = path;
  file_offset_ = file_header_bytes;
  seg_records_ = 0;
  ++stats_.segments_created;
  if (spare)
    ++stats_.spares_used;
  prepare_spare();
  return std::nullopt;
}

std::optional<log_error> log_writer::write_buffer() {
  if (buf_.empty())
    return std::nullopt;
  if (int rc = pwrite_full(fd_, buf_.data(), buf_.size(), file_offset_))
    return sys_error("cannot write " + at(seg_path_, file_offset_), rc);
  file_offset_ += buf_.size();
  ++stats_.writes;
  stats_.bytes_written += buf_.size();
  if (buf_.capacity() > keep_buffer_bytes)
    std::string().swap(buf_);
  else
    buf_.clear();
  return std::nullopt;
}

std::optional<log_error> log_writer::append(int64_t zxid,
                                            std::string_view payload) {
  if (failed_)
    return failed_;
  if (!open_)
    return log_error{errc::not_open, 0, "transaction log is not open"};
  if (zxid <= last_zxid_)
    return log_error{errc::bad_argument, 0,
                     "zxid " + hex_zxid(zxid) +
                         " is not greater than the last logged zxid " +
                         hex_zxid(last_zxid_)};
  if (payload.size() > max_payload_bytes)
    return log_error{errc::bad_argument, 0,
                     "record of " + std::to_string(payload.size()) +
                         " bytes is over the limit"};
  uint64_t rec_bytes = record_header_bytes + payload.size();
  if (fd_ < 0) {
    if (auto e = create_segment(zxid))
      return fail(*e);
  } else if (seg_records_ > 0 &&
             file_offset_ + buf_.size() + rec_bytes > opts_.segment_bytes) {
    // Finish the old segment completely before the next one exists: then
    // only the newest segment can ever hold a torn tail.
    if (auto e = write_buffer())
      return fail(*e);
    if (opts_.fsync) {
      if (int rc = datasync(fd_))
        return fail(sys_error("fdatasync of " + seg_path_, rc));
      ++stats_.fsyncs;
    }
    durable_zxid_ = last_zxid_;
    close_segment();
    if (auto e = create_segment(zxid))
      return fail(*e);
  }
  auto pos = buf_.size();
  buf_.resize(pos + record_header_bytes);
  char* h = buf_.data() + pos;
  put_u32(h, static_cast<uint32_t>(payload.size()));
  put_u64(h + 8, static_cast<uint64_t>(zxid));
  put_u32(h + 4, record_crc(h + 8, payload));
  buf_.append(payload.data(), payload.size());
  ++seg_records_;
  ++stats_.appends;
  last_zxid_ = zxid;
  return std::nullopt;
}

std::optional<log_error> log_writer::sync() {
  if (failed_)
    return failed_;
  if (!open_)
    return log_error{errc::not_open, 0, "transaction log is not open"};
  if (buf_.empty())
    return std::nullopt;
  if (auto e = write_buffer())
    return fail(*e);
  if (opts_.fsync) {
    if (int rc = datasync(fd_))
      return fail(sys_error("fdatasync of " + seg_path_, rc));
    ++stats_.fsyncs;
  }
  durable_zxid_ = last_zxid_;
  return std::nullopt;
}

std::optional<log_error> log_writer::roll() {
  if (auto e = sync())
    return e;
  if (fd_ < 0 || seg_records_ == 0)
    return std::nullopt;
  // The preallocated zeros after the last record are not needed by a segment
  // that is complete; a crash before the cut leaves them, which is fine.
  if (::ftruncate(fd_, static_cast<off_t>(file_offset_)) != 0)
    return fail(
        sys_error("cannot truncate " + at(seg_path_, file_offset_), errno));
  if (opts_.fsync) {
    if (int rc = datasync(fd_))
      return fail(sys_error("fdatasync of " + seg_path_, rc));
    ++stats_.fsyncs;
  }
  close_segment();
  return std::nullopt;
}

std::optional<log_error> log_writer::truncate_after(int64_t zxid) {
  if (auto e = sync())
    return e;
  if (zxid >= last_zxid_)
    return std::nullopt;
  close_segment();
  std::optional<log_error> err;
  auto segs = list_segments(dir_, &err);
  if (err)
    return fail(*err);
  last_zxid_ = durable_zxid_ = 0;
  // Newest first, so an interrupted truncation still leaves a prefix.
  while (!segs.empty() && segs.back().first_zxid > zxid) {
    if (auto e = remove_segment(segs.back().path))
      return fail(*e);
    segs.pop_back();
  }
  while (!segs.empty()) {
    auto seg = segs.back();
    int fd = ::open(seg.path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0)
      return fail(sys_error("cannot open " + seg.path, errno));
    scan_params p;
    p.is_last = true;
    p.until_zxid = zxid;
    auto s = scan_segment(fd, seg, p);
    if (s.status == scan_status::corrupt || s.status == scan_status::io_error) {
      ::close(fd);
      return fail(log_error{s.status == scan_status::corrupt ? errc::corrupt
                                                             : errc::io_error,
                            s.sys_errno, std::move(s.message)});
    }
    if (s.records == 0) {
      ::close(fd);
      if (auto e = remove_segment(seg.path))
        return fail(*e);
      segs.pop_back();
      continue;
    }
    fd_ = fd;
    if (auto e =
            open_segment_at(seg, s.end_offset, s.last_zxid, s.records, false))
      return fail(*e);
    break;
  }
  return std::nullopt;
}

} // namespace zkd::txn_log
