#include "actors/txn_log/log_edit.hpp"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actors/txn_log/txn_log.hpp"

namespace zkd::txn_log {

namespace {

std::string hex_zxid(int64_t zxid) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%" PRIx64, static_cast<uint64_t>(zxid));
  return buf;
}

std::string errno_text(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

// Where the records to keep end in a segment, read before anything changes.
struct cut_point {
  uint64_t end = 0;     // just past the last record <= zxid
  bool records = false; // the segment holds a record <= zxid
  bool needed = false;  // something lies after `end` that must go
};

std::optional<cut_point> find_cut(const segment_info& seg, int64_t zxid,
                                  std::string& error) {
  cut_point cut;
  bool later = false;
  // Read as the newest segment, which it is about to become: a torn tail
  // after the kept records is then acceptable (and cut off with the rest).
  auto s = scan_file(seg.path, [&](int64_t z, std::string_view payload,
                                   const record_position& at) {
    if (z > zxid) {
      later = true;
      return false;
    }
    cut.records = true;
    cut.end = at.offset + record_header_bytes + payload.size();
    return true;
  });
  if (!s.ok()) {
    error = "cannot truncate the transaction log after " + hex_zxid(zxid) +
            ": " + s.message;
    return std::nullopt;
  }
  cut.needed = cut.records && (later || s.status == scan_status::torn_tail);
  return cut;
}

std::string cut_file(const std::string& path, uint64_t end) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return errno_text("cannot open " + path, errno);
  // The preallocated zeros go too: the file ends with its last record, which
  // both the reader and the writer accept (the writer appends from there).
  if (::ftruncate(fd, static_cast<off_t>(end)) != 0) {
    auto err = errno_text(
        "cannot truncate " + path + " at byte " + std::to_string(end), errno);
    ::close(fd);
    return err;
  }
  int rc = fsync_fd(fd);
  ::close(fd);
  if (rc != 0)
    return errno_text("fsync of " + path, rc);
  return {};
}

} // namespace

int fsync_fd(int fd) {
  while (::fsync(fd) != 0) {
    if (errno != EINTR)
      return errno;
  }
  return 0;
}

std::string fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno_text("cannot open directory " + dir, errno);
  int rc = fsync_fd(fd);
  ::close(fd);
  if (rc != 0)
    return errno_text("fsync of directory " + dir, rc);
  return {};
}

std::string truncate_after(const std::string& log_dir, int64_t zxid) {
  std::optional<log_error> err;
  auto segs = list_segments(log_dir, &err);
  if (err)
    return err->message;
  // Segment i holds zxids [first_i, first_{i+1}): the one to cut is the last
  // that starts at or before zxid; every later one goes whole.
  size_t keep = 0;
  while (keep < segs.size() && segs[keep].first_zxid <= zxid)
    ++keep;
  std::optional<cut_point> cut;
  if (keep > 0) {
    std::string error;
    cut = find_cut(segs[keep - 1], zxid, error);
    if (!cut)
      return error;
  }
  for (size_t i = segs.size(); i > keep; --i) {
    const auto& path = segs[i - 1].path;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      return errno_text("cannot remove " + path, errno);
    // Durable before the next removal: a crash leaves a prefix of the log,
    // never a hole.
    if (auto e = fsync_dir(log_dir); !e.empty())
      return e;
  }
  if (cut && cut->needed) {
    if (auto e = cut_file(segs[keep - 1].path, cut->end); !e.empty())
      return e;
    if (auto e = fsync_dir(log_dir); !e.empty())
      return e;
  }
  return {};
}

} // namespace zkd::txn_log
