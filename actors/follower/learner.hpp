// A learner's side of Zab (follower or observer) as a pure core: discovery
// (FOLLOWERINFO, the new epoch, ACKEPOCH with what it holds), the sync the
// leader chose (DIFF: log and apply; TRUNC or SNAP: rewrite the files and
// rejoin), NEWLEADER / UPTODATE, then broadcast (log + ACK proposals, apply
// commits; an observer logs and applies INFORMs) and liveness.
//
// Inputs are method calls with the time passed in; outputs are effects in
// order. The shell owns the connection, the log and the datatree.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "messages/quorum/quorum.hpp"

namespace zkd::follower {

using quorum::server_id;

struct learner_settings {
  server_id self = 0;
  bool observer = false;
  int64_t tick_ms = 2000;
  int64_t init_limit_ticks = 10; // connect + sync must end within
  int64_t sync_limit_ticks = 5;  // silence from the leader allowed after
};

// What the learner holds when its round starts (from recovery).
struct learner_history {
  uint32_t accepted_epoch = 0;
  uint32_t current_epoch = 0;
  int64_t last_zxid = 0;
  int64_t snapshot_zxid = 0;
  std::vector<int64_t> epoch_ends;
};

// --- effects -----------------------------------------------------------------

using leader_message =
    std::variant<quorum::follower_info, quorum::observer_info,
                 quorum::ack_epoch, quorum::ack, quorum::ping,
                 quorum::snap_chunk_ack>;

struct to_leader {
  leader_message msg;
};
struct persist_accepted_epoch {
  uint32_t epoch = 0;
};
struct persist_current_epoch {
  uint32_t epoch = 0;
};
// The leader's session password key: store it, hand it to the tracker.
struct adopt_session_key {
  uint64_t k0 = 0;
  uint64_t k1 = 0;
};
// Append to the local log (the shell reports durable()).
struct log_txn {
  int64_t zxid = 0;
  std::string txn;
};
// To the datatree: hold this txn until its commit.
struct apply_proposal {
  int64_t zxid = 0;
  std::string txn;
};
struct apply_commit {
  int64_t zxid = 0;
};
// The answer to a forwarded request of a local session.
struct deliver_reply {
  quorum::reply r;
};
// Drop every log record above zxid, then rejoin.
struct truncate_log {
  int64_t zxid = 0;
};
// Install this snapshot (and drop the log), then rejoin.
struct install_snapshot {
  int64_t zxid = 0;
  std::string bytes;
};
// UPTODATE: serve clients.
struct serving {
  uint32_t epoch = 0;
};
// The role is over (rejoin: follow the same leader again at once).
struct role_over {
  std::string reason;
  bool rejoin = false;
};

using learner_effect =
    std::variant<to_leader, persist_accepted_epoch, persist_current_epoch,
                 adopt_session_key, log_txn, apply_proposal, apply_commit,
                 deliver_reply, truncate_log, install_snapshot, serving,
                 role_over>;

class learner {
public:
  learner(learner_settings s, learner_history h);

  void start(int64_t now_ms);
  // The connection to the leader is up: introduce ourselves.
  void connected(int64_t now_ms);

  void on(int64_t now_ms, const quorum::leader_info& m);
  void on(int64_t now_ms, const quorum::diff& m);
  void on(int64_t now_ms, const quorum::trunc& m);
  void on(int64_t now_ms, const quorum::snap& m);
  void on(int64_t now_ms, const quorum::snap_chunk& m);
  void on(int64_t now_ms, const quorum::proposal& m);
  void on(int64_t now_ms, const quorum::commit& m);
  void on(int64_t now_ms, const quorum::inform& m);
  void on(int64_t now_ms, const quorum::new_leader& m);
  void on(int64_t now_ms, const quorum::up_to_date& m);
  void on(int64_t now_ms, const quorum::ping& m);
  void on(int64_t now_ms, const quorum::reply& m);

  // The local log holds everything up to zxid.
  void durable(int64_t zxid);
  // Sessions our clients touched, for the next answer to a ping.
  void touched(std::vector<quorum::session_touch> t);
  // The leader's connection is gone.
  void leader_lost(const std::string& why);
  void tick(int64_t now_ms);

  [[nodiscard]] std::vector<learner_effect> take_effects();

  bool is_serving() const { return ph_ == phase::broadcast; }
  bool is_over() const { return ph_ == phase::over; }
  uint32_t epoch() const { return new_epoch_; }
  int64_t last_logged() const { return last_logged_; }

private:
  enum class phase {
    connecting,  // waiting for the connection
    info,        // FOLLOWERINFO sent, waiting for LEADERINFO
    synced_wait, // ACKEPOCH sent, waiting for the leader's sync
    diff,        // receiving the DIFF
    snap,        // receiving a snapshot
    newleader,   // NEWLEADER in, waiting for UPTODATE
    broadcast,   // serving
    over,
  };

  void emit(learner_effect e) { effects_.push_back(std::move(e)); }
  void end(std::string reason, bool rejoin = false);
  void log_and_hold(int64_t zxid, const std::string& txn);
  void maybe_ack_newleader();

  learner_settings settings_;
  learner_history history_;
  phase ph_ = phase::connecting;
  uint32_t new_epoch_ = 0;
  int64_t last_logged_ = 0;
  int64_t durable_ = 0;
  int64_t acked_ = 0;
  bool newleader_ack_pending_ = false;
  int64_t newleader_zxid_ = 0;
  int64_t newleader_upto_ = 0; // last logged when NEWLEADER came
  int64_t started_ms_ = 0;
  int64_t last_heard_ms_ = 0;
  std::vector<quorum::session_touch> touches_;
  // SNAP in progress
  int64_t snap_zxid_ = 0;
  uint64_t snap_next_seq_ = 0;
  std::string snap_bytes_;
  std::vector<learner_effect> effects_;
};

} // namespace zkd::follower
