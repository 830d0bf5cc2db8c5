// Authentication and ACLs through the state machine, as a ZooKeeper 3.8
// connection sees them: auth ids per connection (ip from the peer address,
// addauth digest, the super digest), AUTHFAILED, ACL checks on every read and
// write, whoami and multiRead. Replies are decoded from the frames a client
// would receive.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "actors/datatree/state_machine.hpp"
#include "harness.hpp"
#include "messages/wire/jute.hpp"
#include "messages/wire/protocol.hpp"
#include "messages/wire/records.hpp"

using namespace zkd;
using namespace zkd::datatree;
using namespace zkd::datatree::test;
using E = wire::err;
using item = local::dispatch_item;

namespace {

constexpr int64_t now_ms = 1700000000000;
const std::string super_digest = "super:D/InIHSb7yEEbrWz8b9l71RjZJU=";

template <class T>
wire::request rq_of(int32_t type, int32_t xid, T body) {
  wire::request rq;
  rq.hdr.type = type;
  rq.hdr.xid = xid;
  rq.body = std::move(body);
  return rq;
}

wire::request auth_rq(std::string scheme, std::string cred, int32_t xid = -4) {
  return rq_of(op::auth, xid,
               wire::auth_packet{0, std::move(scheme), std::move(cred)});
}

wire::request get_data(std::string path, int32_t xid = 1) {
  return rq_of(op::get_data, xid, wire::get_data_request{std::move(path), 0});
}

wire::request get_children(std::string path, int32_t xid = 1) {
  return rq_of(op::get_children, xid,
               wire::get_children_request{std::move(path), false});
}

wire::request get_acl(std::string path, int32_t xid = 1) {
  return rq_of(op::get_acl, xid, wire::get_acl_request{std::move(path)});
}

wire::request whoami(int32_t xid = 1) {
  wire::request rq;
  rq.hdr.type = op::whoami;
  rq.hdr.xid = xid;
  return rq;
}

wire::request with_xid(wire::request rq, int32_t xid) {
  rq.hdr.xid = xid;
  return rq;
}

std::vector<wire::acl> acl_of(int32_t perms, std::string scheme,
                              std::string ident) {
  return {wire::acl{perms, wire::id{std::move(scheme), std::move(ident)}}};
}

// One MultiResponse result: type, err and (getData) data or (getChildren)
// children.
struct result {
  int32_t type = 0;
  int32_t err = 0;
  wire::opt_bytes data;
  std::vector<std::string> children;
};

std::vector<result> multi_results(const decoded& d) {
  std::vector<result> out;
  auto r = d.body();
  while (true) {
    wire::multi_header h;
    REQUIRE(wire::read(r, h));
    if (h.done)
      break;
    result x;
    x.type = h.type;
    x.err = h.err;
    if (h.type == op::get_data) {
      wire::get_data_response b;
      REQUIRE(wire::read(r, b));
      x.data = b.data;
    } else if (h.type == op::get_children) {
      wire::get_children_response b;
      REQUIRE(wire::read(r, b));
      x.children = b.children;
    } else {
      REQUIRE(h.type == op::error);
      wire::error_response b;
      REQUIRE(wire::read(r, b));
      CHECK(b.err == h.err);
    }
    out.push_back(std::move(x));
  }
  return out;
}

struct fixture {
  state_machine sm{std::make_unique<tree>(), prep_options{}, super_digest};

  state_machine::output take() {
    sm.check_invariants();
    auto out = sm.take_output();
    CHECK(out.faults.empty());
    return out;
  }

  // Leads, opens the sessions and attaches each from 127.0.0.1.
  void start(std::vector<int64_t> sessions) {
    sm.lead(1);
    for (auto s : sessions)
      REQUIRE(sm.session_write({s, op::create_session, 30000}, now_ms) ==
              E::ok);
    sm.commit(sm.next_zxid() - 1);
    for (auto s : sessions)
      sm.attach(s, "127.0.0.1");
    take();
  }

  // Sends the requests and commits whatever they proposed; returns every
  // reply frame of `session`, decoded, in order.
  std::vector<decoded> run(int64_t session, std::vector<wire::request> rqs) {
    sm.requests(session, std::move(rqs), now_ms);
    auto out = take();
    auto all = std::move(out.dispatch.items);
    if (!out.proposals.entries.empty()) {
      sm.commit(out.proposals.entries.back().zxid);
      auto more = take();
      for (auto& i : more.dispatch.items)
        all.push_back(std::move(i));
    }
    std::vector<decoded> result;
    for (auto& i : all)
      if (i.kind == item::reply && i.session == session && !i.frame.empty())
        result.push_back(decode(i.frame));
    return result;
  }

  decoded one(int64_t session, wire::request rq) {
    auto rs = run(session, {std::move(rq)});
    REQUIRE(rs.size() == 1);
    return rs[0];
  }

  int32_t err(int64_t session, wire::request rq) {
    return one(session, std::move(rq)).hdr.err;
  }
};

constexpr int32_t ok = 0;
constexpr auto no_auth = static_cast<int32_t>(E::no_auth);
constexpr auto invalid_acl = static_cast<int32_t>(E::invalid_acl);

} // namespace

TEST_CASE("a connection starts as its ip and adds digest ids",
          "[acl][auth][state_machine]") {
  fixture f;
  f.start({1});
  CHECK(f.sm.auth_of(1) == auth_ids{wire::id{"ip", "127.0.0.1"}});
  auto rep = f.one(1, auth_rq("digest", "bob:pw"));
  // processPacket's reply: the packet's xid, zxid 0.
  CHECK(rep.hdr.xid == -4);
  CHECK(rep.hdr.zxid == 0);
  CHECK(rep.hdr.err == ok);
  CHECK(f.sm.auth_of(1).size() == 2);
  // The same id again changes nothing; "ip" re-adds the peer address.
  CHECK(f.err(1, auth_rq("digest", "bob:pw")) == ok);
  CHECK(f.one(1, auth_rq("ip", "whatever", 77)).hdr.xid == 77);
  CHECK(f.sm.auth_of(1).size() == 2);
  auto who = body_of<wire::whoami_response>(f.one(1, whoami(5)));
  REQUIRE(who.client_info.size() == 2);
  CHECK(who.client_info[0].auth_scheme == "digest");
  CHECK(who.client_info[0].user == "bob");
  CHECK(who.client_info[1].auth_scheme == "ip");
  CHECK(who.client_info[1].user == "127.0.0.1");

  SECTION("a new connection starts over") {
    f.sm.attach(1, "::ffff:10.1.2.3");
    CHECK(f.sm.auth_of(1) == auth_ids{wire::id{"ip", "10.1.2.3"}});
  }
  SECTION("closing the session forgets its ids") {
    wire::request close;
    close.hdr.type = op::close_session;
    close.hdr.xid = 9;
    f.run(1, {close});
    CHECK(f.sm.auth_of(1).empty());
  }
}

TEST_CASE("an unknown scheme fails and the connection reads no more",
          "[acl][auth][state_machine]") {
  fixture f;
  f.start({1});
  for (auto scheme : {"world", "auth", "super", "sasl", "foo", ""}) {
    CAPTURE(scheme);
    f.sm.attach(1, "127.0.0.1");
    // The session's ids (ip) for the watch dispatcher.
    auto attached = f.take();
    REQUIRE(attached.dispatch.items.size() == 1);
    CHECK(attached.dispatch.items[0].kind == item::session_auth);
    f.sm.requests(
        1, {auth_rq(scheme, "anyone"), create_rq("/after"), get_data("/")},
        now_ms);
    auto out = f.take();
    // Only the AUTHFAILED reply, and it closes the connection.
    REQUIRE(out.dispatch.items.size() == 1);
    auto& i = out.dispatch.items[0];
    CHECK(i.close_after);
    auto d = decode(i.frame);
    CHECK(d.hdr.xid == -4);
    CHECK(d.hdr.zxid == 0);
    CHECK(d.hdr.err == static_cast<int32_t>(E::auth_failed));
    CHECK(out.proposals.entries.empty());
    // Still nothing until the session attaches again.
    f.sm.requests(1, {get_data("/")}, now_ms);
    CHECK(f.take().dispatch.items.empty());
  }
  f.sm.attach(1, "127.0.0.1");
  CHECK(f.err(1, get_data("/")) == ok);
}

TEST_CASE("digest ACLs on every operation", "[acl][auth][state_machine]") {
  fixture f;
  f.start({1, 2});
  auto bob = generate_digest("bob:pw");
  REQUIRE(f.err(1, auth_rq("digest", "bob:pw")) == ok);
  // Session 1 creates /p readable and writable by bob only, with a child.
  REQUIRE(f.err(1, create_rq("/p", "v", 0, op::create,
                             acl_of(wire::perm::all, "digest", bob))) == ok);
  REQUIRE(f.err(1, create_rq("/p/c", "", 0, op::create, open_acl())) == ok);
  auto data_rq = [](int32_t xid) {
    return get_data("/p", xid);
  };

  SECTION("without the id every checked op is NoAuth") {
    CHECK(f.err(2, data_rq(1)) == no_auth);
    CHECK(f.err(2, get_children("/p")) == no_auth);
    CHECK(f.err(2, rq_of(op::get_children2, 1,
                         wire::get_children2_request{"/p", false})) == no_auth);
    CHECK(f.err(2, rq_of(op::get_all_children_number, 1,
                         wire::get_all_children_number_request{"/p"})) ==
          no_auth);
    CHECK(f.err(2, get_acl("/p")) == no_auth);
    CHECK(f.err(2, set_rq("/p", "x")) == no_auth);
    CHECK(f.err(2, create_rq("/p/d")) == no_auth);
    CHECK(f.err(2, delete_rq("/p/c")) == no_auth);
    CHECK(f.err(2, set_acl_rq("/p", open_acl())) == no_auth);
    CHECK(f.err(2, check_rq("/p", -1)) == no_auth);
    // exists has no ACL check; a missing node is NoNode before NoAuth.
    CHECK(f.err(2, rq_of(op::exists, 1, wire::exists_request{"/p", false})) ==
          ok);
    CHECK(f.err(2, get_data("/p/none")) == static_cast<int32_t>(E::no_node));
    // A multi fails at the op without permission.
    auto m = f.one(2, multi_rq({mop(op::create, create_rq("/q")),
                                mop(op::set_data, set_rq("/p", "x"))}));
    CHECK(m.hdr.err == 0);
  }
  SECTION("with it every op passes") {
    REQUIRE(f.err(2, auth_rq("digest", "bob:pw")) == ok);
    CHECK(f.err(2, data_rq(1)) == ok);
    CHECK(f.err(2, set_rq("/p", "x")) == ok);
    CHECK(f.err(2, create_rq("/p/d")) == ok);
    CHECK(f.err(2, delete_rq("/p/d")) == ok);
    auto acl = body_of<wire::get_acl_response>(f.one(2, get_acl("/p")));
    REQUIRE(acl.acl.size() == 1);
    CHECK(acl.acl[0].id.ident == bob);
  }
  SECTION("the super digest passes every check") {
    REQUIRE(f.err(2, auth_rq("digest", "super:test")) == ok);
    CHECK(f.sm.auth_of(2).size() == 3); // ip, super, digest super:...
    CHECK(f.err(2, data_rq(1)) == ok);
    CHECK(f.err(2, set_acl_rq("/p", acl_of(wire::perm::read, "ip",
                                           "10.0.0.0/8"))) == ok);
    auto who = body_of<wire::whoami_response>(f.one(2, whoami()));
    bool has_super = false;
    for (auto& ci : who.client_info)
      has_super |= ci.auth_scheme == "super" && ci.user.empty();
    CHECK(has_super);
  }
  SECTION("a wrong password is just another id") {
    REQUIRE(f.err(2, auth_rq("digest", "bob:wrong")) == ok);
    CHECK(f.err(2, data_rq(1)) == no_auth);
  }
}

TEST_CASE("getACL without ADMIN hides digests", "[acl][auth][state_machine]") {
  fixture f;
  f.start({1, 2});
  auto bob = generate_digest("bob:pw");
  REQUIRE(f.err(1, create_rq("/r", "", 0, op::create,
                             {wire::acl{wire::perm::read, {"world", "anyone"}},
                              wire::acl{wire::perm::all, {"digest", bob}}})) ==
          ok);
  auto hidden = body_of<wire::get_acl_response>(f.one(2, get_acl("/r")));
  REQUIRE(hidden.acl.size() == 2);
  CHECK(hidden.acl[1].id.ident == "bob:x");
  REQUIRE(f.err(2, auth_rq("digest", "bob:pw")) == ok);
  auto shown = body_of<wire::get_acl_response>(f.one(2, get_acl("/r")));
  CHECK(shown.acl[1].id.ident == bob);
}

TEST_CASE("ip ACLs match the connection's address",
          "[acl][auth][state_machine]") {
  fixture f;
  f.start({1, 2});
  f.sm.attach(2, "10.0.0.7");
  REQUIRE(f.err(1, create_rq("/local", "", 0, op::create,
                             acl_of(wire::perm::all, "ip", "127.0.0.0/8"))) ==
          ok);
  CHECK(f.err(1, get_data("/local")) == ok);
  CHECK(f.err(2, get_data("/local")) == no_auth);
  // addauth ip adds the connection's own address, not the one it names.
  CHECK(f.err(2, auth_rq("ip", "127.0.0.1")) == ok);
  CHECK(f.err(2, get_data("/local")) == no_auth);
}

TEST_CASE("ACL validation on create and setACL", "[acl][auth][state_machine]") {
  fixture f;
  f.start({1});
  auto create_with = [&](std::vector<wire::acl> acl) {
    static int n = 0;
    return f.err(1, create_rq("/v" + std::to_string(n++), "", 0, op::create,
                              std::move(acl)));
  };
  CHECK(create_with({}) == invalid_acl);
  CHECK(create_with(acl_of(31, "foo", "bar")) == invalid_acl);
  CHECK(create_with(acl_of(31, "world", "someone")) == invalid_acl);
  CHECK(create_with(acl_of(31, "ip", "1.2.3")) == invalid_acl);
  CHECK(create_with(acl_of(31, "ip", "1.2.3.4/33")) == invalid_acl);
  CHECK(create_with(acl_of(31, "digest", "nocolon")) == invalid_acl);
  CHECK(create_with(acl_of(31, "digest", "a:b:c")) == invalid_acl);
  // auth with only the ip id: nothing to expand into.
  CHECK(create_with(acl_of(31, "auth", "")) == invalid_acl);
  CHECK(f.err(1, set_acl_rq("/", {})) == invalid_acl);
  REQUIRE(f.err(1, auth_rq("digest", "u:p")) == ok);
  REQUIRE(f.err(1, create_rq("/mine", "", 0, op::create,
                             acl_of(wire::perm::all, "auth", "whatever"))) ==
          ok);
  auto acl = body_of<wire::get_acl_response>(f.one(1, get_acl("/mine")));
  REQUIRE(acl.acl.size() == 1);
  CHECK(acl.acl[0].id == wire::id{"digest", generate_digest("u:p")});
  SECTION("setACL checks ADMIN, then the ACL version") {
    CHECK(f.err(1, set_acl_rq("/mine", acl_of(31, "auth", ""), 5)) ==
          static_cast<int32_t>(E::bad_version));
    auto st = body_of<wire::set_acl_response>(
        f.one(1, set_acl_rq("/mine", acl_of(wire::perm::read, "auth", ""), 0)));
    CHECK(st.stat.aversion == 1);
    // READ only now: ADMIN is gone, so even the owner cannot change it.
    CHECK(f.err(1, set_acl_rq("/mine", open_acl())) == no_auth);
  }
}

TEST_CASE("a read keeps the auth ids it arrived with",
          "[acl][auth][state_machine]") {
  fixture f;
  f.start({1});
  auto bob = generate_digest("bob:pw");
  REQUIRE(f.err(1, auth_rq("digest", "bob:pw")) == ok);
  REQUIRE(f.err(1, create_rq("/p", "", 0, op::create,
                             acl_of(wire::perm::all, "digest", bob))) == ok);
  f.sm.attach(1, "127.0.0.1"); // a new connection, not yet authenticated
  // A write in flight holds the reads behind it; the auth packet is handled
  // (and answered) at once, as ZooKeeper's processPacket does.
  f.sm.requests(1,
                {with_xid(set_rq("/", "x"), 1), get_data("/p", 2),
                 auth_rq("digest", "bob:pw"), get_data("/p", 3)},
                now_ms);
  auto out = f.take();
  // The session's new ids for the watch dispatcher (attach, then the auth
  // packet), and the auth reply.
  REQUIRE(out.dispatch.items.size() == 3);
  CHECK(out.dispatch.items[0].kind == item::session_auth);
  CHECK(out.dispatch.items[1].kind == item::session_auth);
  CHECK(out.dispatch.items[1].ids.size() == 2); // ip and digest
  CHECK(decode(out.dispatch.items[2].frame).hdr.xid == -4);
  REQUIRE(out.proposals.entries.size() == 1);
  f.sm.commit(out.proposals.entries[0].zxid);
  auto done = f.take();
  std::vector<std::pair<int32_t, int32_t>> got;
  for (auto& i : done.dispatch.items) {
    if (i.kind != item::reply)
      continue; // the setData's watch trigger
    auto d = decode(i.frame);
    got.emplace_back(d.hdr.xid, d.hdr.err);
  }
  CHECK(got == std::vector<std::pair<int32_t, int32_t>>{
                   {1, ok}, {2, no_auth}, {3, ok}});
}

TEST_CASE("multiRead answers each op on its own",
          "[acl][auth][state_machine]") {
  fixture f;
  f.start({1, 2});
  auto bob = generate_digest("bob:pw");
  REQUIRE(f.err(1, create_rq("/a", "A")) == ok);
  REQUIRE(f.err(1, create_rq("/a/x", "")) == ok);
  REQUIRE(f.err(1, create_rq("/secret", "S", 0, op::create,
                             acl_of(wire::perm::all, "digest", bob))) == ok);
  wire::multi_request m;
  auto add = [&](int32_t type, auto body) {
    wire::multi_op o;
    o.type = type;
    o.body = std::move(body);
    m.ops.push_back(std::move(o));
  };
  add(op::get_data, wire::get_data_request{"/a", false});
  add(op::get_children, wire::get_children_request{"/a", false});
  add(op::get_data, wire::get_data_request{"/missing", false});
  add(op::get_data, wire::get_data_request{"/secret", false});
  add(op::get_children, wire::get_children_request{"/", false});
  auto d = f.one(2, rq_of(op::multi_read, 7, m));
  CHECK(d.hdr.xid == 7);
  CHECK(d.hdr.err == 0);
  auto rs = multi_results(d);
  REQUIRE(rs.size() == 5);
  CHECK(rs[0].type == op::get_data);
  CHECK(rs[0].data == wire::opt_bytes{"A"});
  CHECK(rs[1].type == op::get_children);
  CHECK(rs[1].children == std::vector<std::string>{"x"});
  CHECK(rs[2].type == op::error);
  CHECK(rs[2].err == static_cast<int32_t>(E::no_node));
  CHECK(rs[3].type == op::error);
  CHECK(rs[3].err == no_auth);
  CHECK(rs[4].type == op::get_children); // no RUNTIMEINCONSISTENCY after
  REQUIRE(f.err(2, auth_rq("digest", "bob:pw")) == ok);
  auto again = multi_results(f.one(2, rq_of(op::multi_read, 8, m)));
  CHECK(again[3].data == wire::opt_bytes{"S"});
  // An empty multiRead is an empty answer.
  auto empty = f.one(2, rq_of(op::multi_read, 9, wire::multi_request{}));
  CHECK(empty.hdr.err == 0);
  CHECK(multi_results(empty).empty());
}
