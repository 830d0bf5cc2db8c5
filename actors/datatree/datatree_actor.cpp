#include "actors/datatree/datatree_actor.hpp"

#include <chrono>
#include <deque>
#include <unordered_map>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/datatree/prep.hpp"
#include "actors/datatree/serve.hpp"
#include "actors/txn_log/txn_log_messages.hpp"
#include "messages/local/local.hpp"
#include "messages/wire/protocol.hpp"

namespace zkd {

namespace {

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

// A request held back because an earlier write of its session is not yet
// applied (ZooKeeper's CommitProcessor keeps the same per-session order).
struct queued {
  enum kind_t { write, read, error } kind;
  int64_t zxid = 0;        // write: the txn it waits for
  wire::request request;   // read: served when it reaches the front
  std::vector<char> frame; // error: the reply, already encoded
};

struct inflight_txn {
  int64_t zxid;
  txn::record txn;
  int32_t opcode;
  bool from_client; // a connection of this node waits for the reply
  int32_t xid;
};

struct datatree_state {
  std::shared_ptr<node> nd;
  std::unique_ptr<datatree::tree> tree;
  std::unique_ptr<datatree::prep> prep;
  int64_t next_zxid = 0; // 0 until this node leads
  std::unordered_map<int64_t, std::deque<queued>> queues;
  std::deque<inflight_txn> inflight;
  local::dispatch_batch out;
  txn_log::log_append proposals;
  static inline const char* name = "datatree";
};

using datatree_ptr = caf::stateful_actor<datatree_state>*;

void emit_reply(datatree_ptr self, int64_t session, std::vector<char> frame,
                local::watch_kind watch = local::watch_kind::none,
                std::string watch_path = {}, bool close_after = false) {
  local::dispatch_item item;
  item.kind = local::dispatch_item::reply;
  item.session = session;
  item.type = static_cast<int32_t>(watch);
  item.path = std::move(watch_path);
  item.frame = std::move(frame);
  item.close_after = close_after;
  self->state.out.items.emplace_back(std::move(item));
}

void serve(datatree_ptr self, int64_t session, const wire::request& rq) {
  auto r = datatree::serve_read(*self->state.tree, session, rq);
  auto& items = self->state.out.items;
  items.insert(items.end(), std::make_move_iterator(r.events_before.begin()),
               std::make_move_iterator(r.events_before.end()));
  emit_reply(self, session, std::move(r.frame), r.watch,
             std::move(r.watch_path));
}

// Serves whatever waits at the front of a session's queue up to its next
// unapplied write.
void drain(datatree_ptr self, int64_t session) {
  auto& queues = self->state.queues;
  auto i = queues.find(session);
  if (i == queues.end())
    return;
  auto& q = i->second;
  while (!q.empty() && q.front().kind != queued::write) {
    auto& front = q.front();
    if (front.kind == queued::read)
      serve(self, session, front.request);
    else
      emit_reply(self, session, std::move(front.frame));
    q.pop_front();
  }
  if (q.empty())
    queues.erase(i);
}

void propose(datatree_ptr self, txn::record&& r, int32_t opcode,
             bool from_client, int32_t xid) {
  auto& st = self->state;
  auto zxid = r.hdr.zxid;
  st.proposals.entries.push_back(txn_log::log_entry{zxid, txn::encode(r)});
  st.inflight.push_back(
      inflight_txn{zxid, std::move(r), opcode, from_client, xid});
}

int64_t take_zxid(datatree_ptr self) {
  return self->state.next_zxid++;
}

void handle_request(datatree_ptr self, int64_t session, wire::request& rq) {
  auto& st = self->state;
  auto qi = st.queues.find(session);
  bool blocked = qi != st.queues.end() && !qi->second.empty();
  if (!datatree::goes_through_log(rq.hdr.type)) {
    if (!blocked)
      serve(self, session, rq);
    else
      qi->second.push_back(queued{queued::read, 0, std::move(rq), {}});
    return;
  }
  if (st.next_zxid == 0) {
    // Not leading (yet): ZooKeeper refuses writes without a quorum the same
    // way, and the client retries.
    auto frame = datatree::error_reply(rq.hdr.xid, st.tree->last_zxid(),
                                       wire::err::connection_loss);
    if (!blocked)
      emit_reply(self, session, std::move(frame));
    else
      qi->second.push_back(queued{queued::error, 0, {}, std::move(frame)});
    return;
  }
  auto zxid = st.next_zxid;
  auto p = datatree::prepare_write(*st.prep, session, rq, zxid, wall_ms());
  if (auto* e = std::get_if<wire::err>(&p)) {
    auto frame = datatree::error_reply(rq.hdr.xid, st.tree->last_zxid(), *e);
    if (!blocked)
      emit_reply(self, session, std::move(frame));
    else
      qi->second.push_back(queued{queued::error, 0, {}, std::move(frame)});
    return;
  }
  take_zxid(self);
  st.queues[session].push_back(queued{queued::write, zxid, {}, {}});
  propose(self, std::move(std::get<txn::record>(p)), rq.hdr.type, true,
          rq.hdr.xid);
}

void flush(datatree_ptr self) {
  auto& st = self->state;
  if (!st.proposals.entries.empty()) {
    self->send(st.nd->leader, std::move(st.proposals));
    st.proposals = {};
  }
  if (!st.out.items.empty()) {
    self->send(st.nd->watch_dispatcher, std::move(st.out));
    st.out = {};
  }
}

void publish_metrics(datatree_ptr self) {
  auto& st = self->state;
  auto& m = st.nd->metrics;
  m.last_zxid = st.tree->last_zxid();
  m.node_count = st.tree->node_count();
  m.data_size = st.tree->approximate_data_size();
  m.ephemerals = st.tree->ephemeral_count();
}

void commit(datatree_ptr self, int64_t upto) {
  auto& st = self->state;
  while (!st.inflight.empty() && st.inflight.front().zxid <= upto) {
    auto f = std::move(st.inflight.front());
    st.inflight.pop_front();
    auto session = f.txn.hdr.session_id;
    auto res = datatree::apply_committed(*st.tree, f.txn, f.opcode,
                                         f.from_client ? &f.xid : nullptr);
    auto& items = st.out.items;
    items.insert(items.end(), std::make_move_iterator(res.triggers.begin()),
                 std::make_move_iterator(res.triggers.end()));
    bool closing = f.opcode == wire::op::close_session;
    if (f.from_client) {
      auto& q = st.queues[session];
      if (!q.empty() && q.front().kind == queued::write &&
          q.front().zxid == f.zxid)
        q.pop_front();
      else
        spdlog::critical("datatree: session 0x{:x} queue out of order at "
                         "zxid 0x{:x}",
                         session, f.zxid);
      emit_reply(self, session, std::move(res.frame), local::watch_kind::none,
                 {}, closing);
      drain(self, session);
    }
    if (f.opcode == wire::op::create_session ||
        f.opcode == wire::op::close_session) {
      int32_t timeout = 0;
      if (auto* cs = std::get_if<txn::create_session>(&f.txn.b))
        timeout = cs->timeout_ms;
      self->send(st.nd->session_tracker,
                 local::session_applied{session, f.opcode, timeout});
    }
    if (closing) {
      local::dispatch_item gone;
      gone.kind = local::dispatch_item::session_gone;
      gone.session = session;
      items.emplace_back(std::move(gone));
      st.queues.erase(session);
    }
  }
  st.prep->applied(upto);
  publish_metrics(self);
}

caf::behavior datatree_impl(datatree_ptr self, std::shared_ptr<node> nd,
                            std::unique_ptr<datatree::tree>* t) {
  auto& st = self->state;
  st.nd = std::move(nd);
  st.tree = std::move(*t);
  delete t;
  datatree::prep_options opts;
  opts.extended_types = st.nd->cfg.c.extended_types;
  st.prep = std::make_unique<datatree::prep>(*st.tree, opts);
  publish_metrics(self);
  return {
      [=](local::request_batch& batch) {
        for (auto& rq : batch.requests)
          handle_request(self, batch.session, rq);
        flush(self);
      },
      [=](local::session_write& w) {
        auto& st = self->state;
        if (st.next_zxid == 0)
          return; // not leading; the tracker's next tick retries an expiry
        auto zxid = st.next_zxid;
        auto p = datatree::prepare_session_write(*st.prep, w, zxid, wall_ms());
        if (auto* e = std::get_if<wire::err>(&p)) {
          spdlog::debug("session write for 0x{:x} refused: {}", w.session,
                        wire::err_name(*e));
          return;
        }
        take_zxid(self);
        propose(self, std::move(std::get<txn::record>(p)), w.opcode, false, 0);
        flush(self);
      },
      [=](local::commit_atom, int64_t zxid) {
        commit(self, zxid);
        flush(self);
      },
      [=](local::lead_atom, int64_t epoch) {
        auto& st = self->state;
        // The first zxid of an epoch has counter 1 (Zab: epoch << 32 | 1).
        st.next_zxid = (epoch << 32) + 1;
        st.prep->reset();
        spdlog::info("datatree: leading epoch {}, last zxid 0x{:x}", epoch,
                     st.tree->last_zxid());
      },
      [=](local::dump_atom) {
        // Sessions with ephemerals, for the `dump` four-letter word.
        auto& t = *self->state.tree;
        std::vector<std::pair<int64_t, std::vector<std::string>>> out;
        for (auto& [session, timeout] : t.sessions()) {
          auto paths = t.ephemerals_of(session);
          if (!paths.empty())
            out.emplace_back(session, std::move(paths));
        }
        return out;
      },
  };
}

} // namespace

caf::actor spawn_datatree(caf::actor_system& sys, std::shared_ptr<node> nd,
                          std::unique_ptr<datatree::tree> t) {
  // unique_ptr is move-only and CAF copies spawn arguments, so the tree
  // travels as a raw pointer the actor takes ownership of.
  auto* holder = new std::unique_ptr<datatree::tree>(std::move(t));
  return sys.spawn(datatree_impl, std::move(nd), holder);
}

} // namespace zkd
