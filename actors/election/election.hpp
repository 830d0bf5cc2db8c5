// Fast Leader Election (ZooKeeper's FastLeaderElection) as a pure state
// machine: no clock, no socket, no thread. Inputs are method calls with the
// current time passed in; outputs are notifications to send and, once, the
// outcome of the round. The CAF shell (election_actor) owns connections and
// timers; the simulator and the unit tests drive the core directly.
//
// The rules follow ZooKeeper 3.8:
// - votes are ordered by peer epoch, then zxid, then server id
//   (quorum::beats, ZooKeeper's totalOrderPredicate);
// - a LOOKING notification of a later round makes us join that round (drop
//   the votes received so far, re-vote); one of an earlier round is answered
//   with our vote and otherwise ignored;
// - a round ends when a quorum of participants votes like us and no better
//   vote arrives for the finalize wait;
// - FOLLOWING/LEADING notifications are votes of a settled ensemble: of our
//   round they count with the others (the receive set); of any round they
//   are collected in the out-of-election set, so a node that joins a settled
//   ensemble follows its leader once a quorum names it and the leader itself
//   says LEADING (checkLeader);
// - observers never vote and cannot be proposed; they look like everyone
//   else and end OBSERVING. Participants answer an observer's notification
//   with their own vote at once and otherwise never start a conversation
//   with an observer.
//
// Where we differ, on purpose:
// - The finalize wait ends early once every participant's LOOKING vote of
//   this round is in: each participant's vote is at least its own initial
//   vote, ours is at least each of theirs, so ours is the best initial vote
//   of the ensemble and nothing better can arrive.
// - ZooKeeper drops the notifications it reads during the finalize wait and
//   restarts the wait on each; we record them and keep the deadline fixed.
// - A participant answers an observer with its current proposal while
//   LOOKING (ZooKeeper answers with the previous round's vote), and tells
//   every observer that asked during the round the outcome as soon as it
//   decides (ZooKeeper lets the observer find out at its next re-send).
// - An observer ends its round only on a settled ensemble's votes (a
//   quorum FOLLOWING/LEADING one leader, the leader LEADING), never on a
//   quorum of LOOKING votes: those can still change and, as nobody notifies
//   observers of changes, ZooKeeper's observers can pick a leader that never
//   leads and must time out before they look again.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "messages/quorum/quorum.hpp"

namespace zkd::election {

using quorum::notification;
using quorum::peer_state;
using quorum::server_id;
using quorum::vote;

struct settings {
  server_id self = 1;
  // The voting members, self included unless self is an observer. Everyone
  // else is treated as an observer (a non-voter).
  std::vector<server_id> participants;
  // How long a quorum must hold without a better vote before the round ends
  // (ZooKeeper's finalizeWait).
  int64_t finalize_wait_ms = 200;
  // Treat a participant we never reached like one whose link dropped: its
  // vote is not waited for. Starting nodes then elect as soon as a quorum
  // that can talk agrees, and a late node joins the settled ensemble.
  bool skip_unreached = false;
  // After this long without a notification, send ours again, and double the
  // interval up to the maximum (ZooKeeper's min/maxNotificationInterval).
  int64_t min_notification_interval_ms = 200;
  int64_t max_notification_interval_ms = 60000;
};

// What a node brings into a round. Neither changes while it is looking.
struct local_state {
  int64_t last_zxid = 0;      // newest txn in its log
  uint64_t current_epoch = 0; // the epoch it last followed or led
};

// The end of a round.
struct outcome {
  peer_state state = peer_state::looking; // leading, following or observing
  vote v; // the elected leader, its zxid and epoch, the round's epoch
};

struct addressed {
  server_id to = 0;
  notification n;
};

struct output {
  std::vector<addressed> send; // in order
  std::optional<outcome> decided;
};

class core {
public:
  explicit core(settings s);

  // Enter LOOKING: a new round (logical clock + 1), vote for ourselves (an
  // observer proposes nobody) and tell every participant.
  void start_round(int64_t now_ms, local_state local);

  // A notification from a peer; any order, duplicates and stale ones are
  // fine. Also answers LOOKING peers after the round ended.
  void receive(int64_t now_ms, const notification& n);

  // A connection to `peer` came up: a looking node sends it its vote (what
  // was sent while the peer was unreachable is lost).
  void connected(int64_t now_ms, server_id peer);

  // The connection to `peer` is gone (it crashed, or the network cut it).
  // A round then does not wait out the finalize delay for its vote: the
  // delay only buys a chance at a better leader, and the best vote of any
  // quorum is a safe one (Zab's discovery checks the rest).
  void disconnected(int64_t now_ms, server_id peer);

  // Time passed: ends a finished finalize wait, re-sends our vote after a
  // silence.
  void tick(int64_t now_ms);

  // The leader we follow (or lead) established epoch `e`: report it in our
  // vote so nodes that join see one consistent (leader, epoch) pair
  // (ZooKeeper's updateElectionVote, ZOOKEEPER-1732).
  void set_peer_epoch(uint64_t e);

  // When tick() next has something to do; none when decided.
  std::optional<int64_t> next_deadline_ms() const;

  [[nodiscard]] output take_output();

  peer_state state() const { return state_; }
  bool looking() const { return state_ == peer_state::looking; }
  uint64_t logical_clock() const { return logical_clock_; }
  // Our vote: the proposal while looking, the outcome after.
  std::optional<vote> current_vote() const;
  bool is_participant(server_id id) const;
  const settings& config() const { return settings_; }

  void check_invariants() const;

private:
  struct received {
    vote v;
    peer_state state = peer_state::looking;
  };
  using vote_set = std::map<server_id, received>;

  void send_notifications();
  void send_vote_to(server_id to);
  void on_looking(int64_t now_ms, const notification& n);
  void on_settled(int64_t now_ms, const notification& n);
  void update_proposal(const vote& v);
  void record_own_vote();
  void check_quorum(int64_t now_ms);
  bool has_quorum(const vote_set& set, const vote& v, peer_state s) const;
  bool check_leader(const vote_set& set, server_id leader,
                    uint64_t election_epoch) const;
  bool all_voted() const;
  std::set<server_id> unreachable_; // links lost since they last connected
  void decide(const vote& v);
  vote initial_vote() const;

  settings settings_;
  bool participant_ = false;
  size_t quorum_size_ = 0;
  peer_state state_ = peer_state::looking;
  bool started_ = false;
  uint64_t logical_clock_ = 0;
  local_state local_;
  std::optional<vote> proposal_; // election_epoch == logical_clock_
  std::optional<vote> final_;    // set once decided
  vote_set recv_;                // this round's votes (ZooKeeper's recvset)
  vote_set out_of_election_;     // FOLLOWING/LEADING votes of any round
  std::set<server_id> waiting_observers_; // asked us during this round
  int64_t notification_interval_ms_ = 0;
  std::optional<int64_t> resend_at_ms_;
  std::optional<int64_t> finalize_at_ms_;
  output out_;
};

} // namespace zkd::election
