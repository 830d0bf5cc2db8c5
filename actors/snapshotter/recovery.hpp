// Start-up recovery: the newest snapshot, then every later log record in
// zxid order, into a fresh tree.
//
// What is safe to start from, and what is not:
// - a torn last log record (a crash during an append, never acknowledged)
//   is reported as a warning; the log writer cuts it off when it opens;
// - a snapshot.<zxid>.tmp is an unfinished snapshot (a crash while writing
//   it): deleted with a warning;
// - anything else that does not check out stops the node (exit code 3) with
//   a message naming the file and byte offset: a snapshot that fails a
//   checksum or does not parse, a snapshot whose tree digest differs from
//   the one it recorded, a log record that fails its checksum or does not
//   decode, and a gap in the zxids (the log after the snapshot must go on at
//   snapshot zxid + 1, and each record must follow the previous one: next
//   counter in the same epoch, or counter 1 of a later epoch).
// An invalid newest snapshot is not skipped for an older one even though
// the older one plus the log would rebuild the same tree: a snapshot that
// was renamed into place was complete and synced, so a bad one is damage
// (disk or bug) that an operator should see before the node serves. The
// message says which older snapshot to fall back on by moving the bad file
// away.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "actors/datatree/tree.hpp"

namespace zkd::snapshotter {

// Exit codes of zkd when recovery fails.
constexpr int exit_corrupt = 3; // data that does not check out
constexpr int exit_io = 1;      // could not read the files

struct recovery_result {
  int exit_code = 0;                 // 0: `t` is the recovered tree
  std::string error;                 // names the file and offset
  std::vector<std::string> warnings; // log these, then go on
  std::unique_ptr<datatree::tree> t;
  std::string snapshot;      // the file loaded, "" if none
  int64_t snapshot_zxid = 0; // 0 without a snapshot
  uint64_t snapshot_nodes = 0;
  uint64_t replayed = 0;       // log records applied
  uint64_t replayed_bytes = 0; // their payload bytes
  int64_t load_ms = 0;
  int64_t replay_ms = 0;
  // The zxid of the recovered tree: the last replayed txn, or the snapshot's
  // (0 for an empty history).
  int64_t last_zxid = 0;
  // Every txn replayed after the snapshot, in zxid order, as (zxid, payload
  // bytes exactly as stored in the log): the leader's sync window (a DIFF
  // resends these). Holds the whole log tail in memory once.
  std::vector<std::pair<int64_t, std::string>> window;
  // The last zxid of each epoch in the history (the snapshot's zxid, then
  // every replayed txn), ascending: what a leader compares a learner's last
  // zxid against to decide between DIFF and TRUNC. Empty for zxid 0.
  std::vector<int64_t> epoch_ends;
};

// True if a log record with zxid `next` may follow one with `prev` (or the
// snapshot at `prev`; 0 for none): the next counter of the same epoch, or
// the first of a later epoch (every epoch's proposals start at counter 1).
bool zxid_follows(int64_t prev, int64_t next) noexcept;

// Snapshots in `data_dir`, replay from `log_dir`.
recovery_result recover(const std::string& data_dir,
                        const std::string& log_dir);

// Loads one snapshot file into a fresh tree (checksums, restore, digest).
// On failure exit_code is set and `t` is null.
recovery_result load_snapshot(const std::string& path);

} // namespace zkd::snapshotter
