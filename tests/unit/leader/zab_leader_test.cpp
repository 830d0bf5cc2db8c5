// The leader's Zab core (zab_leader): discovery, per-learner sync,
// establishment, broadcast and liveness, checked on the effects it returns.
#include <catch2/catch.hpp>

#include <string>
#include <variant>
#include <vector>

#include "actors/leader/zab_leader.hpp"

using namespace zkd::leader;
namespace q = zkd::quorum;

namespace {

constexpr int64_t z(uint32_t epoch, uint32_t counter) {
  return q::make_zxid(epoch, counter);
}

std::string payload(int64_t zxid) {
  return "txn-" + std::to_string(q::epoch_of(zxid)) + "-" +
         std::to_string(q::counter_of(zxid));
}

// A history holding `zxids` (ascending), all after `snapshot` in the log
// window, as recovery reports it.
zab_history history(std::vector<int64_t> zxids, uint32_t accepted,
                    uint32_t current, int64_t snapshot = 0) {
  zab_history h;
  h.accepted_epoch = accepted;
  h.current_epoch = current;
  h.snapshot_zxid = snapshot;
  if (snapshot != 0)
    h.snapshot_path = "snapshot." + std::to_string(snapshot);
  int64_t prev = snapshot;
  for (auto x : zxids) {
    if (x <= snapshot)
      continue; // in the snapshot
    if (prev != 0 && q::epoch_of(prev) != q::epoch_of(x))
      h.epoch_ends.push_back(prev);
    prev = x;
    h.window.emplace_back(x, payload(x));
  }
  if (prev != 0)
    h.epoch_ends.push_back(prev);
  h.last_zxid = prev;
  return h;
}

std::vector<int64_t> epoch(uint32_t e, uint32_t from, uint32_t to) {
  std::vector<int64_t> out;
  for (auto c = from; c <= to; ++c)
    out.push_back(z(e, c));
  return out;
}

std::vector<int64_t> operator+(std::vector<int64_t> a,
                               const std::vector<int64_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

zab_settings settings(std::set<server_id> voters,
                      std::set<server_id> observers = {}) {
  zab_settings s;
  s.self = 1;
  s.voters = std::move(voters);
  s.observers = std::move(observers);
  s.tick_ms = 100;
  s.init_limit_ticks = 10;
  s.sync_limit_ticks = 5;
  s.session_key0 = 7;
  s.session_key1 = 8;
  return s;
}

template <class T>
std::vector<T> of(const std::vector<zab_effect>& es) {
  std::vector<T> out;
  for (auto& e : es)
    if (auto p = std::get_if<T>(&e))
      out.push_back(*p);
  return out;
}

// The messages to one learner, by ZooKeeper's packet names, in order.
std::vector<std::string> names_to(const std::vector<zab_effect>& es,
                                  server_id sid) {
  std::vector<std::string> out;
  for (auto& m : of<to_learner>(es))
    if (m.sid == sid)
      out.push_back(std::visit(
          [](auto& x) { return std::string(q::message_name(x)); }, m.msg));
  return out;
}

template <class M>
std::vector<M> to(const std::vector<zab_effect>& es, server_id sid) {
  std::vector<M> out;
  for (auto& m : of<to_learner>(es))
    if (m.sid == sid)
      if (auto p = std::get_if<M>(&m.msg))
        out.push_back(*p);
  return out;
}

// Index of the first effect of type T, or -1.
template <class T>
int first(const std::vector<zab_effect>& es) {
  for (size_t i = 0; i < es.size(); ++i)
    if (std::holds_alternative<T>(es[i]))
      return static_cast<int>(i);
  return -1;
}

struct harness {
  zab_leader l;
  int64_t now = 1000;

  harness(zab_settings s, zab_history h) : l(std::move(s), std::move(h)) {
    l.start(now);
  }

  std::vector<zab_effect> take() {
    l.check_invariants();
    return l.take_effects();
  }

  q::ack_epoch acked(server_id sid, int64_t current,
                     const std::vector<int64_t>& zxids, int64_t snapshot = 0) {
    auto h = history(zxids, 0, 0, snapshot);
    q::ack_epoch a;
    a.sid = sid;
    a.current_epoch = current;
    a.last_zxid = h.last_zxid;
    a.snapshot_zxid = snapshot;
    a.epoch_ends = h.epoch_ends;
    return a;
  }

  // Connects, accepts the epoch and reports this history.
  std::vector<zab_effect> join(server_id sid, int64_t current,
                               const std::vector<int64_t>& zxids,
                               bool observer = false, int64_t snapshot = 0) {
    l.learner_info(now, sid, 0, observer);
    l.ack_epoch(now, acked(sid, current, zxids, snapshot));
    return take();
  }

  // Several followers with the same history through discovery and sync:
  // all connect first (with five voters the epoch needs three of them).
  void sync_all(const std::vector<server_id>& sids, int64_t current,
                const std::vector<int64_t>& zxids) {
    for (auto sid : sids)
      l.learner_info(now, sid, 0, false);
    for (auto sid : sids)
      l.ack_epoch(now, acked(sid, current, zxids));
    for (auto sid : sids)
      l.ack(now, sid, z(l.epoch(), 0));
    take();
  }

  std::vector<zab_effect> ack_newleader(server_id sid) {
    l.ack(now, sid, z(l.epoch(), 0));
    return take();
  }

  std::vector<zab_effect> propose(const std::vector<int64_t>& zxids) {
    std::vector<std::string> keep;
    for (auto x : zxids)
      keep.push_back(payload(x));
    std::vector<std::pair<int64_t, std::string_view>> txns;
    for (size_t i = 0; i < zxids.size(); ++i)
      txns.emplace_back(zxids[i], keep[i]);
    l.propose(txns);
    return take();
  }
};

} // namespace

TEST_CASE("discovery: the new epoch is above every accepted epoch of a "
          "quorum") {
  struct learner_row {
    server_id sid;
    uint32_t accepted;
    bool observer;
  };
  struct row {
    std::string name;
    std::set<server_id> voters;
    uint32_t accepted;
    uint32_t current;
    std::vector<learner_row> learners;
    uint32_t epoch; // 0: still waiting for a quorum
  };
  std::vector<row> rows = {
      {"fresh ensemble", {1, 2, 3}, 0, 0, {{2, 0, false}}, 1},
      {"a follower accepted a later epoch",
       {1, 2, 3},
       3,
       3,
       {{2, 5, false}},
       6},
      {"the leader's accepted epoch counts",
       {1, 2, 3},
       4,
       2,
       {{2, 3, false}},
       5},
      {"alone is no quorum of three", {1, 2, 3}, 1, 1, {}, 0},
      {"observers do not make a quorum", {1, 2, 3}, 1, 1, {{4, 9, true}}, 0},
      {"an observer's accepted epoch does not count",
       {1, 2, 3},
       1,
       1,
       {{4, 9, true}, {2, 1, false}},
       2},
      {"five voters need three", {1, 2, 3, 4, 5}, 2, 2, {{2, 1, false}}, 0},
      {"five voters: the top of three",
       {1, 2, 3, 4, 5},
       2,
       2,
       {{2, 1, false}, {3, 7, false}},
       8},
  };
  for (auto& r : rows) {
    SECTION(r.name) {
      harness h{settings(r.voters, {4}), history({}, r.accepted, r.current)};
      CHECK(h.take().empty());
      for (auto& lr : r.learners)
        h.l.learner_info(h.now, lr.sid, lr.accepted, lr.observer);
      auto es = h.take();
      CHECK(h.l.epoch() == r.epoch);
      if (r.epoch == 0) {
        CHECK(of<to_learner>(es).empty());
        CHECK(of<persist_accepted_epoch>(es).empty());
        continue;
      }
      // The epoch is on disk before any message announces it.
      auto persisted = of<persist_accepted_epoch>(es);
      REQUIRE(persisted.size() == 1);
      CHECK(persisted[0].epoch == r.epoch);
      CHECK(first<persist_accepted_epoch>(es) < first<to_learner>(es));
      for (auto& lr : r.learners) {
        auto infos = to<q::leader_info>(es, lr.sid);
        REQUIRE(infos.size() == 1);
        CHECK(infos[0].new_epoch == r.epoch);
        CHECK(infos[0].session_key0 == 7);
      }
    }
  }
}

TEST_CASE("discovery: a stranger is dropped") {
  harness h{settings({1, 2, 3}), history({}, 0, 0)};
  h.l.learner_info(h.now, 9, 0, false);
  auto es = h.take();
  REQUIRE(of<drop_learner>(es).size() == 1);
  CHECK(of<drop_learner>(es)[0].sid == 9);
  CHECK(h.l.connected_learners() == 0);
}

TEST_CASE("sync plans become DIFF, TRUNC or SNAP messages") {
  // The leader holds epochs 1 (1..5) and 2 (1..3).
  auto mine = epoch(1, 1, 5) + epoch(2, 1, 3);

  SECTION("DIFF: proposals after the learner's zxid, one commit, "
          "NEWLEADER") {
    harness h{settings({1, 2, 3}), history(mine, 2, 2)};
    auto es = h.join(2, 2, epoch(1, 1, 5) + epoch(2, 1, 1));
    CHECK(names_to(es, 2) == std::vector<std::string>{"LEADERINFO", "DIFF",
                                                      "PROPOSAL", "PROPOSAL",
                                                      "COMMIT", "NEWLEADER"});
    CHECK(to<q::leader_info>(es, 2)[0].new_epoch == 3);
    CHECK(to<q::diff>(es, 2)[0].last_committed == z(2, 3));
    auto props = to<q::proposal>(es, 2);
    CHECK(props[0].zxid == z(2, 2));
    CHECK(props[0].txn == payload(z(2, 2)));
    CHECK(props[1].zxid == z(2, 3));
    CHECK(to<q::commit>(es, 2)[0].zxid == z(2, 3));
    CHECK(to<q::new_leader>(es, 2)[0].zxid == z(3, 0));
    CHECK(h.l.pending_syncs() == 1);
  }

  SECTION("DIFF across epochs") {
    harness h{settings({1, 2, 3}), history(mine, 2, 2)};
    auto es = h.join(2, 1, epoch(1, 1, 4));
    auto props = to<q::proposal>(es, 2);
    REQUIRE(props.size() == 4);
    CHECK(props.front().zxid == z(1, 5));
    CHECK(props.back().zxid == z(2, 3));
  }

  SECTION("in sync: an empty DIFF, no commit") {
    harness h{settings({1, 2, 3}), history(mine, 2, 2)};
    auto es = h.join(2, 2, mine);
    CHECK(names_to(es, 2) ==
          std::vector<std::string>{"LEADERINFO", "DIFF", "NEWLEADER"});
  }

  SECTION("TRUNC: uncommitted txns of an old epoch, and nothing else") {
    harness h{settings({1, 2, 3}), history(mine, 2, 2)};
    auto es = h.join(2, 1, epoch(1, 1, 7));
    CHECK(names_to(es, 2) == std::vector<std::string>{"LEADERINFO", "TRUNC"});
    CHECK(to<q::trunc>(es, 2)[0].zxid == z(1, 5));
    CHECK(h.l.pending_syncs() == 0); // it reloads and reconnects
  }

  SECTION("SNAP: the learner is behind the leader's log") {
    // The window starts after the snapshot of (1, 4).
    harness h{settings({1, 2, 3}), history(mine, 2, 2, z(1, 4))};
    auto es = h.join(2, 1, epoch(1, 1, 2));
    auto snaps = of<send_snapshot>(es);
    REQUIRE(snaps.size() == 1);
    CHECK(snaps[0].sid == 2);
    CHECK(snaps[0].zxid == z(1, 4));
    CHECK(snaps[0].path == "snapshot." + std::to_string(z(1, 4)));
    CHECK(names_to(es, 2) == std::vector<std::string>{"LEADERINFO"});
  }

  SECTION("SNAP after the window was trimmed by a new snapshot") {
    harness h{settings({1, 2, 3}), history(mine, 2, 2)};
    h.l.snapshot_taken(z(2, 2), "snapshot.x");
    CHECK(h.l.window_size() == 1);
    auto es = h.join(2, 2, epoch(1, 1, 5) + epoch(2, 1, 1));
    REQUIRE(of<send_snapshot>(es).size() == 1);
    CHECK(of<send_snapshot>(es)[0].path == "snapshot.x");
  }

  SECTION("a SNAP without a snapshot drops the learner") {
    auto h0 = history(mine, 2, 2);
    h0.window.erase(h0.window.begin(), h0.window.begin() + 3);
    h0.snapshot_zxid = z(1, 3); // but no path: the file is not known
    harness h{settings({1, 2, 3}), h0};
    auto es = h.join(2, 1, epoch(1, 1, 1));
    CHECK(of<drop_learner>(es).size() == 1);
    CHECK(h.l.connected_learners() == 0);
  }
}

TEST_CASE("establishment needs a quorum of NEWLEADER acks") {
  auto mine = epoch(1, 1, 3);
  harness h{settings({1, 2, 3, 4, 5}), history(mine, 1, 1)};
  h.l.learner_info(h.now, 2, 0, false);
  h.l.learner_info(h.now, 3, 0, false);
  h.l.ack_epoch(h.now, h.acked(2, 1, mine));
  h.l.ack_epoch(h.now, h.acked(3, 1, mine));
  h.take();
  auto es = h.ack_newleader(2);
  CHECK(of<established>(es).empty()); // two of five
  CHECK(!h.l.is_established());
  es = h.ack_newleader(3);
  REQUIRE(of<established>(es).size() == 1);
  CHECK(of<established>(es)[0].epoch == 2);
  // The epoch is current on disk before anyone hears of it.
  REQUIRE(of<persist_current_epoch>(es).size() == 1);
  CHECK(of<persist_current_epoch>(es)[0].epoch == 2);
  CHECK(first<persist_current_epoch>(es) < first<established>(es));
  CHECK(first<established>(es) < first<to_learner>(es));
  CHECK(to<q::up_to_date>(es, 2).size() == 1);
  CHECK(to<q::up_to_date>(es, 3).size() == 1);
  CHECK(h.l.synced_followers() == 2);
  // An ack of a DIFF txn is not a NEWLEADER ack.
  h.join(4, 1, epoch(1, 1, 1));
  h.l.ack(h.now, 4, z(1, 3));
  CHECK(to<q::up_to_date>(h.take(), 4).empty());
}

TEST_CASE("the leader waits for a quorum of ACKEPOCHs before syncing") {
  harness h{settings({1, 2, 3, 4, 5}), history(epoch(1, 1, 2), 1, 1)};
  h.l.learner_info(h.now, 2, 1, false);
  h.l.learner_info(h.now, 3, 1, false);
  h.take();
  h.l.ack_epoch(h.now, h.acked(2, 1, epoch(1, 1, 2)));
  CHECK(names_to(h.take(), 2).empty()); // two of five acked
  h.l.ack_epoch(h.now, h.acked(3, 1, epoch(1, 1, 2)));
  auto es = h.take();
  CHECK(to<q::new_leader>(es, 2).size() == 1);
  CHECK(to<q::new_leader>(es, 3).size() == 1);
}

TEST_CASE("broadcast: quorum acks commit in order") {
  auto mine = epoch(1, 1, 2);
  harness h{settings({1, 2, 3}), history(mine, 1, 1)};
  h.join(2, 1, mine);
  h.ack_newleader(2);
  REQUIRE(h.l.is_established());
  auto es = h.propose({z(2, 1), z(2, 2)});
  CHECK(to<q::proposal>(es, 2).size() == 2);
  h.l.ack(h.now, 2, z(2, 2));
  CHECK(of<commit_local>(h.take()).empty()); // the leader has not logged
  h.l.local_durable(z(2, 1));
  es = h.take();
  REQUIRE(of<commit_local>(es).size() == 1);
  CHECK(of<commit_local>(es)[0].zxid == z(2, 1));
  CHECK(to<q::commit>(es, 2)[0].zxid == z(2, 1));
  h.l.local_durable(z(2, 2));
  CHECK(of<commit_local>(h.take())[0].zxid == z(2, 2));
  CHECK(h.l.committed() == z(2, 2));
}

TEST_CASE("a late joiner gets the broadcast so far and UPTODATE at once") {
  auto mine = epoch(1, 1, 2);
  harness h{settings({1, 2, 3}), history(mine, 1, 1)};
  h.join(2, 1, mine);
  h.ack_newleader(2);
  h.propose({z(2, 1), z(2, 2), z(2, 3)});
  h.l.ack(h.now, 2, z(2, 2));
  h.l.local_durable(z(2, 3));
  h.take();
  REQUIRE(h.l.committed() == z(2, 2));
  // Follower 3 hears LEADERINFO at once: the epoch is known.
  h.l.learner_info(h.now, 3, 1, false);
  CHECK(to<q::leader_info>(h.take(), 3)[0].new_epoch == 2);
  h.l.ack_epoch(h.now, h.acked(3, 1, epoch(1, 1, 1)));
  auto es = h.take();
  CHECK(names_to(es, 3) ==
        std::vector<std::string>{"DIFF", "PROPOSAL", "PROPOSAL", "PROPOSAL",
                                 "PROPOSAL", "COMMIT", "NEWLEADER"});
  CHECK(to<q::commit>(es, 3)[0].zxid == z(2, 2));
  // Proposals and commits while it syncs reach it too.
  es = h.propose({z(2, 4)});
  CHECK(to<q::proposal>(es, 3).size() == 1);
  es = h.ack_newleader(3);
  CHECK(to<q::up_to_date>(es, 3).size() == 1);
  CHECK(of<established>(es).empty()); // once per epoch
  // Its acks count now.
  h.l.ack(h.now, 3, z(2, 4));
  h.l.local_durable(z(2, 4));
  CHECK(h.l.committed() == z(2, 4));
}

TEST_CASE("a follower that reconnects holding uncommitted proposals is "
          "truncated to the commit point") {
  // Found by tests/sim: a DIFF from its last zxid would let it serve them.
  auto mine = epoch(1, 1, 2);
  harness h{settings({1, 2, 3}), history(mine, 1, 1)};
  h.join(2, 1, mine);
  h.ack_newleader(2);
  h.join(3, 1, mine);
  h.ack_newleader(3);
  h.propose({z(2, 1), z(2, 2), z(2, 3)});
  h.l.ack(h.now, 2, z(2, 1));
  h.l.local_durable(z(2, 3));
  h.take();
  REQUIRE(h.l.committed() == z(2, 1));
  // Follower 3 had logged all three, lost its connection and is back.
  h.l.learner_lost(h.now, 3);
  h.take();
  h.l.learner_info(h.now, 3, 2, false);
  h.l.ack_epoch(h.now, h.acked(3, -1, mine + epoch(2, 1, 3)));
  auto es = h.take();
  CHECK(names_to(es, 3) == std::vector<std::string>{"LEADERINFO", "TRUNC"});
  CHECK(to<q::trunc>(es, 3)[0].zxid == z(2, 1));
  // After reloading it gets the rest as proposals, not as commits.
  h.l.learner_lost(h.now, 3);
  h.l.learner_info(h.now, 3, 2, false);
  h.l.ack_epoch(h.now, h.acked(3, -1, mine + epoch(2, 1, 1)));
  es = h.take();
  CHECK(names_to(es, 3) == std::vector<std::string>{"LEADERINFO", "DIFF",
                                                    "PROPOSAL", "PROPOSAL",
                                                    "NEWLEADER"});
}

TEST_CASE("observers get INFORM of committed txns, never proposals") {
  auto mine = epoch(1, 1, 3);
  harness h{settings({1, 2, 3}, {4}), history(mine, 1, 1)};
  h.l.learner_info(h.now, 4, 0, true);
  CHECK(h.take().empty()); // an observer is no quorum for the epoch
  h.join(2, 1, mine);
  // The observer's sync: INFORM of the committed history it lacks.
  h.l.ack_epoch(h.now, h.acked(4, 0, epoch(1, 1, 1)));
  auto es = h.take();
  CHECK(names_to(es, 4) ==
        std::vector<std::string>{"DIFF", "INFORM", "INFORM", "NEWLEADER"});
  CHECK(to<q::inform>(es, 4)[0].zxid == z(1, 2));
  h.l.ack(h.now, 4, z(2, 0));
  CHECK(!h.l.is_established()); // its NEWLEADER ack does not count
  h.ack_newleader(2);
  REQUIRE(h.l.is_established());
  CHECK(h.l.synced_observers() == 1);
  es = h.propose({z(2, 1), z(2, 2)});
  CHECK(to<q::proposal>(es, 4).empty());
  h.l.ack(h.now, 4, z(2, 2)); // observers' acks count for nothing
  h.l.local_durable(z(2, 2));
  CHECK(h.l.committed() == z(1, 3));
  h.l.ack(h.now, 2, z(2, 2));
  es = h.take();
  auto informs = to<q::inform>(es, 4);
  REQUIRE(informs.size() == 2);
  CHECK(informs[0].zxid == z(2, 1));
  CHECK(informs[0].txn == payload(z(2, 1)));
  CHECK(informs[1].zxid == z(2, 2));
  CHECK(to<q::commit>(es, 4).empty());
}

TEST_CASE("a voter ahead of the leader makes it step down") {
  struct row {
    std::string name;
    int64_t current;
    std::vector<int64_t> zxids;
    bool steps_down;
  };
  auto mine = epoch(1, 1, 4) + epoch(2, 1, 2);
  std::vector<row> rows = {
      {"a later current epoch", 3, epoch(1, 1, 4), true},
      {"more txns of our epoch", 2, mine + epoch(2, 3, 3), true},
      {"same history", 2, mine, false},
      {"behind", 1, epoch(1, 1, 4), false},
      {"already accepted this epoch (-1): not compared", -1,
       mine + epoch(2, 3, 5), false},
  };
  for (auto& r : rows) {
    SECTION(r.name) {
      harness h{settings({1, 2, 3}), history(mine, 2, 2)};
      auto es = h.join(2, r.current, r.zxids);
      CHECK(of<step_down>(es).size() == (r.steps_down ? 1u : 0u));
      if (r.steps_down) {
        // Nothing more after stepping down.
        h.l.learner_info(h.now, 3, 0, false);
        h.l.tick(h.now + 100000);
        CHECK(h.take().empty());
      }
    }
  }
}

TEST_CASE("losing the quorum ends the role") {
  auto mine = epoch(1, 1, 1);
  harness h{settings({1, 2, 3, 4, 5}), history(mine, 1, 1)};
  h.sync_all({2, 3, 4}, 1, mine);
  REQUIRE(h.l.is_established());
  CHECK(h.l.synced_followers() == 3);
  h.l.learner_lost(h.now, 2);
  CHECK(of<step_down>(h.take()).empty()); // 3 of 5 left
  h.l.learner_lost(h.now, 3);
  auto es = h.take();
  REQUIRE(of<step_down>(es).size() == 1);
  h.propose({z(2, 1)}); // ignored once stepped down
  CHECK(h.take().empty());
}

TEST_CASE("liveness: pings, silent learners, init_limit") {
  auto mine = epoch(1, 1, 1);
  SECTION("pings every tick, a silent follower is dropped, then the "
          "quorum is gone") {
    harness h{settings({1, 2, 3}), history(mine, 1, 1)};
    h.join(2, 1, mine);
    h.ack_newleader(2);
    h.l.tick(h.now + 100);
    auto es = h.take();
    CHECK(to<q::ping>(es, 2).size() == 1);
    h.l.heard(h.now + 400, 2);
    h.l.tick(h.now + 900);
    CHECK(of<step_down>(h.take()).empty());
    h.l.tick(h.now + 400 + 501); // silent for more than 5 ticks
    es = h.take();
    REQUIRE(of<drop_learner>(es).size() == 1);
    CHECK(of<step_down>(es).size() == 1);
  }
  SECTION("not established within init_limit") {
    harness h{settings({1, 2, 3}), history(mine, 1, 1)};
    h.l.tick(h.now + 1000);
    CHECK(of<step_down>(h.take()).empty());
    h.l.tick(h.now + 1001);
    CHECK(of<step_down>(h.take()).size() == 1);
  }
  SECTION("a standalone leader establishes at once") {
    harness h{settings({1}), history(mine, 1, 1)};
    auto es = h.take();
    CHECK(of<established>(es).size() == 1);
    h.propose({z(2, 1)});
    h.l.local_durable(z(2, 1));
    CHECK(of<commit_local>(h.take()).size() == 1);
  }
}
