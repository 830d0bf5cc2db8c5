// The election actor under CAF's test scheduler: several nodes in one actor
// system, "connected" through a fake middleman that hands out the local
// actor published on a port (or refuses, like a node that is down). Time
// only moves when the test fires the next timer, so every run is the same.
#ifdef ZKD_TEST_CAF

#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "actors/election/election_actor.hpp"

using namespace zkd::election;
using zkd::quorum::make_zxid;

namespace {

struct fake_net {
  std::map<uint16_t, caf::strong_actor_ptr> published;
  int refused = 0;
};

// Answers the two middleman requests the election actor makes.
caf::behavior fake_middleman(caf::event_based_actor*,
                             std::shared_ptr<fake_net> net) {
  return {
      [=](caf::publish_atom, uint16_t port, caf::strong_actor_ptr& whom,
          std::set<std::string>&, std::string&, bool) -> caf::result<uint16_t> {
        if (net->published.count(port) > 0)
          return caf::make_error(caf::sec::cannot_open_port);
        net->published[port] = whom;
        return port;
      },
      [=](caf::connect_atom, std::string&,
          uint16_t port) -> caf::result<caf::node_id, caf::strong_actor_ptr,
                                        std::set<std::string>> {
        auto i = net->published.find(port);
        if (i == net->published.end()) {
          ++net->refused;
          return caf::make_error(caf::sec::cannot_connect_to_node);
        }
        return {caf::node_id{}, i->second, std::set<std::string>{}};
      },
  };
}

struct reports {
  std::vector<elected> outcomes;
  std::vector<std::string> failures;
};

caf::behavior parent_probe(caf::event_based_actor*,
                           std::shared_ptr<reports> out) {
  return {
      [=](const elected& e) { out->outcomes.push_back(e); },
      [=](const election_failed& f) { out->failures.push_back(f.reason); },
  };
}

struct testing_config : caf::actor_system_config {
  testing_config() { set("scheduler.policy", caf::atom("testing")); }
};

uint16_t port_of(server_id id) {
  return static_cast<uint16_t>(4700 + id);
}

struct fixture {
  testing_config cfg;
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched =
      dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  std::shared_ptr<fake_net> net = std::make_shared<fake_net>();
  caf::actor mm = sys.spawn(fake_middleman, net);
  std::map<server_id, caf::actor> nodes;
  std::map<server_id, caf::actor> parents;
  std::map<server_id, std::shared_ptr<reports>> seen;
  std::vector<server_id> participants;
  std::vector<server_id> members;

  fixture(std::vector<server_id> voters, std::vector<server_id> all)
      : participants(std::move(voters)), members(std::move(all)) {}

  ~fixture() {
    for (auto& [id, n] : nodes)
      caf::anon_send_exit(n, caf::exit_reason::user_shutdown);
    for (auto& [id, p] : parents)
      caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(mm, caf::exit_reason::user_shutdown);
    net->published.clear();
    sched.run();
  }

  void spawn(server_id id) {
    actor_settings s;
    s.election.self = id;
    s.election.participants = participants;
    s.election.finalize_wait_ms = 200;
    s.election.min_notification_interval_ms = 200;
    s.election.max_notification_interval_ms = 2000;
    for (auto m : members)
      s.members.push_back(peer_address{m, "127.0.0.1", port_of(m)});
    seen[id] = std::make_shared<reports>();
    parents[id] = sys.spawn(parent_probe, seen[id]);
    nodes[id] = spawn_election(sys, s, parents[id], mm);
    sched.run();
  }

  void start(server_id id, int64_t last_zxid, uint64_t epoch) {
    caf::anon_send(nodes.at(id), start_election{last_zxid, epoch});
  }

  // The process dies: its actor stops and its port closes.
  void kill(server_id id) {
    caf::anon_send_exit(nodes.at(id), caf::exit_reason::kill);
    net->published.erase(port_of(id));
    nodes.erase(id);
    sched.run();
  }

  std::optional<elected> outcome(server_id id) {
    auto& o = seen.at(id)->outcomes;
    if (o.empty())
      return std::nullopt;
    return o.back();
  }

  template <class Pred>
  bool run_until(Pred pred, int max_timers = 2000) {
    sched.run();
    for (int i = 0; i < max_timers && !pred(); ++i) {
      if (!sched.trigger_timeout())
        break;
      sched.run();
    }
    return pred();
  }

  bool decided(std::initializer_list<server_id> ids, size_t rounds = 1) {
    for (auto id : ids)
      if (seen.at(id)->outcomes.size() < rounds)
        return false;
    return true;
  }

  election_status status(server_id id) {
    auto out = std::make_shared<election_status>();
    auto n = nodes.at(id);
    // Arguments passed, not captured: CAF 0.17 binds a null reference for
    // an actor spawned without any (UBSan reports it).
    sys.spawn(
        [](caf::event_based_actor* self, caf::actor n,
           std::shared_ptr<election_status> out) {
          self->request(n, caf::infinite, caf::get_atom::value)
              .then([=](election_status& s) { *out = s; });
        },
        n, out);
    sched.run();
    return *out;
  }
};

} // namespace

TEST_CASE("three nodes elect the highest zxid, a fourth learns the leader") {
  fixture f{{1, 2, 3, 4}, {1, 2, 3, 4}};
  for (server_id id : {1, 2, 3})
    f.spawn(id);
  f.start(1, make_zxid(1, 7), 1);
  f.start(2, make_zxid(1, 9), 1);
  f.start(3, make_zxid(1, 8), 1);
  // Four voters, three up: a quorum of three must agree, and the finalize
  // wait runs because 4 may still have a better vote.
  REQUIRE(f.run_until([&] { return f.decided({1, 2, 3}); }));
  CHECK(f.outcome(2)->state == peer_state::leading);
  CHECK(f.outcome(1)->state == peer_state::following);
  CHECK(f.outcome(3)->state == peer_state::following);
  for (server_id id : {1, 3})
    CHECK(f.outcome(id)->v.leader == 2);
  CHECK(f.outcome(1)->v.zxid == make_zxid(1, 9));
  CHECK(f.status(2).port == port_of(2));
  CHECK(f.status(1).links == std::vector<server_id>{2, 3});

  // 4 comes up later, with more data than the leader: it follows anyway.
  f.spawn(4);
  f.start(4, make_zxid(1, 20), 1);
  REQUIRE(f.run_until([&] { return f.decided({4}); }));
  CHECK(f.outcome(4)->state == peer_state::following);
  CHECK(f.outcome(4)->v.leader == 2);
  // Nobody else ran another round.
  for (server_id id : {1, 2, 3})
    CHECK(f.seen.at(id)->outcomes.size() == 1);
}

TEST_CASE("ties go to the highest id, an observer learns the leader") {
  fixture f{{1, 2, 3}, {1, 2, 3, 4}};
  for (server_id id : {1, 2, 3})
    f.spawn(id);
  for (server_id id : {1, 2, 3})
    f.start(id, make_zxid(2, 5), 2);
  REQUIRE(f.run_until([&] { return f.decided({1, 2, 3}); }));
  CHECK(f.outcome(3)->state == peer_state::leading);
  CHECK(f.outcome(1)->v.leader == 3);
  CHECK(f.outcome(2)->v.leader == 3);

  f.spawn(4);
  f.start(4, make_zxid(9, 9), 9); // an observer's data does not count
  REQUIRE(f.run_until([&] { return f.decided({4}); }));
  CHECK(f.outcome(4)->state == peer_state::observing);
  CHECK(f.outcome(4)->v.leader == 3);
  // Participants reach the observer only on the handle it spoke from.
  auto links = f.status(3).links;
  CHECK(std::count(links.begin(), links.end(), 4) == 1);
}

TEST_CASE("a peer that restarts is reconnected and rejoins") {
  fixture f{{1, 2, 3}, {1, 2, 3}};
  for (server_id id : {1, 2, 3})
    f.spawn(id);
  f.start(1, make_zxid(1, 1), 1);
  f.start(2, make_zxid(1, 2), 1);
  f.start(3, make_zxid(1, 3), 1);
  REQUIRE(f.run_until([&] { return f.decided({1, 2, 3}); }));
  REQUIRE(f.outcome(3)->state == peer_state::leading);

  // The leader dies. Its followers lose it and look again (the peer
  // supervisor does this when the leader goes away).
  f.kill(3);
  CHECK(f.status(1).links == std::vector<server_id>{2});
  f.start(1, make_zxid(1, 1), 1);
  f.start(2, make_zxid(1, 2), 1);
  REQUIRE(f.run_until([&] { return f.decided({1, 2}, 2); }));
  CHECK(f.outcome(2)->state == peer_state::leading);
  CHECK(f.outcome(1)->v.leader == 2);
  CHECK(f.net->refused > 0); // they kept trying to reach 3

  // 3 restarts on the same port and learns the new leader.
  f.spawn(3);
  f.start(3, make_zxid(1, 3), 1);
  REQUIRE(f.run_until([&] { return f.decided({3}); })); // a new parent
  CHECK(f.outcome(3)->state == peer_state::following);
  CHECK(f.outcome(3)->v.leader == 2);
  // The others' reconnect timers bring their links back.
  REQUIRE(f.run_until([&] {
    return f.status(1).links == std::vector<server_id>{2, 3} &&
           f.status(2).links == std::vector<server_id>{1, 3};
  }));
}

TEST_CASE("a port that cannot be published is reported") {
  fixture f{{1, 2, 3}, {1, 2, 3}};
  f.spawn(1);
  // A second node 1 on the same port: the fake middleman refuses it.
  auto out = std::make_shared<reports>();
  auto parent = f.sys.spawn(parent_probe, out);
  actor_settings s;
  s.election.self = 1;
  s.election.participants = {1, 2, 3};
  s.members = {{1, "127.0.0.1", port_of(1)}};
  auto dup = spawn_election(f.sys, s, parent, f.mm);
  f.sched.run();
  REQUIRE(out->failures.size() == 1);
  CHECK(out->failures[0].find("cannot publish") != std::string::npos);
  caf::anon_send_exit(parent, caf::exit_reason::user_shutdown);
  f.sched.run();
}

#endif // ZKD_TEST_CAF
