// The leader's side of Zab as a pure core: discovery (a new epoch above
// every accepted one of a quorum), each learner's sync (DIFF, TRUNC or SNAP
// from sync_plan), establishment (a quorum acked NEWLEADER) and broadcast
// (proposals, quorum acks, in-order commits, INFORM for observers), plus
// liveness (pings, silent learners, a lost quorum).
//
// Inputs are method calls with the time passed in; outputs are effects in
// the order the shell must carry them out: an epoch file is written before
// the message that announces it leaves. A standalone node is a leader whose
// only voter is itself: start() establishes the epoch at once.
//
// Why TRUNC and SNAP end the learner's connection instead of streaming the
// tree and continuing: the learner rewrites its files (drops log records,
// or installs the snapshot and drops its log) and reloads them, then
// reconnects and gets a DIFF. Its sync is then always "log these txns in
// order", the same code as broadcast, and its tree is always exactly what
// its files say.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "actors/leader/leader.hpp"
#include "actors/leader/sync_plan.hpp"
#include "messages/quorum/quorum.hpp"

namespace zkd::leader {

using quorum::server_id;

struct zab_settings {
  server_id self = 1;
  std::set<server_id> voters;    // participants, self included
  std::set<server_id> observers; // may connect, never counted
  int64_t tick_ms = 2000;
  int64_t init_limit_ticks = 10; // discovery + sync must end within
  int64_t sync_limit_ticks = 5;  // a learner silent this long is dropped
  uint64_t session_key0 = 0;     // handed to learners in LEADERINFO
  uint64_t session_key1 = 0;
  // Keep the txns since the newest snapshot for DIFFs. A standalone node
  // has nobody to sync and saves the copy.
  bool keep_window = true;
};

// What the leader holds when its round starts (from recovery).
struct zab_history {
  uint32_t accepted_epoch = 0;
  uint32_t current_epoch = 0;
  int64_t last_zxid = 0;
  int64_t snapshot_zxid = 0; // newest snapshot on disk (0: none)
  std::string snapshot_path;
  std::vector<int64_t> epoch_ends;
  // Every txn after snapshot_zxid, in order: what DIFFs are made of.
  std::vector<std::pair<int64_t, std::string>> window;
};

// --- effects -----------------------------------------------------------------

using learner_message =
    std::variant<quorum::leader_info, quorum::diff, quorum::trunc,
                 quorum::proposal, quorum::commit, quorum::inform,
                 quorum::new_leader, quorum::up_to_date, quorum::ping,
                 quorum::reply>;

struct to_learner {
  server_id sid = 0;
  learner_message msg;
};
struct persist_accepted_epoch {
  uint32_t epoch = 0;
};
struct persist_current_epoch {
  uint32_t epoch = 0;
};
// Stream the snapshot file to the learner (SNAP, then its chunks).
struct send_snapshot {
  server_id sid = 0;
  int64_t zxid = 0;
  std::string path;
};
// Apply every txn up to zxid (the local datatree).
struct commit_local {
  int64_t zxid = 0;
};
// A quorum acked NEWLEADER: serve clients, writes get zxids of `epoch`.
struct established {
  uint32_t epoch = 0;
};
// Forget the learner (the shell stops talking to it).
struct drop_learner {
  server_id sid = 0;
  std::string reason;
};
// The role is over: the node goes LOOKING.
struct step_down {
  std::string reason;
};

using zab_effect =
    std::variant<to_learner, persist_accepted_epoch, persist_current_epoch,
                 send_snapshot, commit_local, established, drop_learner,
                 step_down>;

class zab_leader {
public:
  zab_leader(zab_settings s, zab_history h);

  // The round begins. A leader of a one-member quorum establishes here.
  void start(int64_t now_ms);

  // FOLLOWERINFO / OBSERVERINFO (a learner connected, or reconnected: its
  // earlier state is forgotten).
  void learner_info(int64_t now_ms, server_id sid, uint32_t accepted_epoch,
                    bool observer);
  void ack_epoch(int64_t now_ms, const quorum::ack_epoch& m);
  void ack(int64_t now_ms, server_id sid, int64_t zxid);
  // Any message from the learner shows it is alive.
  void heard(int64_t now_ms, server_id sid);
  // Its connection is gone.
  void learner_lost(int64_t now_ms, server_id sid);

  // New txns from the local datatree, zxids continuing the window. Only
  // after `established`.
  void propose(const std::vector<std::pair<int64_t, std::string_view>>& txns);
  // The local log holds every proposal up to zxid.
  void local_durable(int64_t zxid);
  // A reply for a learner's session, in order with its proposals.
  void reply_to(server_id sid, quorum::reply r);
  // A snapshot of zxid is on disk: older window entries can go.
  void snapshot_taken(int64_t zxid, std::string path);

  // Pings, silent learners, timeouts.
  void tick(int64_t now_ms);

  [[nodiscard]] std::vector<zab_effect> take_effects();

  bool is_established() const { return established_; }
  uint32_t epoch() const { return epoch_; }
  int64_t committed() const { return bcast_.committed(); }
  int64_t last_proposed() const;
  size_t outstanding() const { return bcast_.outstanding(); }
  // Learners that completed their sync (in broadcast), by kind.
  size_t synced_followers() const;
  size_t synced_observers() const;
  size_t connected_learners() const { return learners_.size(); }
  size_t pending_syncs() const;
  size_t window_size() const { return window_.size(); }
  size_t quorum_size() const { return quorum_; }

  void check_invariants() const;

private:
  enum class phase {
    info,        // sent LEADERINFO (or waiting for the epoch to do so)
    epoch_acked, // ACKEPOCH in, waiting for a quorum of them before syncing
    newleader,   // DIFF + NEWLEADER sent, waiting for its ACK
    up_to_date,  // in broadcast
    done,        // TRUNC or SNAP sent: it reconnects after reloading
  };
  struct learner {
    bool observer = false;
    uint32_t accepted_epoch = 0;
    phase ph = phase::info;
    bool info_sent = false;
    quorum::ack_epoch acked;
    int64_t last_heard_ms = 0;
  };

  void emit(zab_effect e) { effects_.push_back(std::move(e)); }
  void send(server_id sid, learner_message m) {
    emit(to_learner{sid, std::move(m)});
  }
  bool is_voter(server_id sid) const { return settings_.voters.count(sid); }
  void maybe_decide_epoch();
  void maybe_start_syncs();
  void sync(server_id sid, learner& l);
  void establish();
  void commit_upto(int64_t zxid);
  size_t newleader_acks() const;
  void check_quorum(int64_t now_ms);
  sync_source source() const;

  zab_settings settings_;
  size_t quorum_;
  uint32_t accepted_epoch_;
  uint32_t current_epoch_;
  int64_t last_logged_at_start_;
  int64_t snapshot_zxid_;
  std::string snapshot_path_;
  std::vector<int64_t> epoch_ends_;
  std::deque<std::pair<int64_t, std::string>> window_;
  std::map<server_id, learner> learners_;
  uint32_t epoch_ = 0; // the new epoch, 0 until decided
  bool epoch_quorum_acked_ = false;
  bool established_ = false;
  bool stepped_down_ = false;
  int64_t started_ms_ = 0;
  core bcast_;             // acks and commits of proposals
  int64_t last_announced_; // the last commit point sent out
  std::vector<zab_effect> effects_;
};

} // namespace zkd::leader
