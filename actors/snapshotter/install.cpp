#include "actors/snapshotter/install.hpp"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string_view>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "actors/snapshotter/recovery.hpp"
#include "actors/snapshotter/snapshot.hpp"
#include "actors/txn_log/log_edit.hpp"
#include "actors/txn_log/txn_log.hpp"

namespace zkd::snapshotter {

using txn_log::fsync_dir;
using txn_log::fsync_fd;

namespace {

std::string hex(int64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%" PRIx64, static_cast<uint64_t>(v));
  return buf;
}

std::string errno_text(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

// Creates `path` with `bytes`, synced. Returns an error text or "".
std::string write_synced(const std::string& path, const std::string& bytes) {
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0)
    return errno_text("cannot create " + path, errno);
  size_t off = 0;
  while (off < bytes.size()) {
    auto n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      auto err = errno_text(
          "cannot write " + path + " at byte " + std::to_string(off), errno);
      ::close(fd);
      return err;
    }
    off += static_cast<size_t>(n);
  }
  int rc = fsync_fd(fd);
  if (::close(fd) != 0 && rc == 0)
    rc = errno;
  if (rc != 0)
    return errno_text("fsync of " + path, rc);
  return {};
}

// The bytes make a snapshot that recovery would load, of the tree at zxid.
std::string check_snapshot(const std::string& path, int64_t zxid) {
  // The loaded tree is dropped on return: the next round loads it again.
  auto loaded = load_snapshot(path);
  if (loaded.exit_code != 0)
    return "refused the snapshot for " + hex(zxid) + ": " + loaded.error;
  if (loaded.snapshot_zxid != zxid)
    return "refused the snapshot for " + hex(zxid) + ": " + path +
           " is a snapshot of zxid " + hex(loaded.snapshot_zxid);
  return {};
}

} // namespace

std::string remove_snapshots_after(const std::string& data_dir, int64_t zxid) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> newer;
  fs::directory_iterator it(data_dir, ec);
  if (ec == std::errc::no_such_file_or_directory)
    return {};
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    auto file = it->path().filename().string();
    std::string_view name = file;
    if (is_temp_snapshot_name(name))
      name.remove_suffix(4); // ".tmp"
    if (auto z = parse_snapshot_name(name); z && *z > zxid)
      newer.push_back(it->path().string());
  }
  if (ec)
    return "cannot list " + data_dir + ": " + ec.message();
  if (newer.empty())
    return {};
  for (auto& path : newer)
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      return errno_text("cannot remove " + path, errno);
  return fsync_dir(data_dir);
}

std::string install_snapshot(const std::string& data_dir,
                             const std::string& log_dir, int64_t zxid,
                             const std::string& bytes) {
  if (zxid < 0)
    return "refused the snapshot: negative zxid " + std::to_string(zxid);
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec)
    return "cannot create data directory " + data_dir + ": " + ec.message();
  // Checked where it is written: load_snapshot reads files, and the
  // temporary name is one recovery deletes if we crash before the rename.
  auto final_path = data_dir + "/" + snapshot_file_name(zxid);
  auto temp_path = final_path + ".tmp";
  auto err = write_synced(temp_path, bytes);
  if (err.empty())
    err = check_snapshot(temp_path, zxid);
  if (!err.empty()) {
    ::unlink(temp_path.c_str());
    return err;
  }
  // Best effort: if the log cannot be read to cut it (damage among the
  // records at or below zxid), step 4 deletes it whole anyway, only with a
  // longer window in which a crash leaves records above zxid behind.
  (void)txn_log::truncate_after(log_dir, zxid);
  if (::rename(temp_path.c_str(), final_path.c_str()) != 0) {
    err = errno_text("cannot rename " + temp_path + " to " + final_path, errno);
    ::unlink(temp_path.c_str());
    return err;
  }
  if (err = fsync_dir(data_dir); !err.empty())
    return err;
  // Newer snapshots belong to the history being replaced, and recovery
  // would prefer them.
  if (err = remove_snapshots_after(data_dir, zxid); !err.empty())
    return err;
  std::optional<txn_log::log_error> log_err;
  auto segs = txn_log::list_segments(log_dir, &log_err);
  if (log_err)
    return log_err->message;
  // Only records at or below zxid are left (unless the cut failed), which
  // recovery skips. Newest first, each removal durable before the next: a
  // crash leaves a prefix of the old log, never a hole in it.
  for (auto it = segs.rbegin(); it != segs.rend(); ++it) {
    if (::unlink(it->path.c_str()) != 0 && errno != ENOENT)
      return errno_text("cannot remove " + it->path, errno);
    if (err = fsync_dir(log_dir); !err.empty())
      return err;
  }
  return {};
}

} // namespace zkd::snapshotter
