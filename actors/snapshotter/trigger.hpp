// When to take a snapshot: ZooKeeper's SyncRequestProcessor rule. After
// snapshot_count/2 + r txns, r drawn from [0, snapshot_count/2), or after
// snapshot_bytes/2 + s bytes of log, s from [0, snapshot_bytes/2), whichever
// comes first; fresh draws after every snapshot. The random half keeps the
// members of an ensemble, which log the same txns, from all snapshotting at
// the same moment. The randomness comes from a seed the caller gives.
//
// zkd adds one rule (snapshot_tree_percent, 0 turns it off): the record
// limit is also at least tp/2 + random(tp/2), tp = percent/100 of the
// znodes in the tree when the round started. A snapshot writes the whole
// tree, so with a fixed count the snapshot bytes per txn grow with the tree
// (a million 128-byte znodes under 150k creates/s is 240 MB every half
// second, all of it competing with the log's fsyncs). Scaling the interval
// with the tree keeps that at about one znode record per txn while log
// replay at recovery stays no longer than the snapshot load.
#pragma once

#include <cstdint>
#include <random>

namespace zkd::snapshotter {

class snapshot_trigger {
public:
  // count >= 2 (ZooKeeper raises a smaller snapCount to 2); bytes 0 turns
  // the size rule off; `nodes`: the tree's znodes now.
  snapshot_trigger(int64_t count, int64_t bytes, uint64_t seed,
                   int64_t tree_percent = 0, uint64_t nodes = 0);

  // `records` more records of `bytes` bytes in total were logged; true when
  // a snapshot is due (and stays true until restart()).
  bool logged(uint64_t records, uint64_t bytes);

  // A snapshot started (or was skipped because one is running) of a tree
  // of `nodes` znodes: counting starts over with new random halves.
  void restart(uint64_t nodes = 0);

  uint64_t records_since() const noexcept { return records_; }
  uint64_t bytes_since() const noexcept { return bytes_; }
  // Thresholds of the current round (for tests and logs).
  uint64_t record_threshold() const noexcept { return record_limit_; }
  uint64_t byte_threshold() const noexcept { return byte_limit_; }

private:
  uint64_t count_;
  uint64_t bytes_limit_cfg_;
  uint64_t tree_percent_;
  std::mt19937_64 rng_;
  uint64_t record_limit_ = 0;
  uint64_t byte_limit_ = 0; // 0: off
  uint64_t records_ = 0;
  uint64_t bytes_ = 0;
};

} // namespace zkd::snapshotter
