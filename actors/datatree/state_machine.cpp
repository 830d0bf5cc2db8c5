#include "actors/datatree/state_machine.hpp"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <unordered_set>

#include "actors/datatree/reaper.hpp"
#include "actors/datatree/serve.hpp"
#include "messages/wire/jute.hpp"

namespace zkd::datatree {

namespace {

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "zkd::datatree::state_machine invariant violated: %s\n",
               what);
  std::abort();
}

// The auth ids of a session no connection attached.
const auth_ids& no_ids() {
  static const auth_ids ids;
  return ids;
}

std::string hex(int64_t x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%" PRIx64, static_cast<uint64_t>(x));
  return buf;
}

std::vector<quorum::auth_id> to_quorum(const auth_ids& ids) {
  std::vector<quorum::auth_id> out;
  out.reserve(ids.size());
  for (auto& i : ids)
    out.push_back(quorum::auth_id{i.scheme, i.ident});
  return out;
}

// In the learner's order: the expansion of an "auth" ACL entry follows it.
auth_ids from_quorum(const std::vector<quorum::auth_id>& ids) {
  auth_ids out;
  out.reserve(ids.size());
  for (auto& i : ids)
    out.push_back(wire::id{i.scheme, i.id});
  return out;
}

// A length-prefixed reply frame with at least a ReplyHeader.
bool plausible_frame(const std::vector<char>& frame) {
  constexpr size_t header_bytes = 4 + 4 + 8 + 4; // length, xid, zxid, err
  if (frame.size() < header_bytes)
    return false;
  wire::reader r{frame.data(), frame.size()};
  int32_t len = 0;
  return r.read_int(len) && len >= 0 &&
         static_cast<size_t>(len) == frame.size() - 4;
}

} // namespace

state_machine::state_machine(std::unique_ptr<tree> t, prep_options opts,
                             std::string super_digest)
    : tree_(std::move(t)), super_digest_(std::move(super_digest)) {
  if (!tree_)
    violated("constructed without a tree");
  prep_ = std::make_unique<prep>(*tree_, opts);
}

void state_machine::requests(int64_t session, std::vector<wire::request>&& rqs,
                             int64_t now_ms) {
  for (auto& rq : rqs)
    handle_request(session, rq, now_ms);
}

wire::err state_machine::session_write(const local::session_write& w,
                                       int64_t now_ms) {
  if (following_) {
    // The leader prepares it; the tracker hears of it through
    // session_applied when the txn commits here.
    quorum::request f;
    f.session = w.session;
    f.type = w.opcode;
    if (w.opcode == wire::op::create_session) {
      std::vector<char> buf;
      wire::writer wr{buf};
      wr.write_int(w.timeout_ms);
      f.payload.assign(buf.begin(), buf.end());
    }
    out_.forwards.push_back(std::move(f));
    return wire::err::ok;
  }
  if (!leading())
    return wire::err::connection_loss;
  auto zxid = next_zxid_;
  auto p = prepare_session_write(*prep_, w, zxid, now_ms);
  if (auto* e = std::get_if<wire::err>(&p))
    return *e;
  ++next_zxid_;
  propose(std::move(std::get<txn::record>(p)), w.opcode, false, 0);
  return wire::err::ok;
}

size_t state_machine::reap(int64_t now_ms, size_t limit,
                           int64_t max_never_used_ms) {
  if (!leading())
    return 0;
  size_t proposed = 0;
  for (auto& path :
       reap_candidates(*tree_, now_ms, reap_options{max_never_used_ms})) {
    if (proposed == limit)
      break;
    // prep sees the in-flight changes: a node that got a child or was
    // deleted since the tree was read is refused here, not deleted.
    auto p = prep_->delete_container(path, next_zxid_, now_ms);
    if (!p.ok())
      continue;
    ++next_zxid_;
    propose(std::move(*p.txn), wire::op::delete_container, false, 0);
    ++proposed;
  }
  return proposed;
}

void state_machine::commit(int64_t upto) {
  auto& items = out_.dispatch.items;
  while (!inflight_.empty() && inflight_.front().zxid <= upto) {
    auto f = std::move(inflight_.front());
    inflight_.pop_front();
    auto session = f.txn.hdr.session_id;
    // On a learner: the client of this node whose forwarded request this
    // txn is, if any. An error txn answers whatever request it was made of.
    queued* waiter = nullptr;
    if (following_)
      waiter = find_forwarded(session, f.txn.hdr.cxid,
                              f.opcode == wire::op::error ? 0 : f.opcode);
    int32_t xid = f.from_client ? f.xid : f.txn.hdr.cxid;
    auto res = apply_committed(*tree_, f.txn, f.opcode,
                               f.from_client || waiter ? &xid : nullptr);
    // Triggers first: a client sees the events of a change before the reply
    // to the request that made it (ZooKeeper's FinalRequestProcessor order).
    items.insert(items.end(), std::make_move_iterator(res.triggers.begin()),
                 std::make_move_iterator(res.triggers.end()));
    bool closing = f.opcode == wire::op::close_session;
    if (waiter) {
      if (closing) {
        // Answered at once with the connection's close; as on the leader,
        // what is already answered behind it follows (the connection drops
        // it) and the rest goes with the session's queue below.
        emit_reply(session, std::move(res.frame), local::watch_kind::none, {},
                   true);
        auto& q = queues_[session];
        for (auto it = q.begin(); it != q.end(); ++it)
          if (&*it == waiter) {
            q.erase(it);
            break;
          }
        drain(session);
      } else {
        waiter->resolved = true;
        waiter->frame = std::move(res.frame);
        drain(session);
      }
    } else if (f.from_client) {
      auto& q = queues_[session];
      if (!q.empty() && q.front().kind == queued::write &&
          q.front().zxid == f.zxid)
        q.pop_front();
      else
        out_.faults.push_back("datatree: session " + hex(session) +
                              " queue out of order at zxid " + hex(f.zxid));
      emit_reply(session, std::move(res.frame), local::watch_kind::none, {},
                 closing);
      drain(session);
    }
    if (f.opcode == wire::op::create_session || closing) {
      int32_t timeout = 0;
      if (auto* cs = std::get_if<txn::create_session>(&f.txn.b))
        timeout = cs->timeout_ms;
      out_.session_applied.push_back(
          local::session_applied{session, f.opcode, timeout});
    }
    if (closing) {
      local::dispatch_item gone;
      gone.kind = local::dispatch_item::session_gone;
      gone.session = session;
      items.emplace_back(std::move(gone));
      queues_.erase(session);
      auth_.erase(session);
    }
  }
  prep_->applied(upto);
  answer_syncs();
}

void state_machine::lead(int64_t epoch) {
  if (following_)
    violated("lead() after follow()");
  // The first zxid of an epoch has counter 1 (Zab: epoch << 32 | 1).
  next_zxid_ = (epoch << 32) + 1;
  prep_->reset();
}

void state_machine::follow() {
  if (leading())
    violated("follow() after lead()");
  following_ = true;
  prep_->reset();
}

void state_machine::learner_proposal(int64_t zxid, std::string_view bytes) {
  if (leading()) {
    out_.faults.push_back("datatree: a learner proposal of zxid " + hex(zxid) +
                          " reached the leader; dropped");
    return;
  }
  txn::record r;
  if (!txn::decode(bytes, r) || !txn::well_formed(r)) {
    out_.faults.push_back("datatree: the proposal of zxid " + hex(zxid) +
                          " does not decode as a txn; dropped");
    return;
  }
  if (r.hdr.zxid != zxid) {
    out_.faults.push_back("datatree: the proposal of zxid " + hex(zxid) +
                          " holds a txn of zxid " + hex(r.hdr.zxid) +
                          "; dropped");
    return;
  }
  auto last = inflight_.empty() ? tree_->last_zxid() : inflight_.back().zxid;
  if (zxid <= last) {
    out_.faults.push_back("datatree: the proposal of zxid " + hex(zxid) +
                          " is not above " + hex(last) + "; dropped");
    return;
  }
  // The header's type is the request's op code (create vs create2 shapes
  // the reply), as the leader's prep wrote it.
  auto opcode = r.hdr.type;
  inflight_.push_back(inflight_txn{zxid, std::move(r), opcode, false, 0});
}

void state_machine::forward_reply(int64_t session, int32_t cxid,
                                  std::vector<char> frame) {
  auto* e = find_forwarded(session, cxid, 0);
  if (e == nullptr)
    return; // closed or expired meanwhile: nobody waits for it
  if (!plausible_frame(frame)) {
    out_.faults.push_back("datatree: the leader's reply to cxid " +
                          std::to_string(cxid) + " of session " + hex(session) +
                          " is not a reply frame");
    frame = error_reply(cxid, tree_->last_zxid(), wire::err::system_error);
  }
  e->resolved = true;
  e->frame = std::move(frame);
  drain(session);
}

void state_machine::forwarded(uint64_t sid, const quorum::request& f,
                              int64_t now_ms) {
  auto refuse = [&](int32_t xid, wire::err e) {
    answer_learner(sid, f.session, f.cxid,
                   error_reply(xid, tree_->last_zxid(), e));
  };
  if (!leading()) {
    refuse(f.cxid, wire::err::connection_loss);
    return;
  }
  // The tracker's session writes: no client waits, the learner's tracker
  // hears of the outcome through session_applied.
  if (f.type == wire::op::create_session && f.payload.size() == 4) {
    wire::reader r{f.payload};
    int32_t timeout_ms = 0;
    r.read_int(timeout_ms);
    session_write(
        local::session_write{f.session, wire::op::create_session, timeout_ms},
        now_ms);
    return;
  }
  if (f.type == wire::op::close_session && f.payload.empty()) {
    session_write(local::session_write{f.session, wire::op::close_session, 0},
                  now_ms);
    return;
  }
  wire::request rq;
  if (wire::decode_request(f.payload, rq) != wire::decode_status::ok ||
      rq.hdr.xid != f.cxid || rq.hdr.type != f.type) {
    refuse(f.cxid, wire::err::marshalling_error);
    return;
  }
  bool gone = !tree_->has_session(f.session) && queues_.count(f.session) == 0;
  if (gone &&
      (goes_through_log(rq.hdr.type) || rq.hdr.type == wire::op::sync)) {
    refuse(rq.hdr.xid, wire::err::session_expired);
    return;
  }
  if (rq.hdr.type == wire::op::sync) {
    auto after = inflight_.empty() ? tree_->last_zxid() : inflight_.back().zxid;
    syncs_.push_back(pending_sync{after, sid, f.session, std::move(rq)});
    answer_syncs();
    return;
  }
  auto who = from_quorum(f.auth);
  if (!goes_through_log(rq.hdr.type)) {
    // Learners answer these themselves; should one come, it gets what a
    // client of this node would (watches aside: they live on the learner).
    answer_learner(sid, f.session, f.cxid,
                   serve_read(*tree_, f.session, rq, who).frame);
    return;
  }
  auto zxid = next_zxid_;
  auto p = prepare_write(*prep_, f.session, rq, zxid, now_ms, who);
  if (auto* e = std::get_if<wire::err>(&p)) {
    refuse(rq.hdr.xid, *e);
    return;
  }
  ++next_zxid_;
  propose(std::move(std::get<txn::record>(p)), rq.hdr.type, false, rq.hdr.xid);
}

void state_machine::answer_learner(uint64_t sid, int64_t session, int32_t cxid,
                                   std::vector<char> frame) {
  out_.forward_replies.items.emplace_back(
      sid, local::forward_reply{session, cxid, std::move(frame)});
}

void state_machine::answer_syncs() {
  while (!syncs_.empty() && syncs_.front().after <= tree_->last_zxid()) {
    auto& s = syncs_.front();
    answer_learner(s.sid, s.session, s.request.hdr.xid,
                   serve_read(*tree_, s.session, s.request).frame);
    syncs_.pop_front();
  }
}

void state_machine::forward(int64_t session, const wire::request& rq,
                            const auth_ids& who) {
  quorum::request f;
  f.session = session;
  f.cxid = rq.hdr.xid;
  f.type = rq.hdr.type;
  std::vector<char> buf;
  wire::writer w{buf};
  wire::write(w, rq);
  f.payload.assign(buf.begin(), buf.end());
  f.auth = to_quorum(who);
  out_.forwards.push_back(std::move(f));
  queued e{queued::forwarded, 0, {}, {}, {}};
  e.cxid = rq.hdr.xid;
  e.opcode = rq.hdr.type;
  queues_[session].push_back(std::move(e));
}

state_machine::queued*
state_machine::find_forwarded(int64_t session, int32_t cxid, int32_t opcode) {
  auto i = queues_.find(session);
  if (i == queues_.end())
    return nullptr;
  for (auto& e : i->second)
    if (e.kind == queued::forwarded && !e.resolved && e.cxid == cxid &&
        (opcode == 0 || e.opcode == opcode))
      return &e;
  return nullptr;
}

state_machine::output state_machine::take_output() {
  output result = std::move(out_);
  out_ = output{};
  return result;
}

std::vector<std::pair<int64_t, std::vector<std::string>>>
state_machine::ephemerals_by_session() const {
  std::vector<std::pair<int64_t, std::vector<std::string>>> result;
  for (auto& [session, timeout] : tree_->sessions()) {
    auto paths = tree_->ephemerals_of(session);
    if (!paths.empty())
      result.emplace_back(session, std::move(paths));
  }
  return result;
}

void state_machine::check_invariants() const {
  tree_->check_invariants();
  prep_->check_invariants();
  // In-flight txns, keyed by zxid, that a client of this node waits for.
  std::unordered_map<int64_t, const inflight_txn*> waiting;
  int64_t prev = tree_->last_zxid();
  for (auto& f : inflight_) {
    if (f.zxid <= prev)
      violated("in-flight zxids not above the last applied and increasing");
    prev = f.zxid;
    if (f.txn.hdr.zxid != f.zxid)
      violated("in-flight txn stamped with another zxid");
    if (f.from_client)
      waiting.emplace(f.zxid, &f);
  }
  if (!inflight_.empty() && leading() && inflight_.back().zxid >= next_zxid_)
    violated("in-flight zxid not below the next one");
  if (!inflight_.empty() && !leading() && !waiting.empty())
    violated("a client write in flight on a node that does not lead");
  if (leading() && following_)
    violated("leading and following");
  int64_t after = 0;
  for (auto& s : syncs_) {
    if (!leading())
      violated("a pending sync on a node that does not lead");
    if (s.after < after)
      violated("pending syncs out of order");
    after = s.after;
    if (s.after <= tree_->last_zxid() || inflight_.empty() ||
        s.after > inflight_.back().zxid)
      violated("a pending sync waits for no txn in flight");
  }
  if (!out_.forwards.empty() && !following_)
    violated("forwards from a node that does not follow");
  // Before lead() a forwarded request is refused like a client's write.
  if (!out_.forward_replies.items.empty() && following_)
    violated("forward replies from a learner");
  if (!out_.proposals.entries.empty() && !leading())
    violated("proposals from a node that does not lead");
  for (auto& f : out_.forwards) {
    // A request with its header, or a session write: a timeout, or nothing.
    bool session_write =
        (f.type == wire::op::create_session && f.payload.size() == 4) ||
        (f.type == wire::op::close_session && f.payload.empty());
    if (!session_write && f.payload.size() < 8)
      violated("a forward without a request");
  }
  for (auto& [sid, r] : out_.forward_replies.items)
    if (!plausible_frame(r.frame))
      violated("a forward reply without a reply frame");
  size_t queued_writes = 0;
  for (auto& [session, q] : queues_) {
    // Anything but a write (or an unanswered forwarded request) at the
    // front would have been answered already.
    if (q.empty())
      violated("empty queue kept");
    auto& front = q.front();
    if (front.kind != queued::write &&
        (front.kind != queued::forwarded || front.resolved))
      violated("queue not blocked by a write or a forwarded request");
    int64_t last = 0;
    for (auto& e : q) {
      if (e.kind == queued::forwarded && !following_)
        violated("a forwarded request queued on a node that does not follow");
      if (e.kind == queued::forwarded && e.resolved && e.frame.empty())
        violated("a forwarded request answered without a frame");
      if (e.kind != queued::write)
        continue;
      auto i = waiting.find(e.zxid);
      if (i == waiting.end())
        violated("queued write not in flight");
      if (i->second->txn.hdr.session_id != session)
        violated("queued write of another session");
      if (e.zxid <= last)
        violated("queued writes out of zxid order");
      last = e.zxid;
      ++queued_writes;
    }
  }
  for (auto& [session, a] : auth_) {
    if (!tree_->has_session(session))
      violated("auth ids kept for a session that is not live");
    if (!a.snapshot || *a.snapshot != a.ids.ids())
      violated("auth snapshot differs from the session's ids");
  }
  // And the converse: each client write in flight holds its session's queue,
  // which is what lets commit() pop it from the front.
  if (queued_writes != waiting.size())
    violated("client write in flight but not queued");
}

void state_machine::handle_request(int64_t session, wire::request& rq,
                                   int64_t now_ms) {
  auto ai = auth_.find(session);
  if (ai != auth_.end() && ai->second.closed)
    return; // after AUTHFAILED ZooKeeper reads nothing more of the connection
  if (rq.hdr.type == wire::op::auth) {
    handle_auth(session, rq);
    return;
  }
  const auto* snapshot = ai != auth_.end() ? &ai->second.snapshot : nullptr;
  const auth_ids& who = snapshot && *snapshot ? **snapshot : no_ids();
  // A session that expired or was closed while this request was on its way
  // (ZooKeeper's checkSession in PrepRequestProcessor) runs nothing more,
  // read or write.
  bool gone = !tree_->has_session(session) && queues_.count(session) == 0;
  auto refuse_gone = [&] {
    emit_reply(session, error_reply(rq.hdr.xid, tree_->last_zxid(),
                                    wire::err::session_expired));
  };
  // A learner hands the leader what only the leader can order: writes, and
  // sync, whose answer says this node has caught up with the leader.
  if (following_ &&
      (goes_through_log(rq.hdr.type) || rq.hdr.type == wire::op::sync)) {
    if (gone)
      refuse_gone();
    else
      forward(session, rq, who);
    return;
  }
  if (!goes_through_log(rq.hdr.type)) {
    if (gone) {
      refuse_gone();
      return;
    }
    auto qi = queues_.find(session);
    if (qi == queues_.end())
      serve(session, rq, who);
    else
      qi->second.push_back(queued{
          queued::read, 0, std::move(rq), {}, snapshot ? *snapshot : nullptr});
    return;
  }
  if (!leading()) {
    // Not leading (yet): ZooKeeper refuses writes without a quorum the same
    // way, and the client retries.
    reply_or_queue(session, error_reply(rq.hdr.xid, tree_->last_zxid(),
                                        wire::err::connection_loss));
    return;
  }
  if (gone) {
    refuse_gone();
    return;
  }
  auto zxid = next_zxid_;
  auto p = prepare_write(*prep_, session, rq, zxid, now_ms, who);
  if (auto* e = std::get_if<wire::err>(&p)) {
    reply_or_queue(session, error_reply(rq.hdr.xid, tree_->last_zxid(), *e));
    return;
  }
  ++next_zxid_;
  queues_[session].push_back(queued{queued::write, zxid, {}, {}, {}});
  propose(std::move(std::get<txn::record>(p)), rq.hdr.type, true, rq.hdr.xid);
}

void state_machine::attach(int64_t session, std::string_view remote_addr) {
  if (!tree_->has_session(session)) {
    auth_.erase(session);
    return;
  }
  auto& a = auth_[session];
  a = session_auth{};
  // NIOServerCnxn's constructor: every connection starts as ip:<address>.
  a.ip = java_host_address(remote_addr);
  if (!a.ip.empty())
    a.ids.add(wire::id{"ip", a.ip});
  a.snapshot = std::make_shared<const auth_ids>(a.ids.ids());
  emit_auth(session, *a.snapshot);
}

void state_machine::emit_auth(int64_t session, const auth_ids& ids) {
  local::dispatch_item item;
  item.kind = local::dispatch_item::session_auth;
  item.session = session;
  item.ids = ids;
  out_.dispatch.items.emplace_back(std::move(item));
}

const auth_ids& state_machine::auth_of(int64_t session) const {
  auto i = auth_.find(session);
  return i == auth_.end() || !i->second.snapshot ? no_ids()
                                                 : *i->second.snapshot;
}

void state_machine::handle_auth(int64_t session, const wire::request& rq) {
  // ZooKeeperServer.processPacket: the provider registered for the scheme
  // (ip and digest) handles the packet, any other scheme fails. The reply
  // carries zxid 0 and leaves at once, ahead of replies still in the
  // pipeline; a failure closes the connection (the session lives on).
  auto& a = auth_[session];
  auto e = wire::err::auth_failed;
  bool changed = false;
  if (auto* pkt = std::get_if<wire::auth_packet>(&rq.body)) {
    if (pkt->scheme == "digest") {
      auto id = generate_digest(pkt->auth);
      if (!super_digest_.empty() && id == super_digest_)
        changed |= a.ids.add(wire::id{"super", ""});
      changed |= a.ids.add(wire::id{"digest", std::move(id)});
      e = wire::err::ok;
    } else if (pkt->scheme == "ip") {
      // IPAuthenticationProvider adds the connection's own address again,
      // whatever the packet says.
      if (!a.ip.empty())
        changed |= a.ids.add(wire::id{"ip", a.ip});
      e = wire::err::ok;
    }
  }
  if (changed || !a.snapshot) {
    a.snapshot = std::make_shared<const auth_ids>(a.ids.ids());
    emit_auth(session, *a.snapshot);
  }
  a.closed = e != wire::err::ok;
  emit_reply(session, error_reply(rq.hdr.xid, 0, e), local::watch_kind::none,
             {}, a.closed);
  // A session closed while the packet was on its way: answered, not kept.
  if (!tree_->has_session(session))
    auth_.erase(session);
}

void state_machine::reply_or_queue(int64_t session, std::vector<char> frame) {
  auto qi = queues_.find(session);
  if (qi == queues_.end())
    emit_reply(session, std::move(frame));
  else
    qi->second.push_back(queued{queued::error, 0, {}, std::move(frame), {}});
}

void state_machine::serve(int64_t session, const wire::request& rq,
                          const auth_ids& who) {
  auto r = serve_read(*tree_, session, rq, who);
  auto& items = out_.dispatch.items;
  items.insert(items.end(), std::make_move_iterator(r.events_before.begin()),
               std::make_move_iterator(r.events_before.end()));
  emit_reply(session, std::move(r.frame), r.watch, std::move(r.watch_path));
}

// Serves whatever waits at the front of a session's queue up to its next
// unapplied write.
void state_machine::drain(int64_t session) {
  auto i = queues_.find(session);
  if (i == queues_.end())
    return;
  auto& q = i->second;
  while (!q.empty() && q.front().kind != queued::write) {
    auto& front = q.front();
    if (front.kind == queued::forwarded && !front.resolved)
      break;
    if (front.kind == queued::read)
      serve(session, front.request, front.who ? *front.who : no_ids());
    else
      emit_reply(session, std::move(front.frame));
    q.pop_front();
  }
  if (q.empty())
    queues_.erase(i);
}

void state_machine::propose(txn::record&& r, int32_t opcode, bool from_client,
                            int32_t xid) {
  auto zxid = r.hdr.zxid;
  out_.proposals.entries.push_back(txn_log::log_entry{zxid, txn::encode(r)});
  inflight_.push_back(
      inflight_txn{zxid, std::move(r), opcode, from_client, xid});
}

void state_machine::emit_reply(int64_t session, std::vector<char> frame,
                               local::watch_kind watch, std::string watch_path,
                               bool close_after) {
  local::dispatch_item item;
  item.kind = local::dispatch_item::reply;
  item.session = session;
  item.type = static_cast<int32_t>(watch);
  item.path = std::move(watch_path);
  item.frame = std::move(frame);
  item.close_after = close_after;
  out_.dispatch.items.emplace_back(std::move(item));
}

} // namespace zkd::datatree
