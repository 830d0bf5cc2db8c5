// A snapshot received from the leader (Zab SNAP) replaces the node's
// history: the learner's snapshot and log are whatever the leader's tree was
// at `zxid`, and its own log after that is no longer its history. Runs while
// no txn_log writer has the log open (between rounds); the next round's
// recover() then loads exactly the installed tree.
#pragma once

#include <cstdint>
#include <string>

namespace zkd::snapshotter {

// Checks that `bytes` are a complete snapshot file whose recorded zxid is
// `zxid` (loaded as recovery loads one: checksums, restore, node count and
// digest), then:
//   1. drops every log record above `zxid` (txn_log::truncate_after);
//   2. puts the file in place as data_dir/snapshot.<zxid> atomically (the
//      .tmp name the snapshotter uses, fsync, rename, fsync of the dir);
//   3. deletes every snapshot in data_dir with a zxid above `zxid`;
//   4. deletes every log segment in log_dir (newest first).
// Why this order: `zxid` is the leader's last zxid, so every committed txn
// is at or below it; the records above it can go at once, while those at or
// below it stay until the snapshot that holds them is durable. A crash at
// any point leaves files recovery loads: a prefix of the old history, the
// old newest snapshot (if it was above `zxid`), or the installed one.
// Refused bytes leave both directories as they were (a leftover .tmp from a
// crash is removed by recovery). Returns "" or an error text naming the
// file. Needs memory for one loaded copy of the tree while it checks.
std::string install_snapshot(const std::string& data_dir,
                             const std::string& log_dir, int64_t zxid,
                             const std::string& bytes);

// Deletes every snapshot.<z> (and unfinished snapshot.<z>.tmp) in data_dir
// with z > zxid, then fsyncs the directory. For TRUNC below a snapshot: a
// snapshot above the truncation point holds txns that are being dropped, and
// recovery would load it. Returns "" or an error naming the file.
std::string remove_snapshots_after(const std::string& data_dir, int64_t zxid);

} // namespace zkd::snapshotter
