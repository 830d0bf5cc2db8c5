// prep: validation and txns as ZooKeeper 3.8's PrepRequestProcessor makes
// them. Every expected error and sequence number below was observed on a
// running ZooKeeper 3.8.0 with reference/raw.py (requests sent one by one,
// or pipelined for the in-flight cases).
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace zkd;
using namespace zkd::datatree;
using namespace zkd::datatree::test;
using E = wire::err;

namespace {

std::string created_path(const apply_result& r) {
  REQUIRE(r.err == E::ok);
  return r.path;
}

} // namespace

TEST_CASE("sequence numbers come from the stored cversion", "[prep][seq]") {
  harness h;
  h.run(1, create_rq("/p"));
  auto cv = [&] {
    return h.stat("/p").cversion;
  };
  CHECK(cv() == 0);
  CHECK(created_path(h.run(1, create_rq("/p/a-", "", 2))) == "/p/a-0000000000");
  CHECK(cv() == 1);
  CHECK(h.run(1, delete_rq("/p/a-0000000000")).err == E::ok);
  CHECK(cv() == 2); // a delete shows, but does not count for numbering
  CHECK(created_path(h.run(1, create_rq("/p/a-", "", 2))) == "/p/a-0000000001");
  CHECK(cv() == 3);
  h.run(1, create_rq("/p/x"));
  CHECK(cv() == 4);
  h.run(1, delete_rq("/p/x"));
  CHECK(cv() == 5);
  CHECK(created_path(h.run(1, create_rq("/p/a-", "", 2))) == "/p/a-0000000003");
  CHECK(cv() == 6);
  h.run(1, create_rq("/p/b"));
  CHECK(h.run(1, create_rq("/p/b")).err == E::node_exists);
  CHECK(h.run(1, delete_rq("/p/nonexist")).err == E::no_node);
  CHECK(cv() == 7); // failures change nothing
  // A sequential create may end in '/': the name is the number alone.
  CHECK(created_path(h.run(1, create_rq("/p/", "", 2))) == "/p/0000000005");
  CHECK(created_path(h.run(1, create_rq("/p/", "", 3))) == "/p/0000000006");
  CHECK(cv() == 9);
  CHECK(h.t.get_children("/p", {}).children ==
        std::vector<std::string>{"0000000005", "0000000006", "a-0000000001",
                                 "a-0000000003", "b"});
  // setData and setACL on the parent leave its child counters alone.
  auto before = h.stat("/p");
  h.run(1, set_rq("/p", "x"));
  h.run(1, set_acl_rq("/p", open_acl()));
  auto after = h.stat("/p");
  CHECK(after.cversion == before.cversion);
  CHECK(after.pzxid == before.pzxid);
  CHECK(after.version == 1);
  CHECK(after.aversion == 1);
  CHECK(after.mzxid > before.mzxid);
}

TEST_CASE("prep sees the changes in flight", "[prep][inflight]") {
  harness h;
  SECTION("parent, delete and re-create, sequence and versions in flight") {
    // Pipelined on ZooKeeper: all prepared before any is applied.
    auto ok = [&](const wire::request& rq) {
      auto r = h.submit(1, rq);
      CHECK(r.err == E::ok);
      return r;
    };
    ok(create_rq("/f"));
    ok(create_rq("/f/b"));
    ok(delete_rq("/f/b"));
    ok(create_rq("/f/b"));
    auto s1 = ok(create_rq("/f/s-", "", 2));
    CHECK(std::get<txn::create>(s1.txn->b).path == "/f/s-0000000002");
    ok(delete_rq("/f/s-0000000002"));
    auto s2 = ok(create_rq("/f/s-", "", 2));
    CHECK(std::get<txn::create>(s2.txn->b).path == "/f/s-0000000003");
    ok(set_rq("/f", "1", 0));
    CHECK(h.submit(1, set_rq("/f", "2", 0)).err == E::bad_version);
    ok(set_rq("/f", "2", 1));
    CHECK(h.p.outstanding() > 0);
    h.commit_all();
    CHECK(h.p.outstanding() == 0);
    CHECK(h.t.get_children("/f", {}).children ==
          std::vector<std::string>{"b", "s-0000000003"});
    // Observed: cversion 6 (4 creates, 2 deletes).
    CHECK(h.stat("/f").cversion == 6);
    CHECK(h.stat("/f").version == 2);
  }
  SECTION("an ephemeral parent in flight") {
    h.open_session(1);
    CHECK(h.submit(1, create_rq("/g", "", 1)).err == E::ok);
    CHECK(h.submit(1, create_rq("/g/c")).err == E::no_children_for_ephemerals);
    CHECK(h.submit(1, delete_rq("/g")).err == E::ok);
    CHECK(h.submit(1, create_rq("/g")).err == E::ok);
    CHECK(h.submit(1, create_rq("/g/c")).err == E::ok);
    h.commit_all();
    CHECK(h.stat("/g").ephemeral_owner == 0);
  }
  SECTION("a deleted node in flight is gone for later requests") {
    h.run(1, create_rq("/h"));
    CHECK(h.submit(1, delete_rq("/h")).err == E::ok);
    CHECK(h.submit(1, set_rq("/h", "x")).err == E::no_node);
    CHECK(h.submit(1, delete_rq("/h")).err == E::no_node);
    CHECK(h.submit(1, check_rq("/h", -1)).err == E::no_node);
    CHECK(h.submit(1, create_rq("/h/c")).err == E::no_node);
  }
  SECTION("a parent with children in flight is not empty") {
    h.run(1, create_rq("/n"));
    CHECK(h.submit(1, create_rq("/n/c")).err == E::ok);
    CHECK(h.submit(1, delete_rq("/n")).err == E::not_empty);
    CHECK(h.submit(1, delete_rq("/n/c")).err == E::ok);
    CHECK(h.submit(1, delete_rq("/n")).err == E::ok);
    h.commit_all();
    CHECK(h.t.exists("/n").err == E::no_node);
  }
  SECTION("applied() forgets in order; reset() forgets all") {
    h.submit(1, create_rq("/r1"));
    h.submit(1, create_rq("/r2"));
    auto first = h.inflight.front().hdr.zxid;
    h.t.apply(h.inflight.front());
    h.inflight.pop_front();
    h.p.applied(first);
    h.check();
    CHECK(h.p.outstanding() == 2); // "/" and "/r2"
    // The lost proposal of /r2: after a reset prep believes the tree again.
    h.inflight.clear();
    h.p.reset();
    CHECK(h.p.outstanding() == 0);
    CHECK(h.submit(1, create_rq("/r2")).err == E::ok);
  }
}

TEST_CASE("a failed multi leaves nothing in flight", "[prep][multi]") {
  harness h;
  CHECK(h.submit(1, create_rq("/k0")).err == E::ok);
  auto m = h.submit(1, multi_rq({mop(op::create, create_rq("/k")),
                                 mop(op::create, create_rq("/k0/s", "", 2)),
                                 mop(op::create, create_rq("/nope/x")),
                                 mop(op::create, create_rq("/k9"))}));
  CHECK(m.err == E::no_node);
  CHECK(m.multi_errors ==
        std::vector<E>{E::ok, E::ok, E::no_node, E::runtime_inconsistency});
  CHECK(h.submit(1, create_rq("/k")).err == E::ok);
  auto s = h.submit(1, create_rq("/k0/s", "", 2));
  REQUIRE(s.ok());
  // Observed: the failed multi's sequential create left no trace.
  CHECK(std::get<txn::create>(s.txn->b).path == "/k0/s0000000000");
  h.commit_all();
  CHECK(h.stat("/k0").cversion == 1);
}

TEST_CASE("multi prepares one txn with one zxid", "[prep][multi]") {
  harness h;
  h.run(1, create_rq("/a"));
  SECTION("ops see each other") {
    auto r =
        h.run(1, multi_rq({mop(op::create, create_rq("/m1")),
                           mop(op::set_data, set_rq("/m1", "abc")),
                           mop(op::check, check_rq("/m1", 1)),
                           mop(op::remove, delete_rq("/m1")),
                           mop(op::create_container, create_rq("/m3", "", 4)),
                           mop(op::create, create_rq("/m5", "", 2)),
                           mop(op::create, create_rq("/m5", "", 2))}));
    CHECK(r.err == E::ok);
    REQUIRE(r.multi.size() == 7);
    CHECK(r.multi[0].path == "/m1");
    CHECK(r.multi[1].stat.version == 1);
    CHECK(r.multi[1].stat.data_length == 3);
    CHECK(r.multi[4].type == op::create_container);
    CHECK(r.multi[4].stat.czxid == r.multi[1].stat.mzxid);
    // Two sequential creates in one multi: consecutive numbers.
    CHECK(r.multi[5].path == "/m50000000003"); // /a, /m1, /m3 before
    CHECK(r.multi[6].path == "/m50000000004");
    CHECK(h.t.exists("/m1").err == E::no_node);
    CHECK(h.t.containers().count("/m3") == 1);
  }
  SECTION("observed: later ops fail with runtime inconsistency") {
    auto r = h.submit(1, multi_rq({mop(op::create, create_rq("/m5", "", 2)),
                                   mop(op::create, create_rq("/m5", "", 2)),
                                   mop(op::create, create_rq("/m5/")),
                                   mop(op::check, check_rq("/m5", 0)),
                                   mop(op::check, check_rq("/m5", 0))}));
    CHECK(r.err == E::no_node);
    CHECK(r.multi_errors == std::vector<E>{E::ok, E::ok, E::no_node,
                                           E::runtime_inconsistency,
                                           E::runtime_inconsistency});
  }
  SECTION("an empty multi is a txn") {
    auto r = h.run(1, multi_rq({}));
    CHECK(r.err == E::ok);
    CHECK(r.multi.empty());
  }
  SECTION("check errors") {
    CHECK(h.submit(1, multi_rq({mop(op::check, check_rq("/a", 3))})).err ==
          E::bad_version);
    CHECK(h.submit(1, multi_rq({mop(op::check, check_rq("/zz", -1))})).err ==
          E::no_node);
    CHECK(h.submit(1, multi_rq({mop(op::check, check_rq("a", -1))})).err ==
          E::bad_arguments);
  }
}

TEST_CASE("errors as ZooKeeper 3.8 answers them", "[prep][errors]") {
  harness h;
  h.run(1, create_rq("/p"));
  h.run(1, create_rq("/p/c"));
  h.run(1, set_rq("/p", "v"));
  auto create = [&](std::string path, int32_t flags = 0) {
    return h.run(1, create_rq(std::move(path), "", flags)).err;
  };
  auto create_acl = [&](std::vector<wire::acl> acl) {
    return h.run(1, create_rq("/p/acl", "", 0, op::create, std::move(acl))).err;
  };
  SECTION("create paths: shape first, then parent, then the full path") {
    CHECK(create("/") == E::node_exists);
    CHECK(create("") == E::bad_arguments);
    CHECK(create("abc") == E::bad_arguments);
    CHECK(create("/abc/") == E::no_node); // parent "/abc" missing
    CHECK(create("//a") == E::bad_arguments);
    CHECK(create("/p//b") == E::no_node); // parent "/p/" missing
    CHECK(create("/.") == E::bad_arguments);
    CHECK(create("/..") == E::bad_arguments);
    CHECK(create("/p/./x") == E::no_node);
    CHECK(create("/p/.x") == E::ok);
    CHECK(create("/p/..x") == E::ok);
    CHECK(create("/p/x..") == E::ok);
    CHECK(create("/p/a\x01") == E::bad_arguments);
    CHECK(create(std::string("/p/a\0b", 6)) == E::bad_arguments);
    CHECK(create("/p/a\x7f") == E::bad_arguments);
    CHECK(create("/p/a\xc2\x85") == E::bad_arguments);         // U+0085
    CHECK(create("/p/a\xc2\xa0") == E::ok);                    // U+00A0
    CHECK(create("/p/a\xed\x9f\xbf") == E::ok);                // U+D7FF
    CHECK(create("/p/a\xee\x80\x80") == E::bad_arguments);     // U+E000
    CHECK(create("/p/a\xef\xa4\x80") == E::ok);                // U+F900
    CHECK(create("/p/a\xef\xbf\xb0") == E::bad_arguments);     // U+FFF0
    CHECK(create("/p/a\xf0\x9f\x98\x80") == E::bad_arguments); // emoji
    CHECK(create("/p/a\xff") == E::bad_arguments);             // not UTF-8
    CHECK(create("/p/a b") == E::ok);
    CHECK(create("/nope/x") == E::no_node);
    CHECK(create("/p/c") == E::node_exists);
  }
  SECTION("create flags, TTL and containers") {
    CHECK(create("/p/f7", 7) == E::bad_arguments);
    CHECK(create("/p/fm1", -1) == E::bad_arguments);
    CHECK(create("/p/f5", 5) == E::unimplemented); // TTL disabled
    wire::request ttl;
    ttl.hdr.type = op::create_ttl;
    ttl.body = wire::create_ttl_request{"/p/t", "", open_acl(), 5, 1000};
    CHECK(h.run(1, ttl).err == E::unimplemented);
    // A create with container flags makes a persistent node; a
    // createContainer with persistent flags a container (observed).
    CHECK(create("/p/f4", 4) == E::ok);
    CHECK(h.t.containers().count("/p/f4") == 0);
    auto r = h.run(1, create_rq("/p/cont2", "", 0, op::create_container));
    REQUIRE(r.err == E::ok);
    REQUIRE(r.stat);
    CHECK(r.stat->ephemeral_owner == 0);
    CHECK(h.t.containers().count("/p/cont2") == 1);
  }
  SECTION("ACLs of create and setACL") {
    CHECK(create_acl({}) == E::invalid_acl);
    CHECK(create_acl({{31, {"foo", "bar"}}}) == E::invalid_acl);
    CHECK(create_acl({{31, {"auth", ""}}}) == E::invalid_acl);
    CHECK(create_acl({{31, {"world", "other"}}}) == E::invalid_acl);
    CHECK(create_acl({{31, {"ip", "300.0.0.1"}}}) == E::invalid_acl);
    CHECK(create_acl({{31, {"digest", "upw"}}}) == E::invalid_acl);
    CHECK(create_acl({{0, {"world", "anyone"}}}) == E::ok);
    h.run(1, delete_rq("/p/acl"));
    CHECK(create_acl({{95, {"world", "anyone"}}}) == E::ok);
    h.run(1, delete_rq("/p/acl"));
    CHECK(create_acl({{31, {"ip", "127.0.0.1"}}}) == E::ok);
    h.run(1, delete_rq("/p/acl"));
    CHECK(create_acl({{31, {"digest", "u:pw"}}}) == E::ok);
    h.run(1, delete_rq("/p/acl"));
    // Duplicates are dropped.
    CHECK(create_acl({{31, {"world", "anyone"}}, {31, {"world", "anyone"}}}) ==
          E::ok);
    CHECK(h.t.get_acl("/p/acl", {}).acl == open_acl());
    // The ACL is checked before the parent exists.
    CHECK(h.run(1, create_rq("/nope/x", "", 0, op::create, {})).err ==
          E::invalid_acl);
    CHECK(h.run(1, set_acl_rq("/p", {})).err == E::invalid_acl);
    CHECK(h.run(1, set_acl_rq("/nope", open_acl())).err == E::no_node);
    CHECK(h.run(1, set_acl_rq("/nope", {})).err == E::invalid_acl);
    CHECK(h.run(1, set_acl_rq("/p", open_acl(), 7)).err == E::bad_version);
    CHECK(h.run(1, set_acl_rq("p", open_acl())).err == E::bad_arguments);
  }
  SECTION("the auth scheme expands to the caller's digest ids") {
    auto who = auth_ids{{"ip", "127.0.0.1"}, {"digest", "u:h"}};
    auto r = h.run(1,
                   create_rq("/p/mine", "", 0, op::create,
                             {{wire::perm::all, {"auth", "ignored"}}}),
                   who);
    REQUIRE(r.err == E::ok);
    CHECK(h.t.get_acl("/p/mine", who).acl ==
          std::vector<wire::acl>{{wire::perm::all, {"digest", "u:h"}}});
    CHECK(h.run(1, set_rq("/p/mine", "x")).err == E::no_auth);
    CHECK(h.run(1, set_rq("/p/mine", "x"), who).err == E::ok);
  }
  SECTION("delete") {
    CHECK(h.run(1, delete_rq("/")).err == E::bad_arguments);
    CHECK(h.run(1, delete_rq("/zookeeper")).err == E::bad_arguments);
    CHECK(h.run(1, delete_rq("/zookeeper/quota")).err == E::bad_arguments);
    CHECK(h.run(1, delete_rq("/zookeeper/config")).err == E::bad_arguments);
    CHECK(h.run(1, delete_rq("")).err == E::bad_arguments);
    CHECK(h.run(1, delete_rq("abc")).err == E::bad_arguments);
    CHECK(h.run(1, delete_rq("/p/")).err == E::no_node);
    CHECK(h.run(1, delete_rq("/nope/x")).err == E::no_node);
    CHECK(h.run(1, delete_rq("/p")).err == E::not_empty);
    CHECK(h.run(1, delete_rq("/p", 99)).err == E::bad_version); // before
    CHECK(h.run(1, delete_rq("/p/c", 0)).err == E::ok);
  }
  SECTION("setData and check") {
    CHECK(h.run(1, set_rq("abc", "x")).err == E::bad_arguments);
    CHECK(h.run(1, set_rq("/p/", "x")).err == E::bad_arguments);
    CHECK(h.run(1, set_rq("/nope", "x")).err == E::no_node);
    CHECK(h.run(1, set_rq("/p", "x", 99)).err == E::bad_version);
    CHECK(h.run(1, set_rq("/p", "x", 1)).err == E::ok);
    CHECK(h.submit(1, check_rq("/nope", 1)).err == E::no_node);
    CHECK(h.submit(1, check_rq("/p", 5)).err == E::bad_version);
    CHECK(h.submit(1, check_rq("abc", 1)).err == E::bad_arguments);
    auto ok = h.submit(1, check_rq("/p", 2));
    REQUIRE(ok.ok());
    // CheckVersionTxn stores the expected version + 1.
    CHECK(std::get<txn::check_version>(ok.txn->b).version == 3);
    h.commit_all();
  }
  SECTION("the /zookeeper subtree") {
    CHECK(create("/zookeeper") == E::node_exists);
    CHECK(create("/zookeeper/x") == E::ok);
    CHECK(create("/zookeeper/quota/x") == E::ok);
    // world:anyone may only read /zookeeper/config.
    CHECK(create("/zookeeper/config/x") == E::no_auth);
    CHECK(h.run(1, set_rq("/zookeeper/config", "x")).err == E::no_auth);
    CHECK(h.run(1, set_acl_rq("/zookeeper/config", open_acl())).err ==
          E::no_auth);
    CHECK(h.run(1, delete_rq("/zookeeper/x")).err == E::ok);
    CHECK(h.run(1, delete_rq("/zookeeper/x")).err == E::no_node);
    auto r = h.run(1, set_rq("/zookeeper", "x"));
    REQUIRE(r.err == E::ok);
    CHECK(r.stat->version == 1);
    CHECK(h.run(1, set_rq("/", "r")).err == E::ok);
    // A superuser may do anything.
    CHECK(h.run(1, set_rq("/zookeeper/config", "x"), superuser()).err == E::ok);
  }
  SECTION("reconfig is disabled, internal ops are refused from clients") {
    wire::request rq;
    rq.hdr.type = op::reconfig;
    rq.body = wire::reconfig_request{};
    CHECK(h.run(1, rq).err == E::reconfig_disabled);
    rq.hdr.type = op::delete_container;
    rq.body = std::monostate{};
    CHECK(h.run(1, rq).err == E::bad_arguments);
    rq.hdr.type = op::create;
    CHECK(h.run(1, rq).err == E::marshalling_error); // body of another op
  }
}

TEST_CASE("permissions of writes", "[prep][acl]") {
  harness h;
  auto alice = auth_ids{{"ip", "10.0.0.1"}, {"digest", "alice:h"}};
  auto bob = auth_ids{{"ip", "10.0.0.2"}, {"digest", "bob:h"}};
  h.run(
      1,
      create_rq("/d", "", 0, op::create,
                {{wire::perm::all, {"digest", "alice:h"}},
                 {wire::perm::read | wire::perm::create, {"ip", "10.0.0.2"}}}),
      alice);
  CHECK(h.run(1, create_rq("/d/b"), bob).err == E::ok);      // CREATE via ip
  CHECK(h.run(1, delete_rq("/d/b"), bob).err == E::no_auth); // DELETE
  CHECK(h.run(1, delete_rq("/d/b"), alice).err == E::ok);
  CHECK(h.run(1, set_rq("/d", "x"), bob).err == E::no_auth);
  CHECK(h.run(1, set_acl_rq("/d", open_acl()), bob).err == E::no_auth);
  CHECK(h.submit(1, check_rq("/d", -1), {}).err == E::no_auth);
  CHECK(h.submit(1, check_rq("/d", -1), bob).err == E::ok);
  h.commit_all();
  // Permission is checked before the version.
  CHECK(h.run(1, set_rq("/d", "x", 42), bob).err == E::no_auth);
  CHECK(h.run(1, set_rq("/d", "x", 42), alice).err == E::bad_version);
  // An in-flight setACL governs the requests prepared after it.
  CHECK(h.submit(1, set_acl_rq("/d", open_acl()), alice).err == E::ok);
  CHECK(h.submit(1, set_rq("/d", "y"), bob).err == E::ok);
  h.commit_all();
  prep lax{h.t, prep_options{false, true, false}};
  h.run(1, create_rq("/locked", "", 0, op::create,
                     {{wire::perm::read, {"world", "anyone"}}}));
  CHECK(lax.prepare(1, 1, set_rq("/locked", "x"), h.next_zxid, 0).ok());
}

TEST_CASE("sessions through prep", "[prep][session]") {
  harness h;
  h.open_session(0xA);
  h.open_session(0xB);
  h.run(0xA, create_rq("/e1", "", 1));
  h.run(0xA, create_rq("/p"));
  h.run(0xA, create_rq("/p/e2", "", 1));
  SECTION("closeSession lists the ephemerals, in flight included") {
    CHECK(h.submit(0xA, create_rq("/p/e3", "", 1)).err == E::ok);
    CHECK(h.submit(0xA, delete_rq("/e1")).err == E::ok);
    // Another session's ephemeral created in flight is not ours.
    CHECK(h.submit(0xB, create_rq("/p/b1", "", 1)).err == E::ok);
    auto c = h.submit(h.p.close_session(0xA, 77, h.next_zxid, h.time_ms));
    REQUIRE(c.ok());
    CHECK(c.txn->hdr.type == op::close_session);
    CHECK(c.txn->hdr.cxid == 77);
    CHECK(std::get<txn::close_session>(c.txn->b).paths_to_delete ==
          std::vector<std::string>{"/p/e2", "/p/e3"});
    // Their deletion is in flight: /p can go once /p/b1 goes too.
    CHECK(h.submit(0xB, delete_rq("/p/b1")).err == E::ok);
    CHECK(h.submit(0xB, delete_rq("/p")).err == E::ok);
    h.commit_all();
    CHECK(h.t.exists("/p").err == E::no_node);
    CHECK(h.t.ephemeral_count() == 0);
    CHECK_FALSE(h.t.has_session(0xA));
  }
  SECTION("the close txn through the wire request path") {
    wire::request rq;
    rq.hdr.type = op::close_session;
    auto r = h.run(0xA, rq);
    CHECK(r.err == E::ok);
    CHECK(r.triggers.size() == 4);
    CHECK(h.t.ephemerals_of(0xA).empty());
  }
}

TEST_CASE("a closing session's requests are refused", "[prep][session]") {
  harness h;
  h.open_session(0xA);
  h.run(0xA, create_rq("/p"));
  auto c = h.submit(h.p.close_session(0xA, 9, h.next_zxid, h.time_ms));
  REQUIRE(c.ok());
  CHECK(h.submit(0xA, set_rq("/p", "x")).err == E::session_expired);
  CHECK(h.submit(0xA, create_rq("/q", "", 1)).err == E::session_expired);
  auto m = h.submit(0xA, multi_rq({mop(op::create, create_rq("/m")),
                                   mop(op::remove, delete_rq("/p"))}));
  CHECK(m.err == E::session_expired);
  CHECK(m.multi_errors ==
        std::vector<E>{E::session_expired, E::runtime_inconsistency});
  // Other sessions go on; a second close (an expiry racing the client's
  // own close) is accepted, as in ZooKeeper.
  CHECK(h.submit(0xB, set_rq("/p", "x")).err == E::ok);
  CHECK(h.submit(h.p.close_session(0xA, 0, h.next_zxid, h.time_ms)).ok());
  h.commit_all();
  // Once applied, the session is unknown: the tracker's business.
  CHECK(h.submit(0xA, set_rq("/p", "y")).err == E::ok);
  h.commit_all();
}

TEST_CASE("deleteContainer from the container manager", "[prep][container]") {
  harness h;
  h.open_session(0xC);
  h.run(0xC, create_rq("/c", "", 4, op::create_container));
  h.run(0xC, create_rq("/c/x"));
  h.run(0xC, create_rq("/e", "", 1));
  h.run(0xC, create_rq("/plain"));
  auto del = [&](const char* path) {
    return h.submit(h.p.delete_container(path, h.next_zxid, h.time_ms)).err;
  };
  CHECK(del("/c") == E::not_empty);
  CHECK(del("/e") == E::bad_version);
  CHECK(del("/nope") == E::no_node);
  CHECK(del("/zookeeper") == E::bad_arguments);
  CHECK(del("/plain") == E::ok); // only a session's ephemeral is refused
  h.commit_all();
  h.run(0xC, delete_rq("/c/x"));
  auto r = h.submit(h.p.delete_container("/c", h.next_zxid, h.time_ms));
  REQUIRE(r.ok());
  CHECK(r.txn->hdr.type == op::delete_container);
  CHECK(r.txn->hdr.session_id == 0);
  h.commit_all();
  CHECK(h.t.containers().empty());
}

TEST_CASE("TTL nodes with extended types enabled", "[prep][ttl]") {
  tree t;
  prep p{t, prep_options{true, false, false}};
  int64_t zxid = 1;
  auto ttl_rq = [](std::string path, int32_t flags, int64_t ttl) {
    wire::request rq;
    rq.hdr.type = op::create_ttl;
    rq.body =
        wire::create_ttl_request{std::move(path), "", open_acl(), flags, ttl};
    return rq;
  };
  CHECK(p.prepare(1, 1, ttl_rq("/t", 5, 0), zxid, 0).err == E::bad_arguments);
  CHECK(p.prepare(1, 1, ttl_rq("/t", 5, max_ttl_ms + 1), zxid, 0).err ==
        E::bad_arguments);
  CHECK(p.prepare(1, 1, ttl_rq("/t", 0, 1000), zxid, 0).err ==
        E::bad_arguments);
  // A plain create with a TTL mode carries no TTL.
  CHECK(p.prepare(1, 1, create_rq("/t", "", 5), zxid, 0).err ==
        E::bad_arguments);
  auto r = p.prepare(1, 1, ttl_rq("/t", 6, 1000), zxid, 0);
  REQUIRE(r.ok());
  auto& c = std::get<txn::create_ttl>(r.txn->b);
  CHECK(c.path == "/t0000000000");
  CHECK(c.ttl_ms == 1000);
  auto a = t.apply(*r.txn);
  REQUIRE(a.err == E::ok);
  CHECK(a.stat->ephemeral_owner == 0);
  CHECK(t.ttls() == std::set<std::string>{"/t0000000000"});
  p.applied(zxid);
  // A TTL node may have children (it is not a session's ephemeral).
  CHECK(p.prepare(1, 2, create_rq("/t0000000000/c"), ++zxid, 0).ok());
  t.check_invariants();
}
