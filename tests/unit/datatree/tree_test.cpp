// tree: the fresh state, apply() against ZooKeeper's own DataTree, reads,
// triggers, sessions and the index under churn.
//
// "Oracle" values come from ZooKeeper 3.8.0's classes (zookeeper-3.8.0.jar:
// DataTree.processTxn, getTreeDigest, statNode) fed the same txns, and from a
// running ZooKeeper 3.8.0 (see reference/ for the scripts).
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <set>

#include "actors/datatree/tree.hpp"
#include "harness.hpp"

using namespace zkd;
using namespace zkd::datatree;
using namespace zkd::datatree::test;

namespace {

txn::record rec(int64_t session, int64_t zxid, int32_t type, txn::body b) {
  txn::record r;
  // Same header as the oracle program: cxid = zxid, time = 1000 + zxid.
  r.hdr =
      txn::header{session, static_cast<int32_t>(zxid), zxid, 1000 + zxid, type};
  r.b = std::move(b);
  return r;
}

wire::stat st(int64_t czxid, int64_t mzxid, int64_t ctime, int64_t mtime,
              int32_t version, int32_t cversion, int32_t aversion,
              int64_t owner, int32_t data_length, int32_t num_children,
              int64_t pzxid) {
  wire::stat s;
  s.czxid = czxid;
  s.mzxid = mzxid;
  s.ctime = ctime;
  s.mtime = mtime;
  s.version = version;
  s.cversion = cversion;
  s.aversion = aversion;
  s.ephemeral_owner = owner;
  s.data_length = data_length;
  s.num_children = num_children;
  s.pzxid = pzxid;
  return s;
}

const std::vector<wire::acl> read_only{
    wire::acl{wire::perm::read, wire::id{"world", "anyone"}}};

std::vector<trigger>
trig(std::vector<std::pair<std::string, wire::event_type>> v) {
  std::vector<trigger> out;
  for (auto& [p, t] : v)
    out.push_back(trigger{p, t, nullptr});
  return out;
}

constexpr auto created = wire::event_type::node_created;
constexpr auto deleted = wire::event_type::node_deleted;
constexpr auto changed = wire::event_type::node_data_changed;
constexpr auto children = wire::event_type::node_children_changed;

} // namespace

TEST_CASE("a fresh tree is a fresh ZooKeeper 3.8", "[tree]") {
  tree t;
  t.check_invariants();
  // Observed on ZooKeeper 3.8.0 (standalone, fresh data dir).
  auto root = t.get_data("/", {});
  REQUIRE(root.err == wire::err::ok);
  CHECK(root.data == std::string{}); // empty, not null
  CHECK(root.stat == st(0, 0, 0, 0, 0, -1, 0, 0, 0, 1, 0));
  CHECK(t.get_children("/", {}).children ==
        std::vector<std::string>{"zookeeper"});
  auto zk = t.get_children("/zookeeper", {});
  CHECK(zk.children == std::vector<std::string>{"config", "quota"});
  CHECK(zk.stat == st(0, 0, 0, 0, 0, -2, 0, 0, 0, 2, 0));
  CHECK(t.exists("/zookeeper/quota").stat ==
        st(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
  auto config = t.get_acl("/zookeeper/config", {});
  CHECK(config.stat == st(0, 0, 0, 0, 0, 0, -1, 0, 0, 0, 0));
  CHECK(config.acl == read_only);
  CHECK(t.get_acl("/", {}).acl == open_acl());
  CHECK(t.get_data("/zookeeper/config", {}).data == std::string{});
  CHECK(t.node_count() == 4);
  CHECK(t.approximate_data_size() == 44);
  CHECK(t.last_zxid() == 0);
  CHECK(t.ephemeral_count() == 0);
  // DataTree().getTreeDigest() of ZooKeeper 3.8.0.
  CHECK(t.digest() == 1371985504);
  CHECK(t.compute_digest() == t.digest());
}

TEST_CASE("apply matches ZooKeeper's DataTree txn by txn", "[tree][oracle]") {
  tree t;
  const auto& open = open_acl();
  struct step {
    txn::record r;
    wire::err err;
    int64_t digest;
    size_t zk_nodes; // ZooKeeper's count includes the "" alias of "/"
    int64_t size;
  };
  auto sub = [](auto&& x) {
    return txn::multi_op{0, std::forward<decltype(x)>(x)};
  };
  txn::multi good;
  good.ops = {sub(txn::create{"/m", std::string{}, open, false, 3}),
              sub(txn::set_data{"/m", std::string{"v"}, 1}),
              sub(txn::check_version{"/m", 2}),
              sub(txn::create{"/m/k", std::string{}, open, false, 1}),
              sub(txn::remove{"/m/k"})};
  good.ops[0].type = op::create;
  good.ops[1].type = op::set_data;
  good.ops[2].type = op::check;
  good.ops[3].type = op::create;
  good.ops[4].type = op::remove;
  txn::multi bad;
  bad.ops = {sub(txn::create{"/x", std::string{}, open, false, 4}),
             sub(txn::error{-101}), sub(txn::error{-2})};
  bad.ops[0].type = op::create;
  bad.ops[1].type = op::error;
  bad.ops[2].type = op::error;
  using E = wire::err;
  std::vector<step> steps = {
      {rec(0x55, 1, op::create,
           txn::create{"/a", std::string{"hello"}, open, false, 1}),
       E::ok, 5756716860, 6, 51},
      {rec(0x55, 2, op::create,
           txn::create{"/a/e", std::nullopt, open, true, 1}),
       E::ok, 6735115657, 7, 55},
      {rec(0x66, 3, op::create2,
           txn::create{"/a/s0000000001", std::string{}, read_only, false, 2}),
       E::ok, 10230521946, 8, 69},
      {rec(0x55, 4, op::set_data,
           txn::set_data{"/a", std::string{"world!"}, 1}),
       E::ok, 12285629979, 8, 70},
      {rec(0x55, 5, op::set_data, txn::set_data{"/", std::nullopt, 1}), E::ok,
       12374272128, 8, 70},
      {rec(0x55, 6, op::set_acl, txn::set_acl{"/a", read_only, 1}), E::ok,
       12525991101, 8, 70},
      {rec(0x55, 7, op::remove, txn::remove{"/a/s0000000001"}), E::ok,
       10289339154, 7, 56},
      {rec(0x55, 8, op::create_container,
           txn::create_container{"/c", std::string{"c"}, open, 2}),
       E::ok, 15079852937, 8, 59},
      {rec(0x55, 9, op::create,
           txn::create{"/zookeeper/x", std::string{"q"}, open, false, 1}),
       E::ok, 17206357229, 9, 72},
      {rec(0x55, 10, op::set_data,
           txn::set_data{"/zookeeper", std::string{"z"}, 1}),
       E::ok, 17876312063, 9, 73},
      // A create replayed onto an existing node fails but still moves the
      // parent's cversion and pzxid; a delete of a missing node still moves
      // the parent's pzxid.
      {rec(0x55, 11, op::create,
           txn::create{"/a/e", std::nullopt, open, true, 7}),
       E::node_exists, 15237719853, 9, 73},
      {rec(0x55, 12, op::remove, txn::remove{"/a/nothere"}), E::no_node,
       15576252154, 9, 73},
      {rec(0x77, 13, op::create_session, txn::create_session{5000}), E::ok,
       15576252154, 9, 73},
      {rec(0x77, 14, op::create,
           txn::create{"/a/f", std::string{"f"}, open, true, 8}),
       E::ok, 18939736966, 10, 78},
      {rec(0x55, 15, op::multi, good), E::ok, 18095899507, 11, 81},
      {rec(0x55, 16, op::multi, bad), E::no_node, 18095899507, 11, 81},
      {rec(0x55, 17, op::close_session, txn::close_session{{"/a/e"}}), E::ok,
       12849831791, 10, 77},
      // No list: the replica deletes what it has for the session.
      {rec(0x77, 18, op::close_session, txn::close_session{}), E::ok,
       10715273481, 9, 72},
      {rec(0x55, 19, op::error, txn::error{-110}), E::node_exists, 10715273481,
       9, 72},
      // A CreateTxnV0 (-1): the parent's cversion + 1.
      {rec(0x55, 20, op::create,
           txn::create{"/b", std::string{"b"}, open, false, -1}),
       E::ok, 13226141056, 10, 75},
  };
  for (auto& s : steps) {
    CAPTURE(s.r.hdr.zxid);
    auto res = t.apply(s.r);
    t.check_invariants();
    CHECK(res.err == s.err);
    CHECK(t.digest() == s.digest);
    CHECK(t.node_count() + 1 == s.zk_nodes);
    CHECK(t.approximate_data_size() == s.size);
    CHECK(t.last_zxid() == s.r.hdr.zxid);
  }
  // statNode() on ZooKeeper's tree after the same steps.
  CHECK(t.exists("/").stat == st(0, 5, 0, 1005, 1, 3, 0, 0, 0, 5, 20));
  CHECK(t.exists("/a").stat == st(1, 4, 1001, 1004, 1, 16, 1, 0, 6, 0, 18));
  CHECK(t.exists("/c").stat == st(8, 8, 1008, 1008, 0, 0, 0, 0, 1, 0, 8));
  CHECK(t.exists("/m").stat == st(15, 15, 1015, 1015, 1, 2, 0, 0, 1, 0, 15));
  CHECK(t.exists("/b").stat == st(20, 20, 1020, 1020, 0, 0, 0, 0, 1, 0, 20));
  CHECK(t.exists("/zookeeper").stat ==
        st(0, 10, 0, 1010, 1, -1, 0, 0, 1, 3, 9));
  CHECK(t.exists("/zookeeper/x").stat ==
        st(9, 9, 1009, 1009, 0, 0, 0, 0, 1, 0, 9));
  CHECK(t.get_data("/", {}).data == std::nullopt);
  CHECK(t.sessions().empty());
  CHECK(t.containers() == std::set<std::string>{"/c"});
}

TEST_CASE("apply results and triggers", "[tree]") {
  tree t;
  const auto& open = open_acl();
  SECTION("create: path, stat for create2 only, NodeCreated then parent") {
    auto r = t.apply(rec(1, 1, op::create,
                         txn::create{"/a", std::string{"x"}, open, false, 1}));
    CHECK(r.err == wire::err::ok);
    CHECK(r.path == "/a");
    CHECK_FALSE(r.stat);
    CHECK(r.triggers == trig({{"/a", created}, {"/", children}}));
    r = t.apply(rec(1, 2, op::create2,
                    txn::create{"/a/b", std::nullopt, open, false, 1}));
    REQUIRE(r.stat);
    // A new leaf: pzxid = czxid, visible cversion 0.
    CHECK(*r.stat == st(2, 2, 1002, 1002, 0, 0, 0, 0, 0, 0, 2));
    CHECK(r.triggers == trig({{"/a/b", created}, {"/a", children}}));
    r = t.apply(
        rec(1, 3, op::set_data, txn::set_data{"/a/b", std::string{"yy"}, 1}));
    REQUIRE(r.stat);
    CHECK(*r.stat == st(2, 3, 1002, 1003, 1, 0, 0, 0, 2, 0, 2));
    CHECK(r.triggers == trig({{"/a/b", changed}}));
    r = t.apply(rec(1, 4, op::set_acl, txn::set_acl{"/a/b", read_only, 1}));
    REQUIRE(r.stat);
    CHECK(r.stat->aversion == 1);
    CHECK(r.stat->mzxid == 3); // setACL is not a modification of the data
    CHECK(r.triggers.empty());
    r = t.apply(rec(1, 5, op::remove, txn::remove{"/a/b"}));
    CHECK(r.err == wire::err::ok);
    CHECK_FALSE(r.stat);
    CHECK(r.triggers == trig({{"/a/b", deleted}, {"/a", children}}));
    // A delete shows as +1 on the visible cversion, and moves pzxid.
    CHECK(t.exists("/a").stat.cversion == 2);
    CHECK(t.exists("/a").stat.pzxid == 5);
    t.check_invariants();
  }
  SECTION("container and TTL nodes read ephemeralOwner 0") {
    auto r = t.apply(rec(9, 1, op::create_container,
                         txn::create_container{"/c", std::string{}, open, 1}));
    REQUIRE(r.stat);
    CHECK(r.stat->ephemeral_owner == 0);
    r = t.apply(rec(9, 2, op::create_ttl,
                    txn::create_ttl{"/t", std::string{}, open, 2, 60000}));
    REQUIRE(r.stat);
    CHECK(r.stat->ephemeral_owner == 0);
    CHECK(t.containers() == std::set<std::string>{"/c"});
    CHECK(t.ttls() == std::set<std::string>{"/t"});
    CHECK(t.ephemeral_count() == 0);
    t.apply(rec(9, 3, op::delete_container, txn::remove{"/c"}));
    t.apply(rec(9, 4, op::remove, txn::remove{"/t"}));
    CHECK(t.containers().empty());
    CHECK(t.ttls().empty());
    t.check_invariants();
  }
  SECTION("multi: per-op results with the shared zxid, triggers in order") {
    txn::multi m;
    m.ops.push_back(
        {op::create, txn::create{"/m", std::string{}, open, false, 1}});
    m.ops.push_back({op::create_container,
                     txn::create_container{"/m/c", std::string{}, open, 1}});
    m.ops.push_back({op::set_data, txn::set_data{"/m", std::string{"v"}, 1}});
    m.ops.push_back({op::check, txn::check_version{"/m", 2}});
    m.ops.push_back({op::remove, txn::remove{"/m/c"}});
    auto r = t.apply(rec(1, 7, op::multi, m));
    CHECK(r.err == wire::err::ok);
    REQUIRE(r.multi.size() == 5);
    CHECK(r.multi[0].type == op::create);
    CHECK(r.multi[0].path == "/m");
    CHECK(r.multi[1].type == op::create_container);
    CHECK(r.multi[1].stat.czxid == 7);
    CHECK(r.multi[2].type == op::set_data);
    CHECK(r.multi[2].stat.version == 1);
    CHECK(r.multi[3].type == op::check);
    CHECK(r.multi[4].type == op::remove);
    for (auto& o : r.multi)
      CHECK(o.err == wire::err::ok);
    CHECK(r.triggers == trig({{"/m", created},
                              {"/", children},
                              {"/m/c", created},
                              {"/m", children},
                              {"/m", changed},
                              {"/m/c", deleted},
                              {"/m", children}}));
    t.check_invariants();
  }
  SECTION("a logged failed multi applies nothing") {
    txn::multi m;
    m.ops.push_back(
        {op::create, txn::create{"/x", std::string{}, open, false, 1}});
    m.ops.push_back({op::error, txn::error{-101}});
    m.ops.push_back({op::error, txn::error{-2}});
    auto d = t.digest();
    auto r = t.apply(rec(1, 3, op::multi, m));
    CHECK(r.err == wire::err::no_node);
    REQUIRE(r.multi.size() == 3);
    CHECK(r.multi[0].type == op::error);
    CHECK(r.multi[0].err == wire::err::ok);
    CHECK(r.multi[1].err == wire::err::no_node);
    CHECK(r.multi[2].err == wire::err::runtime_inconsistency);
    CHECK(r.triggers.empty());
    CHECK(t.digest() == d);
    CHECK(t.last_zxid() == 3);
  }
}

TEST_CASE("sessions and ephemerals", "[tree]") {
  harness h;
  h.open_session(0x10);
  h.open_session(0x20, 4000);
  CHECK(h.t.sessions() ==
        std::map<int64_t, int32_t>{{0x10, 30000}, {0x20, 4000}});
  h.run(0x10, create_rq("/app"));
  h.run(0x10, create_rq("/app/e1", "", 1));
  h.run(0x10, create_rq("/app/e2", "", 1));
  h.run(0x10, create_rq("/x1", "", 1));
  h.run(0x20, create_rq("/app/f", "", 1));
  CHECK(h.stat("/app/e1").ephemeral_owner == 0x10);
  CHECK(h.t.ephemeral_count() == 4);
  CHECK(h.t.get_ephemerals(0x10, "") ==
        std::vector<std::string>{"/app/e1", "/app/e2", "/x1"});
  CHECK(h.t.get_ephemerals(0x10, " / ") ==
        std::vector<std::string>{"/app/e1", "/app/e2", "/x1"});
  // A string prefix, not a path prefix.
  CHECK(h.t.get_ephemerals(0x10, "/app/e") ==
        std::vector<std::string>{"/app/e1", "/app/e2"});
  CHECK(h.t.get_ephemerals(0x10, "/x") == std::vector<std::string>{"/x1"});
  CHECK(h.t.get_ephemerals(0x30, "").empty());

  // Deleting a session's last ephemeral keeps its entry (ZooKeeper's map).
  h.run(0x20, delete_rq("/app/f"));
  CHECK(h.t.ephemeral_session_count() == 2);
  CHECK(h.t.dump_ephemerals() ==
        "Sessions with Ephemerals (2):\n0x10:\n\t/app/e1\n\t/app/e2\n\t/"
        "x1\n0x20:\n");

  auto r = h.close_session(0x10);
  CHECK(r.err == wire::err::ok);
  CHECK(r.triggers == trig({{"/app/e1", deleted},
                            {"/app", children},
                            {"/app/e2", deleted},
                            {"/app", children},
                            {"/x1", deleted},
                            {"/", children}}));
  CHECK_FALSE(h.t.exists("/app/e1").err == wire::err::ok);
  CHECK(h.t.ephemeral_count() == 0);
  CHECK(h.t.sessions() == std::map<int64_t, int32_t>{{0x20, 4000}});
  CHECK(h.stat("/app").pzxid == h.t.last_zxid());
  CHECK(h.t.ephemeral_session_count() == 1);
  h.close_session(0x20);
  CHECK(h.t.ephemeral_session_count() == 0);
  CHECK(h.t.sessions().empty());
}

TEST_CASE("reads", "[tree]") {
  harness h;
  h.run(1, create_rq("/n", std::nullopt));
  h.run(1, create_rq("/e", ""));
  h.run(1, create_rq("/e/b"));
  h.run(1, create_rq("/e/a"));
  h.run(1, create_rq("/e/a/z"));
  h.run(1, create_rq("/e/c"));
  SECTION("null and empty data stay apart") {
    CHECK(h.t.get_data("/n", {}).data == std::nullopt);
    CHECK(h.t.get_data("/e", {}).data == std::string{});
    h.run(1, set_rq("/e", std::nullopt));
    CHECK(h.t.get_data("/e", {}).data == std::nullopt);
    h.run(1, set_rq("/n", ""));
    CHECK(h.t.get_data("/n", {}).data == std::string{});
  }
  SECTION("children sorted, stat of the parent") {
    auto c = h.t.get_children("/e", {});
    CHECK(c.children == std::vector<std::string>{"a", "b", "c"});
    CHECK(c.stat.num_children == 3);
    CHECK(h.t.get_children("/nope", {}).err == wire::err::no_node);
  }
  SECTION("\"\" is \"/\"; odd paths do not exist") {
    CHECK(h.t.get_data("", {}).stat == h.t.get_data("/", {}).stat);
    CHECK(h.t.get_children("", {}).children ==
          h.t.get_children("/", {}).children);
    CHECK(h.t.exists("").err == wire::err::ok);
    CHECK(h.t.get_data("/e/", {}).err == wire::err::no_node);
    CHECK(h.t.get_data("e", {}).err == wire::err::no_node);
    CHECK(h.t.get_data(std::string("/e\0", 3), {}).err == wire::err::no_node);
    CHECK(h.t.exists(std::string("/e\0", 3)).err == wire::err::bad_arguments);
  }
  SECTION("getAllChildrenNumber") {
    CHECK(h.t.get_all_children_number("/e", {}).count == 4);
    CHECK(h.t.get_all_children_number("/e/a/z", {}).count == 0);
    // Observed: "/" counts every znode but itself, "" one more.
    CHECK(h.t.get_all_children_number("/", {}).count == 3 + 6);
    CHECK(h.t.get_all_children_number("", {}).count == 4 + 6);
    CHECK(h.t.get_all_children_number("/zookeeper", {}).count == 2);
    CHECK(h.t.get_all_children_number("/x", {}).err == wire::err::no_node);
  }
}

TEST_CASE("reads check ACLs like FinalRequestProcessor", "[tree][acl]") {
  harness h;
  auto digest_acl = std::vector<wire::acl>{
      wire::acl{wire::perm::read, wire::id{"digest", "bob:hash1"}},
      wire::acl{wire::perm::admin, wire::id{"digest", "alice:hash2"}},
      wire::acl{wire::perm::all, wire::id{"ip", "10.1.0.0/16"}}};
  h.run(1, create_rq("/s", "secret", 0, op::create, digest_acl));
  auto bob = auth_ids{{"ip", "127.0.0.1"}, {"digest", "bob:hash1"}};
  auto alice = auth_ids{{"digest", "alice:hash2"}};
  auto net = auth_ids{{"ip", "10.1.200.3"}};
  auto other = auth_ids{{"ip", "10.2.0.1"}};
  CHECK(h.t.get_data("/s", {}).err == wire::err::no_auth);
  CHECK(h.t.get_data("/s", other).err == wire::err::no_auth);
  CHECK(h.t.get_data("/s", bob).data == std::string{"secret"});
  CHECK(h.t.get_data("/s", net).err == wire::err::ok);
  CHECK(h.t.get_data("/s", alice).err == wire::err::no_auth);
  CHECK(h.t.get_data("/s", superuser()).err == wire::err::ok);
  CHECK(h.t.get_children("/s", {}).err == wire::err::no_auth);
  CHECK(h.t.get_all_children_number("/s", {}).err == wire::err::no_auth);
  // exists has no ACL check.
  CHECK(h.t.exists("/s").err == wire::err::ok);
  // getACL: READ or ADMIN; without ADMIN the digests are redacted.
  CHECK(h.t.get_acl("/s", {}).err == wire::err::no_auth);
  auto as_bob = h.t.get_acl("/s", bob);
  REQUIRE(as_bob.err == wire::err::ok);
  CHECK(as_bob.acl[0].id.ident == "bob:x");
  CHECK(as_bob.acl[1].id.ident == "alice:x");
  CHECK(as_bob.acl[2].id.ident == "10.1.0.0/16");
  CHECK(h.t.get_acl("/s", alice).acl == digest_acl);
  // /zookeeper/config is readable by anyone.
  CHECK(h.t.get_data("/zookeeper/config", {}).err == wire::err::ok);
}

TEST_CASE("replaying the log into a fresh tree gives the same tree",
          "[tree][replay]") {
  harness h;
  h.open_session(0x1);
  h.run(0x1, create_rq("/a", "1"));
  h.run(0x1, create_rq("/a/s-", "", 2));
  h.run(0x1, create_rq("/a/s-", "", 3));
  h.run(0x1, create_rq("/a/s-", std::nullopt, 2));
  h.run(0x1, delete_rq("/a/s-0000000000"));
  h.run(0x1, set_rq("/a", std::string(5000, 'x')));
  h.run(0x1, set_acl_rq("/a", read_only));
  h.run(0x1, create_rq("/c", "", 4, op::create_container));
  h.run(0x1, multi_rq({mop(op::create, create_rq("/m")),
                       mop(op::create, create_rq("/m/1")),
                       mop(op::set_data, set_rq("/m", "q"))}));
  h.close_session(0x1);
  tree fresh;
  for (auto& r : h.log)
    fresh.apply(r);
  fresh.check_invariants();
  CHECK(fresh.digest() == h.t.digest());
  CHECK(fresh.node_count() == h.t.node_count());
  CHECK(fresh.last_zxid() == h.t.last_zxid());
  std::map<std::string,
           std::tuple<wire::opt_bytes, stat_persisted, std::vector<wire::acl>>>
      a, b;
  h.t.for_each([&](auto path, auto& data, auto& s, auto& acl) {
    a[std::string{path}] = {data, s, acl};
  });
  fresh.for_each([&](auto path, auto& data, auto& s, auto& acl) {
    b[std::string{path}] = {data, s, acl};
  });
  CHECK(a == b);
  // Replaying twice (a log replayed over a newer snapshot) keeps the tree
  // consistent.
  for (auto& r : h.log)
    fresh.apply(r);
  fresh.check_invariants();
}

TEST_CASE("setData moves nodes in memory without losing links",
          "[tree][index]") {
  harness h;
  for (int i = 0; i < 20; ++i)
    h.run(1, create_rq("/p" + std::to_string(i)));
  for (int i = 0; i < 5; ++i)
    h.run(1, create_rq("/p3/c" + std::to_string(i)));
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    auto i = rng() % 21;
    auto path = i == 20 ? std::string{"/"} : "/p" + std::to_string(i);
    auto len = rng() % 3 == 0 ? 0 : rng() % 4000;
    h.run(1, set_rq(path, std::string(len, char('a' + round % 26))));
    auto got = h.t.get_data(path, {});
    REQUIRE(got.data);
    CHECK(got.data->size() == len);
  }
  CHECK(h.t.get_children("/p3", {}).children.size() == 5);
}

TEST_CASE("the index against a model under churn", "[tree][index]") {
  tree t;
  std::map<std::string, std::string> model; // path -> data, under /r
  std::mt19937 rng(42);
  int64_t zxid = 0;
  t.apply(rec(1, ++zxid, op::create,
              txn::create{"/r", std::string{}, open_acl(), false, -1}));
  std::vector<std::string> dirs{"/r"};
  for (int i = 0; i < 20000; ++i) {
    auto choice = rng() % 10;
    if (choice < 6 || model.empty()) {
      auto& dir = dirs[rng() % dirs.size()];
      auto path = dir + "/n" + std::to_string(rng() % 5000);
      auto data = std::string(rng() % 40, 'd');
      auto r = t.apply(rec(1, ++zxid, op::create,
                           txn::create{path, data, open_acl(), false, -1}));
      bool fresh = model.count(path) == 0;
      CHECK((r.err == wire::err::ok) == fresh);
      if (fresh) {
        model[path] = data;
        if (dirs.size() < 50)
          dirs.push_back(path);
      }
    } else {
      auto it = model.begin();
      std::advance(it, rng() % model.size());
      auto path = it->first;
      auto r = t.apply(rec(1, ++zxid, op::remove, txn::remove{path}));
      bool leaf = true;
      auto next = std::next(it);
      if (next != model.end() && next->first.rfind(path + "/", 0) == 0)
        leaf = false;
      CHECK((r.err == wire::err::ok) == leaf);
      if (leaf) {
        model.erase(it);
        dirs.erase(std::remove(dirs.begin(), dirs.end(), path), dirs.end());
      }
    }
    if (i % 2000 == 0)
      t.check_invariants();
  }
  t.check_invariants();
  CHECK(t.node_count() == model.size() + 5);
  for (auto& [path, data] : model)
    CHECK(t.get_data(path, {}).data == data);
}

TEST_CASE("memory per znode for 1M znodes of 128 bytes", "[.memory][tree]") {
  tree t;
  const auto data = std::string(128, 'x');
  t.apply(rec(1, 1, op::create,
              txn::create{"/bench", std::string{}, open_acl(), false, -1}));
  auto before = t.memory_bytes();
  const int n = 1000000;
  char path[64];
  for (int i = 0; i < n; ++i) {
    std::snprintf(path, sizeof(path), "/bench/node-%010d", i);
    t.apply(rec(1, 2 + i, op::create,
                txn::create{path, data, open_acl(), false, -1}));
  }
  auto after = t.memory_bytes();
  auto per_node = double(after - before) / n;
  WARN("tree memory for " << n << " znodes of 128 B (path 22 B): "
                          << (after - before) / (1024 * 1024) << " MiB, "
                          << per_node << " B/znode");
  CHECK(per_node < 300);
}

TEST_CASE("quota accounting as observed on ZooKeeper 3.8", "[tree][quota]") {
  harness h;
  const std::string stats = "/zookeeper/quota/q/zookeeper_stats";
  auto data = [&](const std::string& p) {
    auto r = h.t.get_data(p, {});
    REQUIRE(r.err == wire::err::ok);
    REQUIRE(r.data);
    return *r.data;
  };
  h.run(1, create_rq("/q", "12345"));
  h.run(1, create_rq("/q/a", "xx"));
  h.run(1, create_rq("/zookeeper/quota/q"));
  h.run(1,
        create_rq("/zookeeper/quota/q/zookeeper_limits", "count=5,bytes=-1"));
  CHECK(h.t.quotas() == std::set<std::string>{"/q"});
  auto created = h.run(1, create_rq(stats, "count=0,bytes=0", 0, op::create2));
  // The create's reply has the client's data length; the node then holds
  // the recount.
  CHECK(created.stat->data_length == 15);
  CHECK(data(stats) == "count=2,bytes=7");
  auto before = h.stat(stats);
  h.run(1, create_rq("/q/b", "abc"));
  CHECK(data(stats) == "count=3,bytes=10");
  h.run(1, set_rq("/q/a", "xxxxxxxxxx"));
  CHECK(data(stats) == "count=3,bytes=18");
  h.run(1, delete_rq("/q/b"));
  CHECK(data(stats) == "count=2,bytes=15");
  h.run(1, create_rq("/qq", "zz"));
  CHECK(data(stats) == "count=2,bytes=15");
  // Accounting changes the data (and so dataLength) but not the Stat.
  auto after = h.stat(stats);
  CHECK(after.mzxid == before.mzxid);
  CHECK(after.version == before.version);
  CHECK(after.data_length == 16);

  h.run(1, set_rq(stats, "count=1,bytes=2,zeta=3;alpha=4"));
  h.run(1, create_rq("/q/d", "abcd"));
  CHECK(data(stats) == "count=2,bytes=6=;alpha=4;zeta=3");
  h.run(1, set_rq(stats, "bytes=2"));
  h.run(1, create_rq("/q/e", "abcd"));
  CHECK(data(stats) == "count=0,bytes=6");

  // Only the deepest quota counts.
  h.run(1, create_rq("/zookeeper/quota/q/sub"));
  h.run(1, create_rq("/q/sub"));
  h.run(1, create_rq("/zookeeper/quota/q/sub/zookeeper_limits",
                     "count=5,bytes=-1"));
  h.run(1, create_rq("/zookeeper/quota/q/sub/zookeeper_stats", ""));
  h.run(1, create_rq("/q/sub/x", "123"));
  const std::string inner = "/zookeeper/quota/q/sub/zookeeper_stats";
  CHECK(data(stats) == "count=1,bytes=6");
  CHECK(data(inner) == "count=2,bytes=3");
  // Deleting a limits node stops the accounting of that path only.
  h.run(1, delete_rq("/zookeeper/quota/q/zookeeper_limits"));
  h.run(1, create_rq("/q/sub/y", "1234"));
  h.run(1, create_rq("/q/f", "1234"));
  CHECK(data(stats) == "count=1,bytes=6");
  CHECK(data(inner) == "count=3,bytes=7");
  // A new limits node resumes it (no recount).
  h.run(1, create_rq("/zookeeper/quota/q/zookeeper_limits", "x"));
  h.run(1, create_rq("/q/g", "1"));
  CHECK(data(stats) == "count=2,bytes=7");

  // Where ZooKeeper's parser throws (and its server exits), the stats node
  // is left alone.
  h.run(1, set_rq(stats, "count=1;bytes=x"));
  h.run(1, create_rq("/q/h", "1"));
  CHECK(data(stats) == "count=1;bytes=x");
  h.run(1, set_rq(stats, "count=1,alpha="));
  h.run(1, create_rq("/q/i", "1"));
  CHECK(data(stats) == "count=1,alpha=");
  // Two more inputs that make ZooKeeper 3.8.0's server exit are harmless.
  CHECK(h.run(1, create_rq("/zookeeper/quota/zookeeper_limits")).err ==
        wire::err::ok);
  h.run(1, create_rq("/zookeeper_stats"));
  h.run(1, create_rq("/zookeeper_stats/zookeeper_limits"));
  CHECK(h.run(1, delete_rq("/zookeeper_stats/zookeeper_limits")).err ==
        wire::err::ok);
  CHECK(h.run(1, delete_rq("/zookeeper/quota/zookeeper_limits")).err ==
        wire::err::ok);
  CHECK(h.t.quotas() == std::set<std::string>{"/q", "/q/sub"});
  // No watch fires for accounting.
  auto r = h.run(1, create_rq("/q/sub/z", "1"));
  CHECK(r.triggers.size() == 2);
}

TEST_CASE("restore from a snapshot's nodes", "[tree][restore]") {
  harness h;
  h.open_session(0x5);
  h.run(0x5, create_rq("/a", "1"));
  h.run(0x5, create_rq("/a/e", "", 1));
  h.run(0x5, create_rq("/a/s-", std::nullopt, 2));
  h.run(0x5, create_rq("/c", "", 4, op::create_container));
  h.run(0x5, set_rq("/", "root data"));
  h.run(0x5, create_rq("/zookeeper/quota/a"));
  h.run(0x5, create_rq("/zookeeper/quota/a/zookeeper_limits", "count=9"));
  h.run(0x5, create_rq("/zookeeper/quota/a/zookeeper_stats", ""));
  h.run(0x5, create_rq("/a/x", "123"));
  h.run(0x5, set_acl_rq("/a", read_only));
  tree t;
  size_t restored = 0;
  h.t.for_each([&](auto path, auto& data, auto& s, auto& acl) {
    CHECK(t.restore_node(path, data, s, acl));
    ++restored;
  });
  for (auto& [id, timeout] : h.t.sessions())
    t.restore_session(id, timeout);
  t.finish_restore(h.t.last_zxid());
  t.check_invariants();
  CHECK(restored == h.t.node_count());
  CHECK(t.digest() == h.t.digest());
  CHECK(t.node_count() == h.t.node_count());
  CHECK(t.approximate_data_size() == h.t.approximate_data_size());
  CHECK(t.last_zxid() == h.t.last_zxid());
  CHECK(t.sessions() == h.t.sessions());
  CHECK(t.ephemerals_of(0x5) == std::vector<std::string>{"/a/e"});
  CHECK(t.containers() == std::set<std::string>{"/c"});
  CHECK(t.quotas() == std::set<std::string>{"/a"});
  CHECK(t.get_data("/zookeeper/quota/a/zookeeper_stats", {})
            .data.value_or("null") == std::string{"count=4,bytes=4"});
  CHECK(t.exists("/").stat == h.t.exists("/").stat);
  CHECK(t.get_acl("/zookeeper/config", {}).acl == read_only);
  // Accounting continues after the restore.
  t.apply(rec(0x5, h.t.last_zxid() + 1, op::create,
              txn::create{"/a/y", std::string{"z"}, open_acl(), false, -1}));
  CHECK(t.get_data("/zookeeper/quota/a/zookeeper_stats", {})
            .data.value_or("null") == std::string{"count=5,bytes=5"});
  // A node whose parent is missing, or an invalid path, is refused.
  CHECK_FALSE(t.restore_node("/no/parent", std::nullopt, {}, open_acl()));
  CHECK_FALSE(t.restore_node("bad", std::nullopt, {}, open_acl()));
  t.check_invariants();
}
