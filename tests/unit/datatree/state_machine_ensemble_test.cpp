// state_machine in an ensemble: a learner forwards writes, sync and session
// writes to the leader and answers its clients when the txns commit; the
// leader prepares forwarded requests with the learner's auth ids. Every
// reply a learner's client gets is compared byte for byte with the one a
// client of the leader gets for the same request.
#include <catch2/catch.hpp>

#include <memory>
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
using output = state_machine::output;

namespace {

constexpr int64_t now_ms = 1700000000000;
constexpr uint64_t learner_sid = 2;

wire::request with_xid(wire::request rq, int32_t xid) {
  rq.hdr.xid = xid;
  return rq;
}

wire::request get_data_rq(std::string path, bool watch, int32_t xid) {
  wire::request rq;
  rq.hdr.type = op::get_data;
  rq.hdr.xid = xid;
  rq.body = wire::get_data_request{std::move(path), watch};
  return rq;
}

wire::request sync_rq(std::string path, int32_t xid) {
  wire::request rq;
  rq.hdr.type = op::sync;
  rq.hdr.xid = xid;
  rq.body = wire::sync_request{std::move(path)};
  return rq;
}

wire::request close_rq(int32_t xid) {
  wire::request rq;
  rq.hdr.type = op::close_session;
  rq.hdr.xid = xid;
  return rq;
}

wire::request auth_rq(std::string scheme, std::string auth) {
  wire::request rq;
  rq.hdr.type = op::auth;
  rq.hdr.xid = wire::xid::auth;
  rq.body = wire::auth_packet{0, std::move(scheme), std::move(auth)};
  return rq;
}

// One node's state machine, its invariants checked after every input.
struct node_sm {
  state_machine sm{std::make_unique<tree>()};

  output take() {
    sm.check_invariants();
    auto out = sm.take_output();
    CHECK(out.faults.empty());
    return out;
  }

  output requests(int64_t session, std::vector<wire::request> rqs) {
    sm.requests(session, std::move(rqs), now_ms);
    return take();
  }

  output commit(int64_t zxid) {
    sm.commit(zxid);
    return take();
  }
};

std::vector<const item*> replies(const output& out, int64_t session) {
  std::vector<const item*> result;
  for (auto& i : out.dispatch.items)
    if (i.kind == item::reply && i.session == session)
      result.push_back(&i);
  return result;
}

std::vector<const item*> items_of(const output& out, item::kind_t kind) {
  std::vector<const item*> result;
  for (auto& i : out.dispatch.items)
    if (i.kind == kind)
      result.push_back(&i);
  return result;
}

// A leader, a learner and a reference leader whose own client runs the
// same requests the learner's client does: the learner's replies must be
// the reference's, byte for byte. All three start from the same history.
struct ensemble {
  node_sm leader;
  node_sm learner;
  node_sm reference;

  ensemble() {
    leader.sm.lead(1);
    reference.sm.lead(1);
    learner.sm.follow();
  }

  // Every proposal of the leader goes to the learner, as the follower
  // actor hands PROPOSALs over.
  void propose_to_learner(const output& out) {
    for (auto& e : out.proposals.entries)
      learner.sm.learner_proposal(e.zxid, e.payload);
    learner.take();
  }

  // The leader gets the learner's forwards; returns the leader's output.
  output forward(const output& learner_out) {
    output all;
    for (auto& f : learner_out.forwards) {
      leader.sm.forwarded(learner_sid, f, now_ms);
      auto o = leader.take();
      for (auto& e : o.proposals.entries)
        all.proposals.entries.push_back(e);
      for (auto& r : o.forward_replies.items)
        all.forward_replies.items.push_back(r);
      for (auto& a : o.session_applied)
        all.session_applied.push_back(a);
    }
    return all;
  }

  // Commits on both nodes what the leader has in flight up to `zxid`:
  // returns the learner's output.
  output commit_both(int64_t zxid) {
    leader.commit(zxid);
    return learner.commit(zxid);
  }

  // Opens `session` on every node through the leader (as if a client of
  // the leader had connected) and attaches it on the learner.
  void open(int64_t session) {
    REQUIRE(leader.sm.session_write({session, op::create_session, 30000},
                                    now_ms) == E::ok);
    auto out = leader.take();
    REQUIRE(out.proposals.entries.size() == 1);
    propose_to_learner(out);
    REQUIRE(reference.sm.session_write({session, op::create_session, 30000},
                                       now_ms) == E::ok);
    auto zxid = out.proposals.entries[0].zxid;
    reference.commit(zxid);
    commit_both(zxid);
    learner.sm.attach(session, "10.0.0.7");
    learner.take();
    reference.sm.attach(session, "10.0.0.7");
    reference.take();
  }

  // The reference's client runs `rqs` to completion; its replies, in order.
  std::vector<std::vector<char>>
  reference_replies(int64_t session, std::vector<wire::request> rqs) {
    std::vector<std::vector<char>> frames;
    auto collect = [&](const output& o) {
      for (auto* r : replies(o, session))
        frames.push_back(r->frame);
    };
    auto out = reference.requests(session, std::move(rqs));
    collect(out);
    for (auto& e : out.proposals.entries)
      collect(reference.commit(e.zxid));
    return frames;
  }
};

} // namespace

TEST_CASE("a learner forwards a write and holds the session's read behind it",
          "[state_machine][ensemble]") {
  ensemble n;
  n.open(1);
  n.open(2);
  auto create = with_xid(create_rq("/a", "v1", 0, op::create2), 10);
  auto read = get_data_rq("/a", true, 11);
  auto out = n.learner.requests(1, {create, read});
  // Nothing for the client yet: the write is the leader's to order.
  CHECK(replies(out, 1).empty());
  CHECK(out.proposals.entries.empty());
  REQUIRE(out.forwards.size() == 1);
  auto& f = out.forwards[0];
  CHECK(f.session == 1);
  CHECK(f.cxid == 10);
  CHECK(f.type == op::create2);
  // The payload is the request as the client sent it, header included.
  wire::request back;
  REQUIRE(wire::decode_request(f.payload, back) == wire::decode_status::ok);
  CHECK(back.hdr.xid == 10);
  CHECK(back.hdr.type == op::create2);
  CHECK(std::get<wire::create_request>(back.body).path == "/a");
  // The session's ids on this node travel with it.
  REQUIRE(f.auth.size() == 1);
  CHECK(f.auth[0].scheme == "ip");
  CHECK(f.auth[0].id == "10.0.0.7");
  CHECK(n.learner.sm.blocked_sessions() == 1);

  // Another session's read on the learner is not held.
  auto other = n.learner.requests(2, {get_data_rq("/a", false, 3)});
  REQUIRE(replies(other, 2).size() == 1);
  CHECK(decode(replies(other, 2)[0]->frame).hdr.err ==
        static_cast<int32_t>(E::no_node));

  // The leader proposes it and answers nobody: the learner's client waits
  // for the commit on the learner.
  auto lo = n.forward(out);
  REQUIRE(lo.proposals.entries.size() == 1);
  CHECK(lo.forward_replies.items.empty());
  auto zxid = lo.proposals.entries[0].zxid;
  n.propose_to_learner(lo);
  CHECK(n.learner.sm.inflight_count() == 1);
  n.leader.sm.commit(zxid);
  auto leader_out = n.leader.take();
  CHECK(replies(leader_out, 1).empty());

  auto done = n.learner.commit(zxid);
  auto rs = replies(done, 1);
  REQUIRE(rs.size() == 2);
  // Byte for byte what a client of a leader gets, read-your-writes included,
  // and the read's data watch is registered like the leader's.
  auto expected = n.reference_replies(1, {create, read});
  REQUIRE(expected.size() == 2);
  CHECK(rs[0]->frame == expected[0]);
  CHECK(rs[1]->frame == expected[1]);
  CHECK(rs[1]->type == static_cast<int32_t>(local::watch_kind::data));
  CHECK(rs[1]->path == "/a");
  auto r = decode(rs[1]->frame);
  CHECK(r.hdr.xid == 11);
  CHECK(body_of<wire::get_data_response>(r).data == wire::opt_bytes{"v1"});
  CHECK(n.learner.sm.blocked_sessions() == 0);
  CHECK(n.learner.sm.data().digest() == n.leader.sm.data().digest());
}

TEST_CASE("a learner applies other sessions' txns without replying",
          "[state_machine][ensemble]") {
  ensemble n;
  n.open(1);
  n.open(2);
  // A write of a client of the leader.
  auto out = n.leader.requests(2, {with_xid(create_rq("/b", "x"), 4)});
  REQUIRE(out.proposals.entries.size() == 1);
  n.propose_to_learner(out);
  auto zxid = out.proposals.entries[0].zxid;
  auto lo = n.leader.commit(zxid);
  CHECK(replies(lo, 2).size() == 1);
  auto done = n.learner.commit(zxid);
  CHECK(replies(done, 2).empty());
  CHECK(replies(done, 1).empty());
  // Its watch triggers are fired on the learner too.
  auto triggers = items_of(done, item::trigger);
  REQUIRE(!triggers.empty());
  CHECK(triggers[0]->path == "/b");
  CHECK(n.learner.sm.data().exists("/b").err == E::ok);
}

TEST_CASE("a refused forwarded write is answered in order behind an earlier "
          "one",
          "[state_machine][ensemble]") {
  ensemble n;
  n.open(1);
  std::vector<wire::request> rqs{
      with_xid(create_rq("/a", "v1"), 1),
      with_xid(set_rq("/missing", "x"), 2), // ZNONODE at the leader
      get_data_rq("/a", false, 3)};
  auto out = n.learner.requests(1, rqs);
  REQUIRE(out.forwards.size() == 2);
  CHECK(replies(out, 1).empty());
  auto lo = n.forward(out);
  REQUIRE(lo.proposals.entries.size() == 1);
  REQUIRE(lo.forward_replies.items.size() == 1);
  auto& [sid, fr] = lo.forward_replies.items[0];
  CHECK(sid == learner_sid);
  CHECK(fr.session == 1);
  CHECK(fr.cxid == 2);
  CHECK(decode(fr.frame).hdr.err == static_cast<int32_t>(E::no_node));

  // The refusal reaches the learner first but waits behind the create.
  n.propose_to_learner(lo);
  n.learner.sm.forward_reply(fr.session, fr.cxid, fr.frame);
  auto early = n.learner.take();
  CHECK(replies(early, 1).empty());
  CHECK(n.learner.sm.blocked_sessions() == 1);

  auto done = n.commit_both(lo.proposals.entries[0].zxid);
  auto rs = replies(done, 1);
  REQUIRE(rs.size() == 3);
  auto expected = n.reference_replies(1, rqs);
  REQUIRE(expected.size() == 3);
  for (size_t i = 0; i < 3; ++i)
    CHECK(rs[i]->frame == expected[i]);
  CHECK(decode(rs[0]->frame).hdr.xid == 1);
  CHECK(decode(rs[1]->frame).hdr.xid == 2);
  CHECK(decode(rs[2]->frame).hdr.xid == 3);
  CHECK(n.learner.sm.blocked_sessions() == 0);
}

TEST_CASE("a forward reply alone at the front leaves at once",
          "[state_machine][ensemble]") {
  ensemble n;
  n.open(1);
  auto out = n.learner.requests(
      1, {with_xid(delete_rq("/nope"), 5), get_data_rq("/", false, 6)});
  REQUIRE(out.forwards.size() == 1);
  auto lo = n.forward(out);
  REQUIRE(lo.forward_replies.items.size() == 1);
  auto& fr = lo.forward_replies.items[0].second;
  // A reply for a cxid nobody waits for is dropped.
  n.learner.sm.forward_reply(1, 99, fr.frame);
  CHECK(replies(n.learner.take(), 1).empty());
  n.learner.sm.forward_reply(fr.session, fr.cxid, fr.frame);
  auto done = n.learner.take();
  auto rs = replies(done, 1);
  REQUIRE(rs.size() == 2);
  CHECK(rs[0]->frame == fr.frame);
  CHECK(decode(rs[1]->frame).hdr.xid == 6);
}

TEST_CASE("the leader refuses a forwarded write with its own client's frame",
          "[state_machine][ensemble]") {
  ensemble n;
  n.open(1);
  auto setup = with_xid(create_rq("/a", "v1"), 1);
  auto p = n.leader.requests(1, {setup});
  n.leader.commit(p.proposals.entries.at(0).zxid);
  n.reference_replies(1, {setup});

  auto bad = with_xid(set_rq("/a", "v2", 5), 7); // version is 0
  quorum::request f;
  f.session = 1;
  f.cxid = 7;
  f.type = op::set_data;
  std::vector<char> buf;
  wire::writer w{buf};
  wire::write(w, bad);
  f.payload.assign(buf.begin(), buf.end());
  n.leader.sm.forwarded(learner_sid, f, now_ms);
  auto out = n.leader.take();
  CHECK(out.proposals.entries.empty());
  CHECK(replies(out, 1).empty()); // not for a client of the leader
  REQUIRE(out.forward_replies.items.size() == 1);
  auto& [sid, fr] = out.forward_replies.items[0];
  CHECK(sid == learner_sid);
  CHECK(fr.session == 1);
  CHECK(fr.cxid == 7);
  auto expected = n.reference_replies(1, {bad});
  REQUIRE(expected.size() == 1);
  CHECK(fr.frame == expected[0]);
  CHECK(decode(fr.frame).hdr.err == static_cast<int32_t>(E::bad_version));

  SECTION("an undecodable payload gets ZMARSHALLINGERROR") {
    f.payload = "\x01\x02";
    n.leader.sm.forwarded(learner_sid, f, now_ms);
    auto o = n.leader.take();
    REQUIRE(o.forward_replies.items.size() == 1);
    auto d = decode(o.forward_replies.items[0].second.frame);
    CHECK(d.hdr.xid == 7);
    CHECK(d.hdr.err == static_cast<int32_t>(E::marshalling_error));
    CHECK(o.proposals.entries.empty());
  }
}

TEST_CASE("the leader checks a forwarded write with the learner's auth ids",
          "[state_machine][ensemble]") {
  ensemble n;
  n.open(1);
  // A node only digest user "u" may write.
  auto digest = generate_digest("u:pw");
  auto p = n.leader.requests(
      1, {with_xid(create_rq("/d", "x", 0, op::create,
                             {wire::acl{wire::perm::all,
                                        wire::id{"digest", digest}}}),
                   1)});
  n.propose_to_learner(p);
  n.commit_both(p.proposals.entries.at(0).zxid);

  auto write = with_xid(set_rq("/d", "y"), 2);
  SECTION("without the id: ZNOAUTH") {
    auto out = n.learner.requests(1, {write});
    REQUIRE(out.forwards.size() == 1);
    auto lo = n.forward(out);
    CHECK(lo.proposals.entries.empty());
    REQUIRE(lo.forward_replies.items.size() == 1);
    CHECK(decode(lo.forward_replies.items[0].second.frame).hdr.err ==
          static_cast<int32_t>(E::no_auth));
  }
  SECTION("after addauth on the learner: accepted") {
    // The auth packet is answered by the learner itself.
    auto a = n.learner.requests(1, {auth_rq("digest", "u:pw")});
    CHECK(a.forwards.empty());
    REQUIRE(replies(a, 1).size() == 1);
    CHECK(decode(replies(a, 1)[0]->frame).hdr.err == 0);
    auto out = n.learner.requests(1, {write});
    REQUIRE(out.forwards.size() == 1);
    CHECK(out.forwards[0].auth.size() == 2);
    auto lo = n.forward(out);
    CHECK(lo.forward_replies.items.empty());
    REQUIRE(lo.proposals.entries.size() == 1);
    n.propose_to_learner(lo);
    auto done = n.commit_both(lo.proposals.entries[0].zxid);
    REQUIRE(replies(done, 1).size() == 1);
    CHECK(decode(replies(done, 1)[0]->frame).hdr.err == 0);
  }
}

TEST_CASE("a forwarded sync waits for every txn proposed before it",
          "[state_machine][ensemble]") {
  ensemble n;
  n.open(1);
  n.open(2);

  SECTION("nothing in flight: answered at once") {
    auto out = n.learner.requests(1, {sync_rq("/", 4)});
    REQUIRE(out.forwards.size() == 1);
    CHECK(out.forwards[0].type == op::sync);
    auto lo = n.forward(out);
    REQUIRE(lo.forward_replies.items.size() == 1);
    auto d = decode(lo.forward_replies.items[0].second.frame);
    CHECK(d.hdr.xid == 4);
    CHECK(d.hdr.err == 0);
    CHECK(d.hdr.zxid == n.leader.sm.data().last_zxid());
    CHECK(body_of<wire::sync_response>(d).path == "/");
  }

  SECTION("two writes in flight: answered on the commit of the second") {
    auto w1 = n.leader.requests(2, {with_xid(create_rq("/x", ""), 1)});
    auto w2 = n.leader.requests(2, {with_xid(create_rq("/y", ""), 2)});
    auto z1 = w1.proposals.entries.at(0).zxid;
    auto z2 = w2.proposals.entries.at(0).zxid;
    n.propose_to_learner(w1);
    n.propose_to_learner(w2);
    // The learner's client syncs, then reads.
    auto out =
        n.learner.requests(1, {sync_rq("/y", 8), get_data_rq("/y", false, 9)});
    REQUIRE(out.forwards.size() == 1);
    auto lo = n.forward(out);
    CHECK(lo.forward_replies.items.empty());
    CHECK(n.leader.sm.pending_syncs() == 1);
    // A write proposed after the sync does not hold it back.
    auto w3 = n.leader.requests(2, {with_xid(create_rq("/z", ""), 3)});
    auto z3 = w3.proposals.entries.at(0).zxid;
    n.propose_to_learner(w3);

    CHECK(n.leader.commit(z1).forward_replies.items.empty());
    auto at2 = n.leader.commit(z2);
    REQUIRE(at2.forward_replies.items.size() == 1);
    CHECK(n.leader.sm.pending_syncs() == 0);
    auto& fr = at2.forward_replies.items[0].second;
    auto d = decode(fr.frame);
    CHECK(d.hdr.xid == 8);
    CHECK(d.hdr.zxid == z2);
    CHECK(body_of<wire::sync_response>(d).path == "/y");

    // On the learner: the commits arrive before the sync's answer (the
    // leader sent them first); the read after the sync sees /y.
    CHECK(replies(n.learner.commit(z2), 1).empty());
    n.learner.sm.forward_reply(fr.session, fr.cxid, fr.frame);
    auto done = n.learner.take();
    auto rs = replies(done, 1);
    REQUIRE(rs.size() == 2);
    CHECK(rs[0]->frame == fr.frame);
    auto r = decode(rs[1]->frame);
    CHECK(r.hdr.xid == 9);
    CHECK(r.hdr.err == 0);
    n.commit_both(z3);
  }
}

TEST_CASE("createSession from a learner's tracker round trip",
          "[state_machine][ensemble]") {
  ensemble n;
  CHECK(n.learner.sm.session_write({0x55, op::create_session, 12000}, now_ms) ==
        E::ok);
  auto out = n.learner.take();
  CHECK(out.session_applied.empty());
  REQUIRE(out.forwards.size() == 1);
  auto& f = out.forwards[0];
  CHECK(f.session == 0x55);
  CHECK(f.cxid == 0);
  CHECK(f.type == op::create_session);
  CHECK(f.payload == std::string("\x00\x00\x2e\xe0", 4)); // 12000
  CHECK(f.auth.empty());
  CHECK(n.learner.sm.blocked_sessions() == 0);

  auto lo = n.forward(out);
  REQUIRE(lo.proposals.entries.size() == 1);
  CHECK(lo.forward_replies.items.empty());
  n.propose_to_learner(lo);
  auto zxid = lo.proposals.entries[0].zxid;
  auto leader_done = n.leader.commit(zxid);
  REQUIRE(leader_done.session_applied.size() == 1);
  auto done = n.learner.commit(zxid);
  REQUIRE(done.session_applied.size() == 1);
  CHECK(done.session_applied[0].session == 0x55);
  CHECK(done.session_applied[0].opcode == op::create_session);
  CHECK(done.session_applied[0].timeout_ms == 12000);
  CHECK(replies(done, 0x55).empty());
  CHECK(n.learner.sm.data().has_session(0x55));

  SECTION("and the tracker's closeSession") {
    CHECK(n.learner.sm.session_write({0x55, op::close_session, 0}, now_ms) ==
          E::ok);
    auto c = n.learner.take();
    REQUIRE(c.forwards.size() == 1);
    CHECK(c.forwards[0].type == op::close_session);
    CHECK(c.forwards[0].payload.empty());
    auto cl = n.forward(c);
    REQUIRE(cl.proposals.entries.size() == 1);
    n.propose_to_learner(cl);
    auto cd = n.commit_both(cl.proposals.entries[0].zxid);
    REQUIRE(cd.session_applied.size() == 1);
    CHECK(cd.session_applied[0].opcode == op::close_session);
    CHECK_FALSE(n.learner.sm.data().has_session(0x55));
  }
}

TEST_CASE("closeSession from a learner's client closes after the commit",
          "[state_machine][ensemble]") {
  ensemble n;
  n.open(1);
  auto eph = with_xid(create_rq("/e", "", 1), 1); // ephemeral
  auto o1 = n.learner.requests(1, {eph});
  auto l1 = n.forward(o1);
  n.propose_to_learner(l1);
  n.commit_both(l1.proposals.entries.at(0).zxid);
  n.reference_replies(1, {eph});
  REQUIRE(n.learner.sm.data().exists("/e").err == E::ok);

  auto close = close_rq(2);
  auto read = get_data_rq("/", false, 3);
  auto out = n.learner.requests(1, {close, read});
  REQUIRE(out.forwards.size() == 1);
  CHECK(out.forwards[0].type == op::close_session);
  CHECK(out.forwards[0].cxid == 2);
  CHECK(replies(out, 1).empty());
  auto lo = n.forward(out);
  REQUIRE(lo.proposals.entries.size() == 1);
  CHECK(lo.forward_replies.items.empty());
  n.propose_to_learner(lo);
  auto zxid = lo.proposals.entries[0].zxid;
  n.leader.commit(zxid);
  auto done = n.learner.commit(zxid);
  // The close's reply closes the connection; the read queued behind it is
  // answered after it, as the leader does (the connection drops it).
  auto rs = replies(done, 1);
  REQUIRE(rs.size() == 2);
  CHECK(rs[0]->close_after);
  auto expected = n.reference_replies(1, {close, read});
  REQUIRE(expected.size() == 2);
  CHECK(rs[0]->frame == expected[0]);
  CHECK(rs[1]->frame == expected[1]);
  CHECK(decode(rs[0]->frame).hdr.xid == 2);
  REQUIRE(done.session_applied.size() == 1);
  CHECK(done.session_applied[0].opcode == op::close_session);
  CHECK(items_of(done, item::session_gone).size() == 1);
  CHECK(n.learner.sm.data().exists("/e").err == E::no_node);
  CHECK_FALSE(n.learner.sm.data().has_session(1));
  CHECK(n.learner.sm.blocked_sessions() == 0);
  CHECK(n.learner.sm.data().digest() == n.leader.sm.data().digest());
}

TEST_CASE("a learner's failed multi is answered like the leader's",
          "[state_machine][ensemble]") {
  ensemble n;
  n.open(1);
  auto m = with_xid(multi_rq({mop(op::create, create_rq("/m", "")),
                              mop(op::remove, delete_rq("/nope"))}),
                    3);
  auto out = n.learner.requests(1, {m});
  REQUIRE(out.forwards.size() == 1);
  auto lo = n.forward(out);
  // ZooKeeper logs a failed multi as a txn: it comes back as a proposal.
  REQUIRE(lo.proposals.entries.size() == 1);
  n.propose_to_learner(lo);
  auto done = n.commit_both(lo.proposals.entries[0].zxid);
  REQUIRE(replies(done, 1).size() == 1);
  auto expected = n.reference_replies(1, {m});
  REQUIRE(expected.size() == 1);
  CHECK(replies(done, 1)[0]->frame == expected[0]);
}

TEST_CASE("a learner refuses what it cannot use", "[state_machine][ensemble]") {
  node_sm l;
  l.sm.follow();
  SECTION("a proposal that does not decode") {
    l.sm.learner_proposal(5, "garbage");
    auto out = l.sm.take_output();
    CHECK(out.faults.size() == 1);
    CHECK(l.sm.inflight_count() == 0);
  }
  SECTION("a proposal whose txn has another zxid") {
    txn::record r;
    r.hdr = txn::header{1, 0, 7, now_ms, op::create_session};
    r.b = txn::create_session{30000};
    l.sm.learner_proposal(8, txn::encode(r));
    CHECK(l.sm.take_output().faults.size() == 1);
    l.sm.learner_proposal(7, txn::encode(r));
    CHECK(l.take().faults.empty());
    // Not above what is held.
    l.sm.learner_proposal(7, txn::encode(r));
    CHECK(l.sm.take_output().faults.size() == 1);
    CHECK(l.sm.inflight_count() == 1);
  }
  SECTION("writes of a session it does not know") {
    auto out = l.requests(9, {with_xid(create_rq("/a", ""), 1)});
    CHECK(out.forwards.empty());
    REQUIRE(replies(out, 9).size() == 1);
    CHECK(decode(replies(out, 9)[0]->frame).hdr.err ==
          static_cast<int32_t>(E::session_expired));
  }
}

// Today's answer (serve_read's) on every node, whichever it is.
TEST_CASE("reconfig is answered by the node the client is connected to",
          "[state_machine][ensemble]") {
  ensemble n;
  n.open(1);
  wire::request rq;
  rq.hdr.type = op::reconfig;
  rq.hdr.xid = 4;
  rq.body = wire::reconfig_request{};
  auto out = n.learner.requests(1, {rq});
  CHECK(out.forwards.empty());
  REQUIRE(replies(out, 1).size() == 1);
  auto expected = n.reference_replies(1, {rq});
  REQUIRE(expected.size() == 1);
  CHECK(replies(out, 1)[0]->frame == expected[0]);
  CHECK(decode(expected[0]).hdr.err != 0);
}

TEST_CASE("a forwarded request before lead() is refused with ZCONNECTIONLOSS",
          "[state_machine][ensemble]") {
  node_sm l;
  auto rq = with_xid(create_rq("/a", ""), 3);
  quorum::request f;
  f.session = 1;
  f.cxid = 3;
  f.type = op::create;
  std::vector<char> buf;
  wire::writer w{buf};
  wire::write(w, rq);
  f.payload.assign(buf.begin(), buf.end());
  l.sm.forwarded(learner_sid, f, now_ms);
  auto out = l.take();
  CHECK(out.proposals.entries.empty());
  REQUIRE(out.forward_replies.items.size() == 1);
  auto d = decode(out.forward_replies.items[0].second.frame);
  CHECK(d.hdr.xid == 3);
  CHECK(d.hdr.err == static_cast<int32_t>(E::connection_loss));
}
