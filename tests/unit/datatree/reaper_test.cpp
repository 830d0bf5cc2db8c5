// Container and TTL reaping (ZooKeeper's ContainerManager) with the clock
// passed in: which nodes are due, and that the deletions go through the
// write path as deleteContainer txns that fire watches.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "actors/datatree/reaper.hpp"
#include "actors/datatree/state_machine.hpp"
#include "harness.hpp"

using namespace zkd;
using namespace zkd::datatree;
using namespace zkd::datatree::test;
using E = wire::err;

namespace {

constexpr int64_t t0 = 1700000000000;
constexpr int64_t session = 0x11;

wire::request ttl_rq(std::string path, int32_t flags, int64_t ttl) {
  wire::request rq;
  rq.hdr.type = op::create_ttl;
  rq.body =
      wire::create_ttl_request{std::move(path), "", open_acl(), flags, ttl};
  return rq;
}

struct fixture {
  state_machine sm{std::make_unique<tree>(), [] {
                     prep_options o;
                     o.extended_types = true;
                     return o;
                   }()};
  int32_t xid = 0;

  fixture() {
    sm.lead(1);
    REQUIRE(sm.session_write({session, op::create_session, 30000}, t0) ==
            E::ok);
    commit_all();
  }

  state_machine::output commit_all() {
    sm.commit(sm.next_zxid() - 1);
    sm.check_invariants();
    return sm.take_output();
  }

  // One client write, committed; the error its reply carries is not looked
  // at here, the tree is.
  void write(wire::request rq, int64_t now) {
    rq.hdr.xid = ++xid;
    auto before = sm.next_zxid();
    sm.requests(session, {std::move(rq)}, now);
    REQUIRE(sm.next_zxid() == before + 1);
    commit_all();
  }

  bool exists(const std::string& path) {
    return sm.data().exists(path).err == E::ok;
  }

  // Runs the reaper and commits what it proposed.
  state_machine::output reap(int64_t now, size_t limit = 100) {
    auto n = sm.reap(now, limit);
    sm.check_invariants();
    auto proposed = sm.take_output();
    REQUIRE(proposed.proposals.entries.size() == n);
    for (auto& e : proposed.proposals.entries) {
      txn::record r;
      REQUIRE(txn::decode(e.payload, r));
      CHECK(r.hdr.type == op::delete_container);
      CHECK(r.hdr.session_id == 0);
    }
    // No reply: nobody asked.
    CHECK(proposed.dispatch.items.empty());
    return commit_all();
  }
};

} // namespace

TEST_CASE("a container is reaped once its last child is gone",
          "[reaper][container]") {
  fixture f;
  f.write(create_rq("/c", "", 0, op::create_container), t0);
  // Never had a child: kept (ZooKeeper's cversion > 0 rule).
  CHECK(reap_candidates(f.sm.data(), t0 + 1'000'000).empty());
  f.reap(t0 + 1'000'000);
  CHECK(f.exists("/c"));
  // ... unless maxNeverUsedIntervalMs says otherwise.
  CHECK(reap_candidates(f.sm.data(), t0 + 1001, {1000}) ==
        std::vector<std::string>{"/c"});
  CHECK(reap_candidates(f.sm.data(), t0 + 999, {1000}).empty());

  f.write(create_rq("/c/child"), t0);
  CHECK(reap_candidates(f.sm.data(), t0).empty()); // has a child
  f.write(delete_rq("/c/child"), t0);
  CHECK(reap_candidates(f.sm.data(), t0) == std::vector<std::string>{"/c"});
  auto out = f.reap(t0);
  CHECK_FALSE(f.exists("/c"));
  // The deletion fires watches like a client's delete: a NodeDeleted
  // trigger for the container and NodeChildrenChanged for "/".
  bool deleted = false;
  bool parent_changed = false;
  for (auto& i : out.dispatch.items) {
    if (i.kind != local::dispatch_item::trigger)
      continue;
    deleted |= i.path == "/c" &&
               i.type == static_cast<int32_t>(wire::event_type::node_deleted);
    parent_changed |=
        i.path == "/" &&
        i.type == static_cast<int32_t>(wire::event_type::node_children_changed);
  }
  CHECK(deleted);
  CHECK(parent_changed);
  // Nothing left to do.
  CHECK(f.sm.reap(t0, 100) == 0);
}

TEST_CASE("a TTL node is reaped after its TTL when unmodified and childless",
          "[reaper][ttl]") {
  fixture f;
  f.write(ttl_rq("/t", 5, 1000), t0);  // persistent with TTL
  f.write(ttl_rq("/s-", 6, 1000), t0); // persistent sequential with TTL
  f.write(create_rq("/plain"), t0);    // never reaped
  f.write(create_rq("/e", "", 1), t0); // ephemeral: never reaped
  CHECK(reap_candidates(f.sm.data(), t0 + 1000).empty()); // not yet over
  // Modifying a TTL node restarts its clock (mtime).
  f.write(set_rq("/t", "x"), t0 + 900);
  CHECK(reap_candidates(f.sm.data(), t0 + 1001) ==
        std::vector<std::string>{"/s-0000000001"});
  // A child keeps it alive.
  f.write(create_rq("/t/kid"), t0 + 950);
  CHECK(reap_candidates(f.sm.data(), t0 + 5000) ==
        std::vector<std::string>{"/s-0000000001"});
  f.write(delete_rq("/t/kid"), t0 + 960);
  CHECK(reap_candidates(f.sm.data(), t0 + 5000) ==
        (std::vector<std::string>{"/s-0000000001", "/t"}));
  f.reap(t0 + 5000);
  CHECK_FALSE(f.exists("/t"));
  CHECK_FALSE(f.exists("/s-0000000001"));
  CHECK(f.exists("/plain"));
  CHECK(f.exists("/e"));
  CHECK(f.sm.data().ttls().empty());
}

TEST_CASE("reaping is limited per run and refused by in-flight changes",
          "[reaper]") {
  fixture f;
  for (int i = 0; i < 5; ++i) {
    auto p = "/c" + std::to_string(i);
    f.write(create_rq(p, "", 0, op::create_container), t0);
    f.write(create_rq(p + "/k"), t0);
    f.write(delete_rq(p + "/k"), t0);
  }
  CHECK(reap_candidates(f.sm.data(), t0).size() == 5);
  f.reap(t0, 2);
  CHECK(reap_candidates(f.sm.data(), t0).size() == 3);

  // A child created but not yet committed: prep sees it and refuses.
  wire::request rq = create_rq("/c2/new");
  rq.hdr.xid = ++f.xid;
  f.sm.requests(session, {rq}, t0);
  auto n = f.sm.reap(t0, 100);
  CHECK(n == 2); // /c3 and /c4, not /c2
  CHECK(f.sm.take_output().proposals.entries.size() == 3);
  f.commit_all();
  CHECK(f.exists("/c2"));
  CHECK(f.exists("/c2/new"));
  CHECK_FALSE(f.exists("/c3"));
  CHECK_FALSE(f.exists("/c4"));

  // Not leading: nothing.
  state_machine follower{std::make_unique<tree>()};
  CHECK(follower.reap(t0, 100) == 0);
}
