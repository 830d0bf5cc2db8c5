// How a new leader brings one learner in line with its history (Zab phase 2,
// ZooKeeper's LearnerHandler.syncFollower): DIFF (send the txns the learner
// lacks), TRUNC then DIFF (the learner first drops txns that were never
// committed), or SNAP (send the whole tree). A pure function of what both
// sides hold; the learner_handler turns the plan into messages.
//
// Where the histories part. ZooKeeper finds it by looking the learner's
// last zxid up in the leader's log and gives up (SNAP) when the learner's
// tail is of another epoch than the leader's next txn. We ask the learner
// for the last zxid it holds of each epoch (its epoch history) instead:
// within one epoch every log holds a prefix of that epoch leader's
// sequence, and two logs that both hold txns of epoch e hold the same txns
// before e. So the newest epoch both histories hold, cut at the shorter of
// the two, is a point up to which they agree, and everything the learner
// holds above it was never committed. This turns ZooKeeper's cross-epoch
// SNAP into TRUNC + DIFF, and fixes its TRUNC to a zxid the learner never
// had (learner ahead of the leader in a later epoch).
//
// Every txn at or below the learner's newest snapshot was committed (a
// learner only snapshots what it applied), hence is in the leader's
// history: the common point is never below it.
#pragma once

#include <cstdint>
#include <vector>

namespace zkd::leader {

// The leader's side.
struct sync_source {
  int64_t last_zxid = 0; // newest txn of its history (all committed now)
  // The leader can replay every txn with a zxid above this from its log
  // (memory window or files): the zxid of the snapshot its retained log
  // starts after, or 0 when the log holds the whole history. A leader whose
  // log holds nothing has log_from == last_zxid.
  int64_t log_from = 0;
  // The last zxid of each epoch of its history, ascending; at least every
  // epoch with a txn above log_from.
  std::vector<int64_t> epoch_ends;
};

// The learner's side, as its ACKEPOCH reports it.
struct sync_target {
  int64_t last_zxid = 0;     // newest txn it holds
  int64_t snapshot_zxid = 0; // its newest snapshot (0: none)
  // The last zxid it holds of each epoch, ascending (may omit epochs its
  // log no longer holds).
  std::vector<int64_t> epoch_ends;
};

struct sync_limits {
  // A DIFF of more txns than this becomes a SNAP (ZooKeeper bounds the log
  // it reads for a sync by a share of the snapshot size). 0: no limit.
  uint64_t max_diff_txns = 0;
};

enum class sync_mode {
  diff,  // DIFF: send the txns in (diff_after, diff_to]
  trunc, // TRUNC to trunc_to, then DIFF as above
  snap,  // SNAP: send the tree as of diff_to
};

const char* to_string(sync_mode m);

struct sync_plan {
  sync_mode mode = sync_mode::snap;
  int64_t trunc_to = 0;   // trunc: the learner drops every txn above this
  int64_t diff_after = 0; // diff, trunc: first txn sent is the next one
  int64_t diff_to = 0;    // the leader's last zxid: where the learner ends
  const char* why = "";   // one phrase for the log line
};

sync_plan plan_sync(const sync_source& leader, const sync_target& learner,
                    const sync_limits& limits = {});

// How many txns of the history `epoch_ends` describes have a zxid in
// (after, upto]. Relies on each epoch's txns being numbered 1, 2, ... up to
// its end (a leader proposes them in order, a log holds a prefix).
uint64_t txns_between(const std::vector<int64_t>& epoch_ends, int64_t after,
                      int64_t upto);

} // namespace zkd::leader
