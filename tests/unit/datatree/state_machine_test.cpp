// state_machine: per-session order (ZooKeeper's CommitProcessor), zxids,
// commits and what the shell is handed to send. Replies are decoded from the
// frames clients would receive.
#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <string>
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

wire::request with_xid(wire::request rq, int32_t xid) {
  rq.hdr.xid = xid;
  return rq;
}

wire::request exists_rq(std::string path, bool watch, int32_t xid) {
  wire::request rq;
  rq.hdr.type = op::exists;
  rq.hdr.xid = xid;
  rq.body = wire::exists_request{std::move(path), watch};
  return rq;
}

wire::request get_data_rq(std::string path, bool watch, int32_t xid) {
  wire::request rq;
  rq.hdr.type = op::get_data;
  rq.hdr.xid = xid;
  rq.body = wire::get_data_request{std::move(path), watch};
  return rq;
}

wire::request close_rq(int32_t xid) {
  wire::request rq;
  rq.hdr.type = op::close_session;
  rq.hdr.xid = xid;
  return rq;
}

// The state machine with its invariants checked after every input, and
// what it produced collected per step.
struct fixture {
  state_machine sm{std::make_unique<tree>()};

  state_machine::output step_requests(int64_t session,
                                      std::vector<wire::request> rqs) {
    sm.requests(session, std::move(rqs), now_ms);
    return take();
  }

  state_machine::output step_commit(int64_t zxid) {
    sm.commit(zxid);
    return take();
  }

  state_machine::output take() {
    sm.check_invariants();
    auto out = sm.take_output();
    CHECK(out.faults.empty());
    // Proposals are well-formed txns stamped with their own zxid, in order.
    int64_t prev = 0;
    for (auto& e : out.proposals.entries) {
      txn::record r;
      REQUIRE(txn::decode(e.payload, r));
      CHECK(r.hdr.zxid == e.zxid);
      CHECK(e.zxid > prev);
      prev = e.zxid;
    }
    return out;
  }

  // Leads epoch 1 and opens the given sessions through the write path.
  void start(std::vector<int64_t> sessions) {
    sm.lead(1);
    for (auto s : sessions)
      REQUIRE(sm.session_write({s, op::create_session, 30000}, now_ms) ==
              E::ok);
    sm.commit(sm.next_zxid() - 1);
    take();
  }

  // Writes one request and commits it; returns the commit's output.
  state_machine::output write_now(int64_t session, wire::request rq) {
    auto p = step_requests(session, {std::move(rq)});
    REQUIRE(p.proposals.entries.size() == 1);
    return step_commit(p.proposals.entries.back().zxid);
  }
};

std::vector<const item*> replies(const state_machine::output& out,
                                 int64_t session) {
  std::vector<const item*> result;
  for (auto& i : out.dispatch.items)
    if (i.kind == item::reply && i.session == session)
      result.push_back(&i);
  return result;
}

} // namespace

TEST_CASE("a read waits for its session's earlier write and sees it",
          "[state_machine][order]") {
  fixture f;
  f.start({1, 2});
  auto out = f.step_requests(
      1, {with_xid(create_rq("/a", "v1"), 10), get_data_rq("/a", false, 11)});
  REQUIRE(out.proposals.entries.size() == 1);
  auto zxid = out.proposals.entries[0].zxid;
  CHECK(out.dispatch.items.empty()); // both held: the write is not applied
  CHECK(f.sm.blocked_sessions() == 1);

  SECTION("another session's read is answered at once, before the commit") {
    auto other = f.step_requests(2, {get_data_rq("/a", false, 7)});
    REQUIRE(other.dispatch.items.size() == 1);
    auto d = decode(other.dispatch.items[0].frame);
    CHECK(other.dispatch.items[0].session == 2);
    CHECK(d.hdr.xid == 7);
    CHECK(d.hdr.err == static_cast<int32_t>(E::no_node));
    // A later read of session 1 still waits.
    CHECK(f.step_requests(1, {get_data_rq("/a", false, 12)})
              .dispatch.items.empty());
  }

  auto done = f.step_commit(zxid);
  auto rs = replies(done, 1);
  REQUIRE(rs.size() >= 2);
  auto w = decode(rs[0]->frame);
  CHECK(w.hdr.xid == 10);
  CHECK(w.hdr.zxid == zxid);
  CHECK(w.hdr.err == 0);
  CHECK(body_of<wire::create_response>(w).path == "/a");
  auto r = decode(rs[1]->frame);
  CHECK(r.hdr.xid == 11);
  CHECK(r.hdr.err == 0);
  auto data = body_of<wire::get_data_response>(r);
  CHECK(data.data == wire::opt_bytes{"v1"});
  CHECK(data.stat.czxid == zxid);
  for (size_t i = 2; i < rs.size(); ++i)
    CHECK(decode(rs[i]->frame).hdr.xid == 12);
  CHECK(f.sm.blocked_sessions() == 0);
  CHECK(f.sm.inflight_count() == 0);
}

TEST_CASE("a write prep refuses is answered after the session's pending "
          "write",
          "[state_machine][order]") {
  fixture f;
  f.start({1});
  // prep sees the first create in flight, so the second fails at once with
  // NodeExists, but its reply must not overtake the first one's.
  auto out = f.step_requests(1, {with_xid(create_rq("/b"), 1),
                                 with_xid(create_rq("/b"), 2),
                                 with_xid(delete_rq("/nope"), 3)});
  REQUIRE(out.proposals.entries.size() == 1);
  CHECK(out.dispatch.items.empty());
  auto done = f.step_commit(out.proposals.entries[0].zxid);
  auto rs = replies(done, 1);
  REQUIRE(rs.size() == 3);
  auto a = decode(rs[0]->frame);
  auto b = decode(rs[1]->frame);
  auto c = decode(rs[2]->frame);
  CHECK(a.hdr.xid == 1);
  CHECK(a.hdr.err == 0);
  CHECK(b.hdr.xid == 2);
  CHECK(b.hdr.err == static_cast<int32_t>(E::node_exists));
  CHECK(c.hdr.xid == 3);
  CHECK(c.hdr.err == static_cast<int32_t>(E::no_node));
  // Without a pending write the same error goes out at once.
  auto now = f.step_requests(1, {with_xid(create_rq("/b"), 4)});
  CHECK(now.proposals.entries.empty());
  REQUIRE(now.dispatch.items.size() == 1);
  CHECK(decode(now.dispatch.items[0].frame).hdr.err ==
        static_cast<int32_t>(E::node_exists));
}

TEST_CASE("writes before lead get ConnectionLoss; zxids start at E<<32|1",
          "[state_machine][zxid]") {
  fixture f;
  CHECK_FALSE(f.sm.leading());
  CHECK(f.sm.session_write({1, op::create_session, 30000}, now_ms) ==
        E::connection_loss);
  auto out = f.step_requests(
      1, {with_xid(create_rq("/a"), 5), exists_rq("/", false, 6)});
  CHECK(out.proposals.entries.empty());
  REQUIRE(out.dispatch.items.size() == 2);
  auto w = decode(out.dispatch.items[0].frame);
  CHECK(w.hdr.xid == 5);
  CHECK(w.hdr.err == static_cast<int32_t>(E::connection_loss));
  // Session 1 was never created (nothing can be while not leading), so its
  // read is refused too.
  auto r = decode(out.dispatch.items[1].frame);
  CHECK(r.hdr.xid == 6);
  CHECK(r.hdr.err == static_cast<int32_t>(E::session_expired));

  const int64_t epoch = 7;
  f.sm.lead(epoch);
  CHECK(f.sm.leading());
  CHECK(f.sm.next_zxid() == (epoch << 32 | 1));
  REQUIRE(f.sm.session_write({1, op::create_session, 30000}, now_ms) == E::ok);
  auto created = f.take();
  REQUIRE(created.proposals.entries.size() == 1);
  CHECK(created.proposals.entries[0].zxid == (epoch << 32 | 1));
  txn::record first;
  REQUIRE(txn::decode(created.proposals.entries[0].payload, first));
  CHECK(first.hdr.type == op::create_session);
  CHECK(first.hdr.time_ms == now_ms);
  f.step_commit(epoch << 32 | 1);
  out = f.step_requests(
      1, {with_xid(create_rq("/a"), 7), with_xid(create_rq("/b"), 8)});
  auto all = f.take(); // nothing new
  CHECK(all.empty());
  REQUIRE(out.proposals.entries.size() == 2);
  CHECK(out.proposals.entries[0].zxid == (epoch << 32 | 2));
  CHECK(out.proposals.entries[1].zxid == (epoch << 32 | 3));
  CHECK(f.sm.next_zxid() == (epoch << 32 | 4));
}

TEST_CASE("commit applies exactly the txns up to its zxid, triggers first",
          "[state_machine][commit]") {
  fixture f;
  f.start({1, 2});
  auto p1 = f.step_requests(1, {with_xid(create_rq("/a"), 1)});
  auto p2 = f.step_requests(2, {with_xid(create_rq("/b"), 1)});
  auto p3 = f.step_requests(1, {with_xid(create_rq("/c"), 2)});
  REQUIRE(p1.proposals.entries.size() == 1);
  REQUIRE(p2.proposals.entries.size() == 1);
  REQUIRE(p3.proposals.entries.size() == 1);
  auto z1 = p1.proposals.entries[0].zxid;
  auto z2 = p2.proposals.entries[0].zxid;
  auto z3 = p3.proposals.entries[0].zxid;
  CHECK(z1 < z2);
  CHECK(z2 < z3);
  CHECK(f.sm.inflight_count() == 3);

  auto out = f.step_commit(z2);
  CHECK(f.sm.data().last_zxid() == z2);
  CHECK(f.sm.data().lookup("/a"));
  CHECK(f.sm.data().lookup("/b"));
  CHECK_FALSE(f.sm.data().lookup("/c"));
  CHECK(f.sm.inflight_count() == 1);
  // Per txn: its triggers, then its reply; txns in zxid order.
  std::vector<std::pair<int32_t, std::string>> seen; // kind, path or xid
  for (auto& i : out.dispatch.items) {
    if (i.kind == item::trigger)
      seen.emplace_back(item::trigger, i.path);
    else if (i.kind == item::reply)
      seen.emplace_back(item::reply,
                        std::to_string(i.session) + ":" +
                            std::to_string(decode(i.frame).hdr.zxid));
  }
  std::vector<std::pair<int32_t, std::string>> want{
      {item::trigger, "/a"},
      {item::trigger, "/"},
      {item::reply, "1:" + std::to_string(z1)},
      {item::trigger, "/b"},
      {item::trigger, "/"},
      {item::reply, "2:" + std::to_string(z2)},
  };
  CHECK(seen == want);
  for (auto& i : out.dispatch.items)
    if (i.kind == item::trigger && i.path != "/")
      CHECK(i.type == static_cast<int32_t>(wire::event_type::node_created));

  // A commit of an older zxid again changes nothing.
  CHECK(f.step_commit(z2).empty());
  auto last = f.step_commit(z3);
  REQUIRE(replies(last, 1).size() == 1);
  CHECK(decode(replies(last, 1)[0]->frame).hdr.xid == 2);
  CHECK(f.sm.inflight_count() == 0);
}

TEST_CASE("createSession from the tracker: session_applied, no reply",
          "[state_machine][session]") {
  fixture f;
  f.sm.lead(1);
  REQUIRE(f.sm.session_write({0x42, op::create_session, 12000}, now_ms) ==
          E::ok);
  auto p = f.take();
  REQUIRE(p.proposals.entries.size() == 1);
  CHECK(p.session_applied.empty());
  auto out = f.step_commit(p.proposals.entries[0].zxid);
  CHECK(out.dispatch.items.empty());
  REQUIRE(out.session_applied.size() == 1);
  CHECK(out.session_applied[0].session == 0x42);
  CHECK(out.session_applied[0].opcode == op::create_session);
  CHECK(out.session_applied[0].timeout_ms == 12000);
  CHECK(f.sm.data().sessions().count(0x42) == 1);
}

TEST_CASE("closeSession: reply with close_after, then session_gone",
          "[state_machine][session]") {
  fixture f;
  f.start({1, 2});
  f.write_now(1, with_xid(create_rq("/e", "", 1 /* ephemeral */), 1));
  CHECK(f.sm.data().ephemeral_count() == 1);
  auto dump = f.sm.ephemerals_by_session();
  REQUIRE(dump.size() == 1);
  CHECK(dump[0].first == 1);
  CHECK(dump[0].second == std::vector<std::string>{"/e"});

  // A read behind the close is still answered, before the session is gone.
  auto p = f.step_requests(1, {close_rq(9), exists_rq("/", false, 10)});
  REQUIRE(p.proposals.entries.size() == 1);
  CHECK(p.dispatch.items.empty());
  auto zxid = p.proposals.entries[0].zxid;
  auto out = f.step_commit(zxid);
  auto& items = out.dispatch.items;
  REQUIRE(items.size() >= 4);
  // The ephemeral's deletion fires first.
  CHECK(items[0].kind == item::trigger);
  CHECK(items[0].path == "/e");
  CHECK(items[0].type == static_cast<int32_t>(wire::event_type::node_deleted));
  auto n = items.size();
  auto& reply = items[n - 3];
  CHECK(reply.kind == item::reply);
  CHECK(reply.close_after);
  auto d = decode(reply.frame);
  CHECK(d.hdr.xid == 9);
  CHECK(d.hdr.zxid == zxid);
  CHECK(d.hdr.err == 0);
  CHECK(decode(items[n - 2].frame).hdr.xid == 10);
  CHECK_FALSE(items[n - 2].close_after);
  CHECK(items[n - 1].kind == item::session_gone);
  CHECK(items[n - 1].session == 1);
  REQUIRE(out.session_applied.size() == 1);
  CHECK(out.session_applied[0].session == 1);
  CHECK(out.session_applied[0].opcode == op::close_session);
  CHECK(out.session_applied[0].timeout_ms == 0);
  CHECK(f.sm.data().sessions().count(1) == 0);
  CHECK(f.sm.data().ephemeral_count() == 0);
  CHECK(f.sm.ephemerals_by_session().empty());
  CHECK(f.sm.blocked_sessions() == 0);
}

TEST_CASE("an expiry from the tracker closes the session without a reply",
          "[state_machine][session]") {
  fixture f;
  f.start({1});
  REQUIRE(f.sm.session_write({1, op::close_session, 0}, now_ms) == E::ok);
  auto p = f.take();
  REQUIRE(p.proposals.entries.size() == 1);
  // Writes of the closing session are refused (ZooKeeper: SessionExpired).
  auto refused = f.step_requests(1, {with_xid(create_rq("/x"), 3)});
  CHECK(refused.proposals.entries.empty());
  REQUIRE(refused.dispatch.items.size() == 1);
  CHECK(decode(refused.dispatch.items[0].frame).hdr.err ==
        static_cast<int32_t>(E::session_expired));
  auto out = f.step_commit(p.proposals.entries[0].zxid);
  REQUIRE(out.dispatch.items.size() == 1);
  CHECK(out.dispatch.items[0].kind == item::session_gone);
  REQUIRE(out.session_applied.size() == 1);
  CHECK(out.session_applied[0].opcode == op::close_session);
}

TEST_CASE("a multi that fails in prep is a txn answered per op after commit",
          "[state_machine][multi]") {
  fixture f;
  f.start({1});
  auto x = create_rq("/x");
  auto rq = with_xid(multi_rq({mop(op::create, x), mop(op::create, x),
                               mop(op::create, create_rq("/y"))}),
                     21);
  auto p = f.step_requests(1, {std::move(rq), exists_rq("/x", false, 22)});
  REQUIRE(p.proposals.entries.size() == 1);
  CHECK(p.dispatch.items.empty());
  auto zxid = p.proposals.entries[0].zxid;
  auto out = f.step_commit(zxid);
  CHECK_FALSE(f.sm.data().lookup("/x"));
  CHECK_FALSE(f.sm.data().lookup("/y"));
  CHECK(f.sm.data().last_zxid() == zxid);
  auto rs = replies(out, 1);
  REQUIRE(rs.size() == 2);
  auto d = decode(rs[0]->frame);
  CHECK(d.hdr.xid == 21);
  CHECK(d.hdr.zxid == zxid);
  CHECK(d.hdr.err == 0);
  auto r = d.body();
  std::vector<int32_t> errs;
  for (;;) {
    wire::multi_header mh;
    REQUIRE(wire::read(r, mh));
    if (mh.done) {
      CHECK(mh.type == -1);
      CHECK(mh.err == -1);
      break;
    }
    CHECK(mh.type == op::error);
    wire::error_response er;
    REQUIRE(wire::read(r, er));
    CHECK(er.err == mh.err);
    errs.push_back(er.err);
  }
  CHECK(errs ==
        std::vector<int32_t>{0, static_cast<int32_t>(E::node_exists),
                             static_cast<int32_t>(E::runtime_inconsistency)});
  CHECK(r.remaining() == 0);
  // The read behind it sees no /x.
  auto e = decode(rs[1]->frame);
  CHECK(e.hdr.xid == 22);
  CHECK(e.hdr.err == static_cast<int32_t>(E::no_node));
}

TEST_CASE("reads with watches hand the dispatcher the watch to register",
          "[state_machine][watch]") {
  fixture f;
  f.start({1});
  f.write_now(1, with_xid(create_rq("/a", "d"), 1));
  auto mzxid = f.sm.data().last_zxid();

  SECTION("exists on a missing node keeps an exist watch") {
    auto out = f.step_requests(1, {exists_rq("/missing", true, 2)});
    REQUIRE(out.dispatch.items.size() == 1);
    auto& i = out.dispatch.items[0];
    CHECK(i.kind == item::reply);
    CHECK(i.type == static_cast<int32_t>(local::watch_kind::exist));
    CHECK(i.path == "/missing");
    CHECK(decode(i.frame).hdr.err == static_cast<int32_t>(E::no_node));
  }

  SECTION("getData with a watch registers a data watch; without, none") {
    auto out = f.step_requests(
        1, {get_data_rq("/a", true, 2), get_data_rq("/a", false, 3)});
    REQUIRE(out.dispatch.items.size() == 2);
    CHECK(out.dispatch.items[0].type ==
          static_cast<int32_t>(local::watch_kind::data));
    CHECK(out.dispatch.items[0].path == "/a");
    CHECK(out.dispatch.items[1].type ==
          static_cast<int32_t>(local::watch_kind::none));
  }

  SECTION("setWatches re-registers or fires, then replies with xid -8") {
    wire::request rq;
    rq.hdr.type = op::set_watches;
    rq.hdr.xid = wire::xid::set_watches;
    wire::set_watches sw;
    sw.relative_zxid = mzxid;
    sw.data_watches = {"/a", "/gone"};
    sw.exist_watches = {"/later", "/a"};
    sw.child_watches = {"/"};
    rq.body = sw;
    auto out = f.step_requests(1, {std::move(rq)});
    auto& items = out.dispatch.items;
    REQUIRE(items.size() == 6);
    // Unchanged since the client's zxid: registered again, no frame.
    CHECK(items[0].type == static_cast<int32_t>(local::watch_kind::data));
    CHECK(items[0].path == "/a");
    CHECK(items[0].frame.empty());
    // Deleted while away: NodeDeleted at once.
    auto ev = decode(items[1].frame);
    CHECK(ev.hdr.xid == wire::xid::notification);
    auto we = body_of<wire::watcher_event>(ev);
    CHECK(we.type == static_cast<int32_t>(wire::event_type::node_deleted));
    CHECK(we.path == "/gone");
    CHECK(items[2].type == static_cast<int32_t>(local::watch_kind::exist));
    CHECK(items[2].path == "/later");
    we = body_of<wire::watcher_event>(decode(items[3].frame));
    CHECK(we.type == static_cast<int32_t>(wire::event_type::node_created));
    CHECK(we.path == "/a");
    // "/" got /a as a child at mzxid, which the client has seen.
    CHECK(items[4].type == static_cast<int32_t>(local::watch_kind::child));
    CHECK(items[4].path == "/");
    auto rep = decode(items[5].frame);
    CHECK(rep.hdr.xid == wire::xid::set_watches);
    CHECK(rep.hdr.err == 0);
    CHECK(items[5].type == static_cast<int32_t>(local::watch_kind::none));
  }
}

TEST_CASE("requests of a session that no longer exists get SessionExpired",
          "[state_machine][session]") {
  fixture f;
  f.start({1});
  REQUIRE(f.sm.session_write({1, op::close_session, 0}, now_ms) == E::ok);
  auto p = f.take();
  f.step_commit(p.proposals.entries[0].zxid);
  // Already in the mailbox when the expiry was applied: a write and a read.
  auto out = f.step_requests(
      1, {with_xid(create_rq("/late"), 5), exists_rq("/", false, 6)});
  CHECK(out.proposals.entries.empty());
  REQUIRE(out.dispatch.items.size() == 2);
  for (auto& i : out.dispatch.items)
    CHECK(decode(i.frame).hdr.err == static_cast<int32_t>(E::session_expired));
  CHECK_FALSE(f.sm.data().lookup("/late"));
}
