// Which old snapshots and log segments can go (ZooKeeper's PurgeTxnLog with
// autopurge.snapRetainCount): keep the newest `retain` snapshots and every
// log segment that may hold a txn after the oldest of them, so that any kept
// snapshot plus the log still rebuilds the tree. The plan is a pure function
// of file names; purge() lists the directories and deletes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace zkd::snapshotter {

// ZooKeeper's minimum (and default) for autopurge.snapRetainCount.
constexpr size_t min_snapshot_retain = 3;

struct purge_plan {
  std::vector<std::string> snapshots; // names to delete, oldest first
  std::vector<std::string> logs;      // names to delete, oldest first
  int64_t oldest_kept_zxid = -1;      // -1: no snapshot, nothing to delete
};

// `snapshots`: file names in the data directory; `logs`: in the log
// directory. Names that are not snapshot.<16 hex> / log.<16 hex> are never
// touched. A retain below min_snapshot_retain counts as the minimum. Segment
// i holds zxids [first_i, first_{i+1}), so it goes when first_{i+1} <= oldest
// kept snapshot + 1; the newest segment always stays.
purge_plan plan_purge(const std::vector<std::string>& snapshots,
                      const std::vector<std::string>& logs, size_t retain);

struct purge_result {
  purge_plan plan;
  std::vector<std::string> errors; // deletions that failed, with the reason
};

// Lists both directories, plans, and deletes (snapshots first, then logs).
purge_result purge(const std::string& data_dir, const std::string& log_dir,
                   size_t retain);

} // namespace zkd::snapshotter
