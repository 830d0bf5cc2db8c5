// Fast Leader Election core: scenarios on a small simulated network (one
// thread, a fake clock, seeded delays, drops and duplicates), with the
// core's invariants checked after every step.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <vector>

#include "actors/election/election.hpp"

using namespace zkd::election;
using zkd::quorum::beats;
using zkd::quorum::make_zxid;

namespace {

struct sim {
  struct msg {
    int64_t at;
    uint64_t seq;
    server_id from;
    server_id to;
    notification n;
  };
  struct sent_msg {
    int64_t at;
    server_id from;
    server_id to;
    notification n;
  };

  std::map<server_id, core> nodes;
  std::map<server_id, local_state> data;
  std::set<server_id> up;
  std::vector<msg> queue;
  std::vector<sent_msg> sent;
  std::map<server_id, outcome> decided;
  int64_t now = 0;
  uint64_t seq = 0;
  std::mt19937_64 rng{1};
  int64_t min_delay_ms = 0;
  int64_t max_delay_ms = 0;
  double drop = 0;
  double dup = 0;

  settings make_settings(server_id self, std::vector<server_id> participants,
                         int64_t finalize_ms = 200) {
    settings s;
    s.self = self;
    s.participants = std::move(participants);
    s.finalize_wait_ms = finalize_ms;
    s.min_notification_interval_ms = 200;
    s.max_notification_interval_ms = 1600;
    return s;
  }

  void add(server_id id, const settings& s, local_state d = {}) {
    nodes.emplace(id, core{s});
    data[id] = d;
  }

  core& node(server_id id) { return nodes.at(id); }

  // A process starts (or a node looks again). A newly started process's
  // links come up: the others hear of it as the shell calls connected().
  void start(server_id id) {
    bool was_up = up.count(id) > 0;
    up.insert(id);
    decided.erase(id);
    node(id).start_round(now, data[id]);
    pump(id);
    if (was_up)
      return;
    for (auto other : up)
      if (other != id) {
        node(other).connected(now, id);
        pump(other);
      }
  }

  // The process dies: its core is gone, messages to it are lost.
  void crash(server_id id) {
    up.erase(id);
    decided.erase(id);
    auto s = node(id).config();
    nodes.erase(id);
    nodes.emplace(id, core{s});
  }

  bool chance(double p) {
    return p > 0 && std::uniform_real_distribution<double>{0, 1}(rng) < p;
  }

  int64_t delay() {
    if (max_delay_ms <= min_delay_ms)
      return min_delay_ms;
    return std::uniform_int_distribution<int64_t>{min_delay_ms,
                                                  max_delay_ms}(rng);
  }

  void pump(server_id id) {
    auto& c = node(id);
    c.check_invariants();
    auto out = c.take_output();
    for (auto& a : out.send) {
      REQUIRE(a.to != id);
      REQUIRE(a.n.sender == id);
      sent.push_back({now, id, a.to, a.n});
      if (up.count(a.to) == 0 || chance(drop))
        continue;
      queue.push_back({now + delay(), seq++, id, a.to, a.n});
      if (chance(dup))
        queue.push_back({now + delay(), seq++, id, a.to, a.n});
    }
    if (out.decided) {
      REQUIRE(out.decided->state != peer_state::looking);
      decided[id] = *out.decided;
    }
  }

  std::vector<msg>::iterator earliest() {
    return std::min_element(
        queue.begin(), queue.end(), [](const msg& x, const msg& y) {
          return std::tie(x.at, x.seq) < std::tie(y.at, y.seq);
        });
  }

  bool deliver_next() {
    if (queue.empty())
      return false;
    auto i = earliest();
    auto m = *i;
    queue.erase(i);
    now = std::max(now, m.at);
    if (up.count(m.to) > 0) {
      node(m.to).receive(now, m.n);
      pump(m.to);
    }
    return true;
  }

  void deliver_all() {
    while (deliver_next()) {
    }
  }

  std::optional<int64_t> next_deadline() {
    std::optional<int64_t> at;
    for (auto id : up)
      if (auto d = node(id).next_deadline_ms(); d && (!at || *d < *at))
        at = d;
    return at;
  }

  // Delivers the next message or, if a deadline comes first, moves the
  // clock there and ticks every node. False when nothing is left to do.
  bool step() {
    auto dl = next_deadline();
    if (!queue.empty() && (!dl || earliest()->at <= *dl))
      return deliver_next();
    if (!dl)
      return false;
    now = std::max(now, *dl);
    for (auto id : up) {
      node(id).tick(now);
      pump(id);
    }
    return true;
  }

  // Runs until pred() holds; fails after `limit` steps.
  template <class Pred>
  void run_until(Pred pred, int limit = 100000) {
    for (int i = 0; i < limit && !pred(); ++i)
      if (!step())
        break;
    REQUIRE(pred());
  }

  void run_until_time(int64_t t) {
    while (true) {
      auto dl = next_deadline();
      bool msg_due = !queue.empty() && earliest()->at <= t;
      if (msg_due && (!dl || earliest()->at <= *dl)) {
        deliver_next();
        continue;
      }
      if (dl && *dl <= t) {
        step();
        continue;
      }
      break;
    }
    now = std::max(now, t);
  }

  bool all_decided() const {
    for (auto id : up)
      if (decided.count(id) == 0)
        return false;
    return true;
  }

  // Every participant's initial vote, the best of which should win.
  server_id best_of(const std::vector<server_id>& ids) {
    std::optional<vote> best;
    for (auto id : ids) {
      vote v{id, data[id].last_zxid, 0, data[id].current_epoch};
      if (!best || beats(v, *best))
        best = v;
    }
    return best->leader;
  }
};

std::vector<server_id> ids(std::initializer_list<server_id> xs) {
  return xs;
}

} // namespace

TEST_CASE("votes order by peer epoch, then zxid, then server id") {
  vote a{1, make_zxid(1, 9), 5, 1};
  vote b{2, make_zxid(1, 9), 1, 1};
  CHECK(beats(b, a)); // tie on epoch and zxid: higher id
  CHECK_FALSE(beats(a, b));
  vote c{1, make_zxid(1, 10), 1, 1};
  CHECK(beats(c, b)); // higher zxid beats higher id
  vote d{1, make_zxid(1, 2), 1, 2};
  CHECK(beats(d, c)); // higher peer epoch beats higher zxid
  vote e = d;
  e.election_epoch = 99;
  CHECK_FALSE(beats(e, d)); // the round does not order candidates
  CHECK_FALSE(beats(d, e));
}

TEST_CASE("a single participant leads at once") {
  sim s;
  s.add(1, s.make_settings(1, {1}), {make_zxid(3, 4), 3});
  s.start(1);
  REQUIRE(s.decided.count(1) == 1);
  CHECK(s.decided[1].state == peer_state::leading);
  CHECK(s.decided[1].v.leader == 1);
  CHECK(s.decided[1].v.zxid == make_zxid(3, 4));
  CHECK(s.decided[1].v.peer_epoch == 3);
  CHECK(s.decided[1].v.election_epoch == 1);
  CHECK_FALSE(s.node(1).next_deadline_ms());
  CHECK(s.sent.empty());
}

TEST_CASE("three fresh nodes elect the highest id without waiting") {
  sim s;
  for (server_id id : {1, 2, 3})
    s.add(id, s.make_settings(id, {1, 2, 3}));
  for (server_id id : {1, 2, 3})
    s.start(id);
  s.deliver_all();
  REQUIRE(s.all_decided());
  CHECK(s.decided[3].state == peer_state::leading);
  CHECK(s.decided[1].state == peer_state::following);
  CHECK(s.decided[2].state == peer_state::following);
  for (server_id id : {1, 2, 3})
    CHECK(s.decided[id].v.leader == 3);
  // Every vote was in: nobody waited for the finalize wait.
  CHECK(s.now == 0);
}

TEST_CASE("the highest zxid wins over a higher id, ties go to the id") {
  sim s;
  for (server_id id : {1, 2, 3})
    s.add(id, s.make_settings(id, {1, 2, 3}));
  SECTION("zxid") {
    s.data[1] = {make_zxid(1, 7), 1};
    s.data[2] = {make_zxid(1, 9), 1};
    s.data[3] = {make_zxid(1, 8), 1};
    for (server_id id : {3, 1, 2})
      s.start(id);
    s.deliver_all();
    REQUIRE(s.all_decided());
    CHECK(s.decided[2].state == peer_state::leading);
    CHECK(s.decided[1].v.leader == 2);
    CHECK(s.decided[3].v.leader == 2);
    CHECK(s.decided[3].v.zxid == make_zxid(1, 9));
  }
  SECTION("tie") {
    s.data[1] = {make_zxid(1, 9), 1};
    s.data[2] = {make_zxid(1, 9), 1};
    s.data[3] = {make_zxid(1, 8), 1};
    for (server_id id : {1, 2, 3})
      s.start(id);
    s.deliver_all();
    REQUIRE(s.all_decided());
    CHECK(s.decided[2].state == peer_state::leading);
    CHECK(s.decided[3].v.leader == 2);
  }
  SECTION("peer epoch") {
    s.data[1] = {make_zxid(2, 1), 2};
    s.data[2] = {make_zxid(1, 50), 1};
    s.data[3] = {make_zxid(1, 60), 1};
    for (server_id id : {1, 2, 3})
      s.start(id);
    s.deliver_all();
    REQUIRE(s.all_decided());
    CHECK(s.decided[1].state == peer_state::leading);
    CHECK(s.decided[3].v.leader == 1);
  }
}

TEST_CASE("a bare quorum decides after the finalize wait") {
  sim s;
  for (server_id id : {1, 2, 3})
    s.add(id, s.make_settings(id, {1, 2, 3}));
  s.data[3] = {make_zxid(1, 100), 1}; // the best, but down
  s.start(1);
  s.start(2);
  s.deliver_all();
  CHECK(s.decided.empty());
  CHECK(s.node(1).next_deadline_ms() == std::optional<int64_t>{200});
  s.run_until_time(199);
  CHECK(s.decided.empty());
  s.run_until_time(200);
  REQUIRE(s.all_decided());
  CHECK(s.decided[2].state == peer_state::leading);
  CHECK(s.decided[1].state == peer_state::following);
  CHECK(s.decided[1].v.leader == 2);
}

TEST_CASE("a better vote during the finalize wait wins") {
  sim s;
  for (server_id id : {1, 2, 3})
    s.add(id, s.make_settings(id, {1, 2, 3}));
  s.data[3] = {make_zxid(1, 100), 1};
  s.start(1);
  s.start(2);
  s.deliver_all();
  s.run_until_time(150);
  CHECK(s.decided.empty());
  s.start(3); // in time: 50 ms before the wait ends
  s.deliver_all();
  REQUIRE(s.all_decided());
  CHECK(s.now == 150); // all three votes in: no second wait
  for (server_id id : {1, 2, 3})
    CHECK(s.decided[id].v.leader == 3);
  CHECK(s.decided[3].state == peer_state::leading);
}

TEST_CASE("the finalize wait is configurable") {
  sim s;
  for (server_id id : {1, 2, 3})
    s.add(id, s.make_settings(id, {1, 2, 3}, 0));
  s.start(1);
  s.start(2);
  s.deliver_all();
  REQUIRE(s.all_decided());
  CHECK(s.now == 0);
  CHECK(s.decided[2].state == peer_state::leading);
}

TEST_CASE("a node that joins a settled ensemble follows its leader") {
  sim s;
  for (server_id id : {1, 2, 3})
    s.add(id, s.make_settings(id, {1, 2, 3}));
  s.start(1);
  s.start(2);
  s.deliver_all();
  s.run_until_time(200);
  REQUIRE(s.decided[2].state == peer_state::leading);
  // 3 holds more than the leader: it still follows (ZooKeeper does too;
  // the leader's sync truncates what was never committed).
  s.data[3] = {make_zxid(1, 100), 1};
  SECTION("in the same round") {
    s.start(3);
  }
  SECTION("from another round (out of election)") {
    // 3 ran rounds of its own before: its clock is ahead.
    s.node(3).start_round(s.now, s.data[3]);
    (void)s.node(3).take_output();
    s.node(3).start_round(s.now, s.data[3]);
    (void)s.node(3).take_output();
    s.start(3);
    REQUIRE(s.node(3).logical_clock() == 3);
  }
  s.deliver_all();
  REQUIRE(s.decided.count(3) == 1);
  CHECK(s.decided[3].state == peer_state::following);
  CHECK(s.decided[3].v.leader == 2);
  CHECK(s.node(3).logical_clock() == 1);
  // Nobody else moved.
  CHECK(s.node(1).state() == peer_state::following);
  CHECK(s.node(2).state() == peer_state::leading);
}

TEST_CASE("a quorum naming a leader that does not say LEADING is not "
          "followed") {
  sim s;
  auto all = ids({1, 2, 3, 4, 5});
  for (auto id : all)
    s.add(id, s.make_settings(id, all));
  for (auto id : all)
    s.start(id);
  s.deliver_all();
  REQUIRE(s.decided[5].state == peer_state::leading);
  s.crash(5);
  // 1 notices first; 2, 3, 4 still follow 5 and say so.
  s.start(1);
  s.deliver_all();
  CHECK(s.decided.count(1) == 0);
  CHECK(s.node(1).looking());
  // Once 2 and 3 notice too, 1, 2 and 3 elect the best of them; 4 learns
  // the new leader when it notices.
  s.start(2);
  s.start(3);
  s.deliver_all();
  s.run_until([&] {
    return s.decided.count(1) && s.decided.count(2) && s.decided.count(3);
  });
  CHECK(s.decided[3].state == peer_state::leading);
  CHECK(s.decided[1].v.leader == 3);
  s.start(4);
  s.run_until([&] { return s.decided.count(4) == 1; });
  CHECK(s.decided[4].v.leader == 3);
  CHECK(s.decided[4].state == peer_state::following);
}

TEST_CASE("observers never vote and learn the leader") {
  sim s;
  auto voters = ids({1, 2, 3});
  for (auto id : voters)
    s.add(id, s.make_settings(id, voters));
  s.add(4, s.make_settings(4, voters));
  // The observer holds the most data: it must not matter.
  s.data[4] = {make_zxid(9, 9), 9};
  s.data[1] = {make_zxid(1, 5), 1};
  SECTION("starting with the others") {
    for (server_id id : {4, 1, 2, 3})
      s.start(id);
    s.deliver_all();
  }
  SECTION("joining later") {
    for (server_id id : {1, 2, 3})
      s.start(id);
    s.deliver_all();
    REQUIRE(s.decided.size() == 3);
    s.start(4);
    s.deliver_all();
  }
  REQUIRE(s.all_decided());
  CHECK(s.decided[1].state == peer_state::leading);
  CHECK(s.decided[4].state == peer_state::observing);
  CHECK(s.decided[4].v.leader == 1);
  for (server_id id : {2, 3})
    CHECK(s.decided[id].v.leader == 1);
  // Participants never notify the observer first: one answer per
  // notification it sent, plus the outcome once to an observer that asked.
  for (server_id p : {1, 2, 3}) {
    auto asked = std::count_if(s.sent.begin(), s.sent.end(), [&](auto& m) {
      return m.from == 4 && m.to == p;
    });
    auto told = std::count_if(s.sent.begin(), s.sent.end(), [&](auto& m) {
      return m.from == p && m.to == 4;
    });
    CHECK(asked > 0);
    CHECK(told <= asked + 1);
  }
  // And the observer only talks to participants.
  for (auto& m : s.sent)
    if (m.from == 4)
      CHECK((m.to >= 1 && m.to <= 3));
}

TEST_CASE("a notification from a non-participant is answered, not counted") {
  sim s;
  s.add(1, s.make_settings(1, {1, 2, 3}));
  s.start(1);
  s.sent.clear();
  // 9 is no member: its vote for itself must not count, even twice.
  notification n{9, peer_state::looking, vote{9, make_zxid(5, 5), 1, 5}};
  s.node(1).receive(0, n);
  s.pump(1);
  REQUIRE(s.sent.size() == 1);
  CHECK(s.sent[0].to == 9);
  CHECK(s.sent[0].n.v.leader == 1);
  CHECK(s.node(1).current_vote()->leader == 1);
  // A participant's vote for a non-participant is void.
  notification m{2, peer_state::looking, vote{9, make_zxid(5, 5), 1, 5}};
  s.node(1).receive(0, m);
  s.pump(1);
  CHECK(s.node(1).current_vote()->leader == 1);
  CHECK(s.decided.empty());
}

TEST_CASE("a later round pulls a node in, an earlier one gets our vote") {
  sim s;
  s.add(1, s.make_settings(1, {1, 2, 3}));
  s.data[1] = {make_zxid(1, 5), 1};
  s.start(1);
  s.sent.clear();
  // 2 is in round 7 and proposes 2 with less data: 1 joins round 7 and
  // keeps voting for itself.
  s.node(1).receive(0,
                    {2, peer_state::looking, vote{2, make_zxid(1, 3), 7, 1}});
  s.pump(1);
  CHECK(s.node(1).logical_clock() == 7);
  CHECK(s.node(1).current_vote()->leader == 1);
  CHECK(s.node(1).current_vote()->election_epoch == 7);
  REQUIRE(s.sent.size() == 2); // to 2 and 3
  s.sent.clear();
  // 3 is behind, in round 2: it is told our vote and nothing changes.
  s.node(1).receive(0,
                    {3, peer_state::looking, vote{3, make_zxid(1, 9), 2, 1}});
  s.pump(1);
  REQUIRE(s.sent.size() == 1);
  CHECK(s.sent[0].to == 3);
  CHECK(s.sent[0].n.v.election_epoch == 7);
  CHECK(s.node(1).current_vote()->leader == 1);
  // In round 7, 3's better vote is adopted. 1 and 3 are a quorum for it,
  // and with 2's vote in too, every participant has voted: 3's vote beats
  // all of them, nothing better can come, no finalize wait.
  s.node(1).receive(0,
                    {3, peer_state::looking, vote{3, make_zxid(1, 9), 7, 1}});
  s.pump(1);
  REQUIRE(s.decided.count(1) == 1);
  CHECK(s.decided[1].state == peer_state::following);
  CHECK(s.decided[1].v == vote{3, make_zxid(1, 9), 7, 1});
}

TEST_CASE("a quorum without every vote waits, the last vote ends it early") {
  sim s;
  s.add(1, s.make_settings(1, {1, 2, 3}));
  s.start(1);
  // 3 votes 3: a quorum (1 and 3), but 2 has not voted.
  s.node(1).receive(10, {3, peer_state::looking, vote{3, 0, 1, 0}});
  s.pump(1);
  CHECK(s.decided.empty());
  CHECK(s.node(1).next_deadline_ms() == std::optional<int64_t>{210});
  // 2's vote arrives and is no better: decided without waiting.
  s.node(1).receive(20, {2, peer_state::looking, vote{2, 0, 1, 0}});
  s.pump(1);
  REQUIRE(s.decided.count(1) == 1);
  CHECK(s.decided[1].v.leader == 3);
}

TEST_CASE("after a silence the vote is sent again with backoff") {
  sim s;
  // 1 holds more than 2 and 3: their votes change nothing.
  s.add(1, s.make_settings(1, {1, 2, 3}), {make_zxid(1, 1), 1});
  s.start(1);
  s.run_until_time(5000);
  std::vector<int64_t> times;
  for (auto& m : s.sent)
    if (m.to == 2)
      times.push_back(m.at);
  // 200 ms, doubling, capped at 1600 ms.
  CHECK(times == std::vector<int64_t>{0, 200, 600, 1400, 3000, 4600});
  // A notification resets the silence timer but not the interval.
  auto before = *s.node(1).next_deadline_ms();
  s.node(1).receive(4700, {2, peer_state::looking, vote{2, 0, 1, 0}});
  s.pump(1);
  CHECK(before == 6200);
  CHECK(s.node(1).next_deadline_ms() == std::optional<int64_t>{4700 + 1600});
}

TEST_CASE("connected() sends the vote while looking, nothing once settled") {
  sim s;
  for (server_id id : {1, 2, 3})
    s.add(id, s.make_settings(id, {1, 2, 3}));
  s.start(1);
  s.sent.clear();
  s.node(1).connected(10, 2);
  s.node(1).connected(10, 9); // not a participant
  s.pump(1);
  REQUIRE(s.sent.size() == 1);
  CHECK(s.sent[0].to == 2);
  CHECK(s.sent[0].n.state == peer_state::looking);
  s.start(2);
  s.start(3);
  s.deliver_all();
  REQUIRE(s.all_decided());
  s.sent.clear();
  s.node(1).connected(20, 2);
  s.pump(1);
  CHECK(s.sent.empty());
}

TEST_CASE("settled nodes report the established epoch to joiners") {
  sim s;
  for (server_id id : {1, 2, 3})
    s.add(id, s.make_settings(id, {1, 2, 3}));
  s.start(1);
  s.start(2);
  s.deliver_all();
  s.run_until_time(200);
  REQUIRE(s.decided[2].state == peer_state::leading);
  // The leader establishes epoch 1 (Zab discovery); only the leader has
  // learnt it yet, so a joiner sees two different (leader, epoch) pairs.
  s.node(2).set_peer_epoch(1);
  s.start(3);
  s.deliver_all();
  CHECK(s.decided.count(3) == 0);
  // Once the follower learns the epoch too, the joiner follows.
  s.node(1).set_peer_epoch(1);
  s.node(3).tick(s.now + 1000); // its silence timer
  s.pump(3);
  s.deliver_all();
  REQUIRE(s.decided.count(3) == 1);
  CHECK(s.decided[3].v.leader == 2);
  CHECK(s.decided[3].v.peer_epoch == 1);
}

TEST_CASE("randomized: delays below the finalize wait elect the best vote") {
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    CAPTURE(seed);
    sim s;
    s.rng.seed(seed);
    s.min_delay_ms = 1;
    s.max_delay_ms = 50;
    s.dup = 0.1;
    auto n = seed % 2 == 0 ? 5 : 3;
    std::vector<server_id> voters;
    for (server_id id = 1; id <= static_cast<server_id>(n); ++id)
      voters.push_back(id);
    std::uniform_int_distribution<uint32_t> small{0, 2};
    for (auto id : voters) {
      auto epoch = 1 + small(s.rng);
      s.add(id, s.make_settings(id, voters),
            {make_zxid(epoch - small(s.rng) % epoch, small(s.rng)), epoch});
    }
    server_id observer = 100;
    s.add(observer, s.make_settings(observer, voters), {make_zxid(9, 9), 9});
    auto order = voters;
    order.push_back(observer);
    std::shuffle(order.begin(), order.end(), s.rng);
    for (auto id : order)
      s.start(id);
    s.run_until([&] { return s.all_decided() && s.queue.empty(); });
    auto best = s.best_of(voters);
    for (auto id : voters) {
      CHECK(s.decided[id].v.leader == best);
      CHECK((s.decided[id].state == peer_state::leading) == (id == best));
    }
    CHECK(s.decided[observer].state == peer_state::observing);
    CHECK(s.decided[observer].v.leader == best);
  }
}

TEST_CASE("randomized: with drops and restarts the ensemble settles on one "
          "leader") {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    CAPTURE(seed);
    sim s;
    s.rng.seed(seed);
    s.min_delay_ms = 1;
    s.max_delay_ms = 400; // longer than the finalize wait, on purpose
    s.drop = 0.2;
    s.dup = 0.1;
    std::vector<server_id> voters{1, 2, 3, 4, 5};
    std::uniform_int_distribution<uint32_t> small{0, 3};
    for (auto id : voters)
      s.add(id, s.make_settings(id, voters), {make_zxid(1, small(s.rng)), 1});
    for (auto id : voters)
      s.start(id);
    // What the peer supervisor does: a follower whose leader is not
    // leading, or a leader without a quorum of followers, looks again (in
    // ZooKeeper: the connection to the leader fails, or the leader's
    // initLimit passes without a quorum).
    auto settled = [&] {
      if (!s.all_decided() || !s.queue.empty())
        return false;
      auto leader = s.decided.begin()->second.v.leader;
      for (auto& [id, o] : s.decided)
        if (o.v.leader != leader)
          return false;
      return s.decided[leader].state == peer_state::leading;
    };
    for (int round = 0; round < 50 && !settled(); ++round) {
      for (int i = 0; i < 20000 && !(s.all_decided() && s.queue.empty()); ++i)
        if (!s.step())
          break;
      if (settled())
        break;
      std::map<server_id, int> followers;
      for (auto& [id, o] : s.decided)
        ++followers[o.v.leader];
      std::vector<server_id> restart;
      for (auto& [id, o] : s.decided) {
        auto l = s.decided.find(o.v.leader);
        bool leader_ok = l != s.decided.end() &&
                         l->second.state == peer_state::leading &&
                         followers[o.v.leader] >= 3;
        if (!leader_ok)
          restart.push_back(id);
      }
      for (auto id : restart)
        s.start(id);
    }
    REQUIRE(settled());
  }
}
