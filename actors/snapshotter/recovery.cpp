#include "actors/snapshotter/recovery.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include <unistd.h>

#include "actors/datatree/path.hpp"
#include "actors/snapshotter/snapshot.hpp"
#include "actors/txn_log/txn_log.hpp"
#include "messages/txn/txn.hpp"

namespace zkd::snapshotter {

namespace {

std::string hex(int64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%" PRIx64, static_cast<uint64_t>(v));
  return buf;
}

// Only for the timings in the start-up log line.
int64_t elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now() - since)
      .count();
}

} // namespace

bool zxid_follows(int64_t prev, int64_t next) noexcept {
  auto prev_epoch = static_cast<uint64_t>(prev) >> 32;
  auto next_epoch = static_cast<uint64_t>(next) >> 32;
  if (next_epoch == prev_epoch)
    return next == prev + 1;
  return next_epoch > prev_epoch &&
         (static_cast<uint64_t>(next) & 0xffffffffu) == 1;
}

recovery_result load_snapshot(const std::string& path) {
  recovery_result res;
  auto t0 = std::chrono::steady_clock::now();
  auto t = std::make_unique<datatree::tree>();
  // Per ACL list id of the file: the tree's hint for it (see restore_node).
  std::vector<int64_t> hints;
  snapshot_visitor v;
  v.on_node = [&](uint64_t, const datatree::captured_node& n) -> std::string {
    auto id = static_cast<size_t>(n.acl_key);
    if (hints.size() <= id)
      hints.resize(id + 1, 0);
    auto h =
        t->restore_node(n.path, n.data, n.null_data, n.stat, *n.acl, hints[id]);
    if (h < 0)
      return "znode " + std::string(n.path) +
             (datatree::valid_path(n.path)
                  ? " comes before its parent (or its parent is missing)"
                  : " has an invalid path");
    hints[id] = h;
    return {};
  };
  v.on_session = [&](uint64_t, int64_t id, int32_t timeout) -> std::string {
    if (t->has_session(id))
      return "session " + hex(id) + " appears twice";
    t->restore_session(id, timeout);
    return {};
  };
  auto r = read_snapshot(path, v);
  if (!r.ok()) {
    res.exit_code = r.status == read_status::io_error ? exit_io : exit_corrupt;
    res.error = r.message;
    return res;
  }
  t->finish_restore(r.header.zxid);
  // The image must be the tree that was captured: same znodes (the system
  // ones exist in a fresh tree, so a duplicate path would show up as a
  // smaller count) and the same digest.
  if (t->node_count() != r.trailer.nodes) {
    res.exit_code = exit_corrupt;
    res.error = "snapshot " + path + " holds " +
                std::to_string(r.trailer.nodes) + " znode records but " +
                std::to_string(t->node_count()) +
                " distinct znodes (a path appears twice)";
    return res;
  }
  if (t->digest() != r.header.digest) {
    res.exit_code = exit_corrupt;
    res.error = "snapshot " + path + " at byte 16: the loaded tree's digest " +
                hex(t->digest()) + " differs from the recorded " +
                hex(r.header.digest);
    return res;
  }
#ifndef NDEBUG
  t->check_invariants();
#endif
  res.t = std::move(t);
  res.snapshot = path;
  res.snapshot_zxid = r.header.zxid;
  res.last_zxid = r.header.zxid;
  res.snapshot_nodes = r.trailer.nodes;
  res.load_ms = elapsed_ms(t0);
  return res;
}

recovery_result recover(const std::string& data_dir,
                        const std::string& log_dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> warnings;
  std::vector<std::pair<int64_t, std::string>> snapshots;
  std::error_code ec;
  fs::directory_iterator it(data_dir, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    recovery_result res;
    res.exit_code = exit_io;
    res.error = "cannot list " + data_dir + ": " + ec.message();
    return res;
  }
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    auto name = it->path().filename().string();
    if (is_temp_snapshot_name(name)) {
      auto path = it->path().string();
      if (::unlink(path.c_str()) == 0)
        warnings.push_back("removed " + path +
                           ", a snapshot the node was still writing when it "
                           "stopped");
      else
        warnings.push_back("cannot remove the unfinished snapshot " + path +
                           ": " + std::strerror(errno));
    } else if (auto z = parse_snapshot_name(name)) {
      snapshots.emplace_back(*z, it->path().string());
    }
  }
  std::sort(snapshots.begin(), snapshots.end());

  recovery_result res;
  if (!snapshots.empty()) {
    res = load_snapshot(snapshots.back().second);
    if (res.exit_code != 0) {
      if (snapshots.size() > 1)
        res.error += "; to start from the older " +
                     snapshots[snapshots.size() - 2].second +
                     " and the log instead, move this file out of " + data_dir;
      res.warnings.insert(res.warnings.begin(), warnings.begin(),
                          warnings.end());
      return res;
    }
  } else {
    res.t = std::make_unique<datatree::tree>();
  }
  res.warnings.insert(res.warnings.begin(), warnings.begin(), warnings.end());

  auto t0 = std::chrono::steady_clock::now();
  int64_t prev = res.snapshot_zxid;
  std::string error;
  auto scan = txn_log::scan_positioned(
      log_dir, prev + 1,
      [&](int64_t zxid, std::string_view payload,
          const txn_log::record_position& at) {
        auto where = at.file + " at byte " + std::to_string(at.offset);
        if (!zxid_follows(prev, zxid)) {
          error = "gap in the zxids: the record in " + where + " has zxid " +
                  hex(zxid) + " but the " +
                  (prev == res.snapshot_zxid && res.replayed == 0
                       ? (res.snapshot.empty()
                              ? std::string("log must start at counter 1 of "
                                            "an epoch")
                              : "snapshot " + res.snapshot + " ends at " +
                                    hex(prev))
                       : "previous record has " + hex(prev)) +
                  " (records are missing)";
          return false;
        }
        txn::record r;
        if (!txn::decode(payload, r) || !txn::well_formed(r)) {
          error = "log record " + hex(zxid) + " in " + where +
                  " does not decode as a txn";
          return false;
        }
        if (r.hdr.zxid != zxid) {
          error = "log record " + hex(zxid) + " in " + where +
                  " holds a txn with zxid " + hex(r.hdr.zxid);
          return false;
        }
        res.t->apply(r);
        // An epoch ends where the next record starts a later one.
        if (prev != 0 && (prev >> 32) != (zxid >> 32))
          res.epoch_ends.push_back(prev);
        prev = zxid;
        ++res.replayed;
        res.replayed_bytes += payload.size();
        res.window.emplace_back(zxid, std::string(payload));
        return true;
      });
  res.replay_ms = elapsed_ms(t0);
  if (!error.empty()) {
    res.exit_code = exit_corrupt;
    res.error = std::move(error);
    res.t.reset();
    return res;
  }
  if (!scan.ok()) {
    res.exit_code =
        scan.status == txn_log::scan_status::io_error ? exit_io : exit_corrupt;
    res.error = scan.message;
    res.t.reset();
    return res;
  }
  if (scan.status == txn_log::scan_status::torn_tail)
    res.warnings.push_back(scan.message);
  if (prev != 0)
    res.epoch_ends.push_back(prev);
  res.last_zxid = prev;
  return res;
}

} // namespace zkd::snapshotter
