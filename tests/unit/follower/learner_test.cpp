// The learner's Zab core (follower::learner), checked on the effects it
// returns: discovery, the three kinds of sync, NEWLEADER/UPTODATE,
// broadcast, observers and liveness.
#include <catch2/catch.hpp>

#include <string>
#include <variant>
#include <vector>

#include "actors/follower/learner.hpp"

using namespace zkd::follower;
namespace q = zkd::quorum;

namespace {

constexpr int64_t z(uint32_t epoch, uint32_t counter) {
  return q::make_zxid(epoch, counter);
}

learner_settings settings(bool observer = false) {
  learner_settings s;
  s.self = 2;
  s.observer = observer;
  s.tick_ms = 100;
  s.init_limit_ticks = 10;
  s.sync_limit_ticks = 5;
  return s;
}

learner_history history(uint32_t accepted, uint32_t current, int64_t last,
                        std::vector<int64_t> ends, int64_t snapshot = 0) {
  learner_history h;
  h.accepted_epoch = accepted;
  h.current_epoch = current;
  h.last_zxid = last;
  h.snapshot_zxid = snapshot;
  h.epoch_ends = std::move(ends);
  return h;
}

template <class T>
std::vector<T> of(const std::vector<learner_effect>& es) {
  std::vector<T> out;
  for (auto& e : es)
    if (auto p = std::get_if<T>(&e))
      out.push_back(*p);
  return out;
}

// Messages to the leader of type M.
template <class M>
std::vector<M> sent(const std::vector<learner_effect>& es) {
  std::vector<M> out;
  for (auto& m : of<to_leader>(es))
    if (auto p = std::get_if<M>(&m.msg))
      out.push_back(*p);
  return out;
}

template <class T>
int first(const std::vector<learner_effect>& es) {
  for (size_t i = 0; i < es.size(); ++i)
    if (std::holds_alternative<T>(es[i]))
      return static_cast<int>(i);
  return -1;
}

template <class M>
int first_sent(const std::vector<learner_effect>& es) {
  for (size_t i = 0; i < es.size(); ++i)
    if (auto p = std::get_if<to_leader>(&es[i]))
      if (std::holds_alternative<M>(p->msg))
        return static_cast<int>(i);
  return -1;
}

struct harness {
  learner l;
  int64_t now = 1000;

  harness(learner_settings s, learner_history h)
      : l(std::move(s), std::move(h)) {
    l.start(now);
  }

  std::vector<learner_effect> take() { return l.take_effects(); }

  template <class M>
  std::vector<learner_effect> on(const M& m) {
    l.on(now, m);
    return take();
  }

  // Connected, LEADERINFO of `epoch`, ACKEPOCH sent.
  std::vector<learner_effect> discover(uint32_t epoch) {
    l.connected(now);
    l.on(now, q::leader_info{epoch, q::protocol_version, 0, 0});
    return take();
  }

  // Through a DIFF of `txns`, committed up to `commit`, NEWLEADER durable,
  // and UPTODATE.
  void sync(uint32_t epoch, const std::vector<int64_t>& txns, int64_t commit) {
    discover(epoch);
    l.on(now, q::diff{commit});
    for (auto x : txns)
      l.on(now, q::proposal{x, "t"});
    if (commit != 0)
      l.on(now, q::commit{commit});
    l.on(now, q::new_leader{z(epoch, 0)});
    l.durable(l.last_logged());
    l.on(now, q::up_to_date{epoch});
    take();
  }
};

} // namespace

TEST_CASE("discovery: introduce ourselves, then accept the epoch") {
  SECTION("a follower sends FOLLOWERINFO with its accepted epoch") {
    harness h{settings(), history(4, 3, z(3, 2), {z(3, 2)})};
    CHECK(h.take().empty()); // nothing before the connection
    h.l.connected(h.now);
    auto infos = sent<q::follower_info>(h.take());
    REQUIRE(infos.size() == 1);
    CHECK(infos[0].sid == 2);
    CHECK(infos[0].accepted_epoch == 4);
  }
  SECTION("an observer sends OBSERVERINFO") {
    harness h{settings(true), history(4, 3, 0, {})};
    h.l.connected(h.now);
    auto es = h.take();
    CHECK(sent<q::observer_info>(es).size() == 1);
    CHECK(sent<q::follower_info>(es).empty());
  }

  struct row {
    std::string name;
    uint32_t accepted;
    uint32_t offered;
    bool persists;
    int64_t current_in_ack; // -2: no ACKEPOCH, the role ends
  };
  std::vector<row> rows = {
      {"a newer epoch is persisted before the ACKEPOCH", 3, 5, true, 3},
      {"the epoch we accepted already: current epoch -1", 5, 5, false, -1},
      {"an older epoch is refused", 6, 5, false, -2},
  };
  for (auto& r : rows) {
    SECTION(r.name) {
      harness h{settings(),
                history(r.accepted, 3, z(3, 7), {z(2, 4), z(3, 7)}, z(2, 1))};
      auto es = h.discover(r.offered);
      auto persisted = of<persist_accepted_epoch>(es);
      CHECK(persisted.size() == (r.persists ? 1u : 0u));
      auto acks = sent<q::ack_epoch>(es);
      if (r.current_in_ack == -2) {
        CHECK(acks.empty());
        CHECK(of<role_over>(es).size() == 1);
        CHECK(h.l.is_over());
        continue;
      }
      REQUIRE(acks.size() == 1);
      CHECK(acks[0].current_epoch == r.current_in_ack);
      CHECK(acks[0].last_zxid == z(3, 7));
      CHECK(acks[0].snapshot_zxid == z(2, 1));
      CHECK(acks[0].epoch_ends == std::vector<int64_t>{z(2, 4), z(3, 7)});
      if (r.persists) {
        CHECK(persisted[0].epoch == r.offered);
        CHECK(first<persist_accepted_epoch>(es) < first_sent<q::ack_epoch>(es));
      }
    }
  }
  SECTION("another protocol version ends the role") {
    harness h{settings(), history(0, 0, 0, {})};
    h.l.connected(h.now);
    h.l.on(h.now, q::leader_info{1, q::protocol_version + 1, 0, 0});
    CHECK(of<role_over>(h.take()).size() == 1);
  }
  SECTION("the leader's session key is adopted") {
    harness h{settings(), history(0, 0, 0, {})};
    h.l.connected(h.now);
    h.l.on(h.now, q::leader_info{1, q::protocol_version, 11, 12});
    auto keys = of<adopt_session_key>(h.take());
    REQUIRE(keys.size() == 1);
    CHECK(keys[0].k0 == 11);
    CHECK(keys[0].k1 == 12);
  }
}

TEST_CASE("DIFF: log and hold the proposals, apply the commits") {
  harness h{settings(), history(1, 1, z(1, 3), {z(1, 3)})};
  h.discover(2);
  auto es = h.on(q::diff{z(1, 5)});
  CHECK(es.empty());
  es = h.on(q::proposal{z(1, 4), "a"});
  REQUIRE(of<log_txn>(es).size() == 1);
  CHECK(of<log_txn>(es)[0].zxid == z(1, 4));
  CHECK(of<apply_proposal>(es)[0].txn == "a");
  CHECK(first<log_txn>(es) < first<apply_proposal>(es));
  // A txn we hold already is not logged twice.
  CHECK(h.on(q::proposal{z(1, 3), "old"}).empty());
  h.on(q::proposal{z(1, 5), "b"});
  es = h.on(q::commit{z(1, 5)});
  REQUIRE(of<apply_commit>(es).size() == 1);
  CHECK(of<apply_commit>(es)[0].zxid == z(1, 5));
  // A commit beyond what we hold applies what we hold.
  es = h.on(q::commit{z(1, 9)});
  CHECK(of<apply_commit>(es)[0].zxid == z(1, 5));
  CHECK(h.l.last_logged() == z(1, 5));
  // Nothing is acked during the sync but NEWLEADER.
  h.l.durable(z(1, 5));
  CHECK(sent<q::ack>(h.take()).empty());
}

TEST_CASE("NEWLEADER: the epoch becomes current once the DIFF is durable, "
          "then ACK") {
  // Found by tests/sim: a current epoch on disk ahead of the log lets a
  // node with a shorter history win the next election.
  harness h{settings(), history(1, 1, z(1, 3), {z(1, 3)})};
  h.discover(2);
  h.on(q::diff{z(1, 5)});
  h.on(q::proposal{z(1, 4), "a"});
  h.on(q::proposal{z(1, 5), "b"});
  h.on(q::commit{z(1, 5)});
  auto es = h.on(q::new_leader{z(2, 0)});
  CHECK(of<persist_current_epoch>(es).empty());
  CHECK(sent<q::ack>(es).empty());
  // A proposal after NEWLEADER does not hold the ack back.
  h.on(q::proposal{z(2, 1), "c"});
  h.l.durable(z(1, 4));
  CHECK(h.take().empty());
  h.l.durable(z(1, 5));
  es = h.take();
  REQUIRE(of<persist_current_epoch>(es).size() == 1);
  CHECK(of<persist_current_epoch>(es)[0].epoch == 2);
  auto acks = sent<q::ack>(es);
  REQUIRE(acks.size() == 1);
  CHECK(acks[0].zxid == z(2, 0));
  CHECK(first<persist_current_epoch>(es) < first_sent<q::ack>(es));
  // UPTODATE: serving; the proposal after NEWLEADER is acked once durable.
  es = h.on(q::up_to_date{2});
  REQUIRE(of<serving>(es).size() == 1);
  CHECK(of<serving>(es)[0].epoch == 2);
  CHECK(sent<q::ack>(es).empty());
  CHECK(h.l.is_serving());
  h.l.durable(z(2, 1));
  acks = sent<q::ack>(h.take());
  REQUIRE(acks.size() == 1);
  CHECK(acks[0].zxid == z(2, 1));
}

TEST_CASE("NEWLEADER with everything durable is acked at once") {
  harness h{settings(), history(1, 1, z(1, 3), {z(1, 3)})};
  h.discover(2);
  h.on(q::diff{z(1, 3)});
  auto es = h.on(q::new_leader{z(2, 0)});
  CHECK(of<persist_current_epoch>(es).size() == 1);
  CHECK(sent<q::ack>(es).size() == 1);
}

TEST_CASE("TRUNC and SNAP rewrite the files and rejoin") {
  SECTION("TRUNC") {
    harness h{settings(), history(1, 1, z(1, 7), {z(1, 7)})};
    h.discover(2);
    auto es = h.on(q::trunc{z(1, 5)});
    REQUIRE(of<truncate_log>(es).size() == 1);
    CHECK(of<truncate_log>(es)[0].zxid == z(1, 5));
    auto over = of<role_over>(es);
    REQUIRE(over.size() == 1);
    CHECK(over[0].rejoin);
    CHECK(first<truncate_log>(es) < first<role_over>(es));
    CHECK(h.l.is_over());
  }
  SECTION("SNAP in chunks") {
    harness h{settings(), history(1, 1, z(1, 2), {z(1, 2)})};
    h.discover(2);
    CHECK(h.on(q::snap{z(1, 9), 6}).empty());
    // Each chunk is acked: the leader keeps a window of them in flight.
    auto es = h.on(q::snap_chunk{0, "abc", false});
    REQUIRE(sent<q::snap_chunk_ack>(es).size() == 1);
    CHECK(sent<q::snap_chunk_ack>(es)[0].seq == 0);
    CHECK(of<install_snapshot>(es).empty());
    es = h.on(q::snap_chunk{1, "def", true});
    REQUIRE(sent<q::snap_chunk_ack>(es).size() == 1);
    CHECK(sent<q::snap_chunk_ack>(es)[0].seq == 1);
    auto inst = of<install_snapshot>(es);
    REQUIRE(inst.size() == 1);
    CHECK(inst[0].zxid == z(1, 9));
    CHECK(inst[0].bytes == "abcdef");
    REQUIRE(of<role_over>(es).size() == 1);
    CHECK(of<role_over>(es)[0].rejoin);
  }
  SECTION("a chunk out of order ends the role without a rejoin") {
    harness h{settings(), history(1, 1, z(1, 2), {z(1, 2)})};
    h.discover(2);
    h.on(q::snap{z(1, 9), 6});
    auto es = h.on(q::snap_chunk{1, "def", true});
    CHECK(of<install_snapshot>(es).empty());
    REQUIRE(of<role_over>(es).size() == 1);
    CHECK(!of<role_over>(es)[0].rejoin);
  }
  SECTION("TRUNC is only a sync answer") {
    harness h{settings(), history(1, 1, z(1, 2), {z(1, 2)})};
    h.sync(2, {}, 0);
    CHECK(h.on(q::trunc{z(1, 1)}).empty());
    CHECK(h.l.is_serving());
  }
}

TEST_CASE("broadcast: log, ack when durable, apply commits") {
  harness h{settings(), history(1, 1, z(1, 1), {z(1, 1)})};
  h.sync(2, {}, 0);
  auto es = h.on(q::proposal{z(2, 1), "a"});
  CHECK(of<log_txn>(es).size() == 1);
  CHECK(sent<q::ack>(es).empty()); // not durable yet
  h.on(q::proposal{z(2, 2), "b"});
  h.l.durable(z(2, 2));
  auto acks = sent<q::ack>(h.take());
  REQUIRE(acks.size() == 1); // one cumulative ack
  CHECK(acks[0].zxid == z(2, 2));
  h.l.durable(z(2, 2));
  CHECK(h.take().empty()); // no repeated ack
  es = h.on(q::commit{z(2, 2)});
  CHECK(of<apply_commit>(es)[0].zxid == z(2, 2));
  es = h.on(q::reply{5, 6, "frame"});
  REQUIRE(of<deliver_reply>(es).size() == 1);
  CHECK(of<deliver_reply>(es)[0].r.cxid == 6);
}

TEST_CASE("an observer logs and applies INFORMs and never acks") {
  harness h{settings(true), history(1, 1, z(1, 1), {z(1, 1)})};
  h.discover(2);
  h.on(q::diff{z(1, 3)});
  auto es = h.on(q::inform{z(1, 2), "a"});
  CHECK(of<log_txn>(es).size() == 1);
  CHECK(of<apply_commit>(es)[0].zxid == z(1, 2));
  h.on(q::inform{z(1, 3), "b"});
  h.on(q::new_leader{z(2, 0)});
  h.l.durable(z(1, 3));
  CHECK(sent<q::ack>(h.take()).size() == 1); // the NEWLEADER ack only
  h.on(q::up_to_date{2});
  es = h.on(q::inform{z(2, 1), "c"});
  CHECK(of<log_txn>(es).size() == 1);
  CHECK(of<apply_commit>(es).size() == 1);
  CHECK(h.on(q::inform{z(2, 1), "c"}).empty()); // held already
  h.l.durable(z(2, 1));
  CHECK(sent<q::ack>(h.take()).empty());
}

TEST_CASE("liveness") {
  SECTION("pings are answered with the touched sessions") {
    harness h{settings(), history(0, 0, 0, {})};
    h.sync(1, {}, 0);
    h.l.touched({{0x10, 4000}, {0x11, 6000}});
    h.l.touched({{0x10, 5000}});
    auto pings = sent<q::ping>(h.on(q::ping{z(1, 0), {}}));
    REQUIRE(pings.size() == 1);
    REQUIRE(pings[0].sessions.size() == 2);
    CHECK(pings[0].sessions[0].timeout_ms == 5000);
    CHECK(sent<q::ping>(h.on(q::ping{z(1, 0), {}}))[0].sessions.empty());
  }
  SECTION("no sync within init_limit") {
    harness h{settings(), history(0, 0, 0, {})};
    h.discover(1);
    h.l.tick(h.now + 1000);
    CHECK(h.take().empty());
    h.l.tick(h.now + 1001);
    CHECK(of<role_over>(h.take()).size() == 1);
  }
  SECTION("a silent leader after the sync") {
    harness h{settings(), history(0, 0, 0, {})};
    h.sync(1, {}, 0);
    h.l.on(h.now + 400, q::ping{0, {}});
    h.take();
    h.l.tick(h.now + 900);
    CHECK(h.take().empty());
    h.l.tick(h.now + 901);
    auto over = of<role_over>(h.take());
    REQUIRE(over.size() == 1);
    CHECK(!over[0].rejoin);
  }
  SECTION("losing the connection ends the role once") {
    harness h{settings(), history(0, 0, 0, {})};
    h.sync(1, {}, 0);
    h.l.leader_lost("reset");
    h.l.leader_lost("again");
    CHECK(of<role_over>(h.take()).size() == 1);
    CHECK(h.on(q::proposal{z(1, 1), "late"}).empty());
  }
}
