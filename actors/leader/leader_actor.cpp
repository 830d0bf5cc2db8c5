#include "actors/leader/leader_actor.hpp"

#include <chrono>
#include <map>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/leader/learner_handler_actor.hpp"
#include "actors/peer/data_dir.hpp"
#include "actors/tracer/logging.hpp"
#include "actors/tracer/tracer.hpp"
#include "actors/tracer/txn_summary.hpp"
#include "actors/txn_log/txn_log_messages.hpp"
#include "messages/local/local.hpp"
#include "messages/quorum/quorum.hpp"

namespace zkd {

namespace {

using tick_atom = caf::atom_constant<caf::atom("ld_tick")>;

struct leader_state {
  std::shared_ptr<node> nd;
  std::unique_ptr<leader::zab_leader> core;
  caf::actor peer;
  std::map<quorum::server_id, caf::actor> learners;
  bool over = false;
  int64_t last_commit = 0; // for the trace's "after"
  std::shared_ptr<spdlog::logger> log = tracer::logger("leader");
  static inline const char* name = "leader";
};

using leader_ptr = caf::stateful_actor<leader_state, caf::io::broker>*;

int64_t mono_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch())
      .count();
}

[[noreturn]] void fatal(leader_ptr self, const std::string& what) {
  tracer::exit_loudly(*self->state.log, 3, what);
}

void publish_stats(leader_ptr self) {
  auto& st = self->state;
  auto& e = st.nd->ensemble;
  e.learners = st.core->connected_learners();
  e.synced_followers = st.core->synced_followers();
  e.synced_observers = st.core->synced_observers();
  e.pending_syncs = st.core->pending_syncs();
}

void flush(leader_ptr self) {
  auto& st = self->state;
  for (auto& e : st.core->take_effects()) {
    std::visit(
        [&](auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, leader::to_learner>) {
            auto i = st.learners.find(x.sid);
            if (i == st.learners.end())
              return;
            std::visit(
                [&](auto& m) {
                  ZKD_TRACE(leader, self->id(), learner_handler,
                            tracer::id_of(i->second), quorum::message_name(m),
                            {"sid", x.sid},
                            {"zxid", tracer::hex{quorum::message_zxid(m)}});
                  self->send(i->second, std::move(m));
                },
                x.msg);
          } else if constexpr (std::is_same_v<T,
                                              leader::persist_accepted_epoch>) {
            auto err = data_dir::write_epoch(
                st.nd->cfg.data_dir + "/accepted_epoch", x.epoch);
            if (!err.empty())
              fatal(self, "cannot write the accepted epoch: " + err);
          } else if constexpr (std::is_same_v<T,
                                              leader::persist_current_epoch>) {
            auto err = data_dir::write_epoch(
                st.nd->cfg.data_dir + "/current_epoch", x.epoch);
            if (!err.empty())
              fatal(self, "cannot write the current epoch: " + err);
          } else if constexpr (std::is_same_v<T, leader::send_snapshot>) {
            auto i = st.learners.find(x.sid);
            if (i == st.learners.end())
              return;
            st.log->info("leader: sending snapshot {} to {}", x.path, x.sid);
            self->send(i->second, stream_snapshot_atom::value, x.zxid, x.path);
          } else if constexpr (std::is_same_v<T, leader::commit_local>) {
            ZKD_TRACE(leader, self->id(), datatree,
                      tracer::id_of(st.nd->datatree), "commit",
                      {"zxid", tracer::hex{x.zxid}},
                      {"after", tracer::hex{st.last_commit}});
            st.last_commit = x.zxid;
            self->send(st.nd->datatree, local::commit_atom::value, x.zxid);
          } else if constexpr (std::is_same_v<T, leader::established>) {
            st.log->info("leader: epoch {} established", x.epoch);
            st.nd->ensemble.leader_since_ms =
                std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
            ZKD_TRACE(leader, self->id(), datatree,
                      tracer::id_of(st.nd->datatree), "lead",
                      {"epoch", x.epoch});
            self->send(st.nd->datatree, local::lead_atom::value,
                       static_cast<int64_t>(x.epoch));
            self->send(st.peer, local::serving_atom::value,
                       static_cast<uint64_t>(x.epoch));
          } else if constexpr (std::is_same_v<T, leader::drop_learner>) {
            st.log->warn("leader: dropping learner {}: {}", x.sid, x.reason);
            if (auto i = st.learners.find(x.sid); i != st.learners.end()) {
              self->demonitor(i->second);
              self->send_exit(i->second, caf::exit_reason::user_shutdown);
              st.learners.erase(i);
            }
          } else if constexpr (std::is_same_v<T, leader::step_down>) {
            if (st.over)
              return;
            st.over = true;
            st.log->warn("leader: stepping down: {}", x.reason);
            local::role_ended r;
            r.reason = x.reason;
            self->send(st.peer, std::move(r));
          }
        },
        e);
  }
  publish_stats(self);
  if (st.over)
    self->quit();
}

quorum::server_id sid_of_sender(leader_ptr self) {
  auto& st = self->state;
  auto sender = self->current_sender();
  for (auto& [sid, h] : st.learners)
    if (caf::actor_cast<caf::strong_actor_ptr>(h) == sender)
      return sid;
  return 0;
}

void learner_hello(leader_ptr self, quorum::server_id sid, uint32_t accepted,
                   bool observer) {
  auto& st = self->state;
  auto remote = caf::actor_cast<caf::actor>(self->current_sender());
  if (!remote || st.over)
    return;
  // A (re)connecting learner gets a fresh handler; an old one goes.
  if (auto i = st.learners.find(sid); i != st.learners.end()) {
    self->demonitor(i->second);
    self->send_exit(i->second, caf::exit_reason::user_shutdown);
  }
  auto h = spawn_learner_handler(self->system(), sid, remote,
                                 caf::actor_cast<caf::actor>(self));
  st.learners[sid] = h;
  self->monitor(h);
  st.log->info("leader: {} {} connected (accepted epoch {})",
               observer ? "observer" : "follower", sid, accepted);
  st.core->learner_info(mono_ms(), sid, accepted, observer);
  flush(self);
}

caf::behavior leader_impl(leader_ptr self, std::shared_ptr<node> nd,
                          leader::zab_settings s, leader::zab_history h,
                          caf::actor peer) {
  auto& st = self->state;
  st.nd = std::move(nd);
  st.peer = std::move(peer);
  auto tick = std::chrono::milliseconds(std::max<int64_t>(50, s.tick_ms / 2));
  st.last_commit = h.last_zxid;
  st.core = std::make_unique<leader::zab_leader>(std::move(s), std::move(h));
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    for (auto i = st.learners.begin(); i != st.learners.end(); ++i) {
      if (i->second.address() != dm.source)
        continue;
      auto sid = i->first;
      st.learners.erase(i);
      st.log->info("leader: lost learner {}: {}", sid,
                   self->system().render(dm.reason));
      st.core->learner_lost(mono_ms(), sid);
      flush(self);
      return;
    }
  });
  st.core->start(mono_ms());
  flush(self);
  self->delayed_send(self, tick, tick_atom::value);
  return {
      [=](txn_log::log_append& batch) {
        auto& st = self->state;
        if (st.over)
          return;
        std::vector<std::pair<int64_t, std::string_view>> txns;
        txns.reserve(batch.entries.size());
        for (auto& e : batch.entries)
          txns.emplace_back(e.zxid, e.payload);
        st.core->propose(txns);
        for (auto& e : batch.entries)
          st.nd->ensemble.record_proposal_size(
              static_cast<int64_t>(e.payload.size()));
        ZKD_TRACE_TXNS(leader, self->id(), txn_log,
                       tracer::id_of(st.nd->txn_log), "log_append",
                       batch.entries);
        self->send(st.nd->txn_log, std::move(batch));
        flush(self);
      },
      [=](txn_log::log_durable& d) {
        auto& st = self->state;
        if (st.over)
          return;
        st.core->local_durable(d.zxid);
        flush(self);
      },
      [=](txn_log::log_failed& f) {
        // Nothing after this point may be acknowledged: stop at once, loudly.
        fatal(self, txn_log::failure_text(f));
      },
      [=](tick_atom) {
        auto& st = self->state;
        if (st.over)
          return;
        st.core->tick(mono_ms());
        flush(self);
        self->delayed_send(self, tick, tick_atom::value);
      },
      [=](const quorum::follower_info& m) {
        learner_hello(self, m.sid, m.accepted_epoch, false);
      },
      [=](const quorum::observer_info& m) {
        learner_hello(self, m.sid, m.accepted_epoch, true);
      },
      [=](const quorum::ack_epoch& m) {
        auto& st = self->state;
        if (st.over || sid_of_sender(self) != m.sid)
          return;
        st.core->ack_epoch(mono_ms(), m);
        flush(self);
      },
      [=](const quorum::ack& m) {
        auto& st = self->state;
        if (st.over || sid_of_sender(self) != m.sid)
          return;
        st.core->ack(mono_ms(), m.sid, m.zxid);
        flush(self);
      },
      [=](quorum::ping& m) {
        auto& st = self->state;
        auto sid = sid_of_sender(self);
        if (st.over || sid == 0)
          return;
        st.core->heard(mono_ms(), sid);
        // The sessions the learner's clients kept alive: the leader's
        // tracker expires sessions for the whole ensemble.
        if (!m.sessions.empty())
          self->send(st.nd->session_tracker, std::move(m));
      },
      [=](quorum::request& rq) {
        auto& st = self->state;
        auto sid = sid_of_sender(self);
        if (st.over || sid == 0 || !st.core->is_established())
          return;
        st.core->heard(mono_ms(), sid);
        self->send(st.nd->datatree,
                   local::forwarded_request{sid, std::move(rq)});
      },
      [=](local::forward_replies& fr) {
        auto& st = self->state;
        if (st.over)
          return;
        for (auto& [sid, r] : fr.items)
          st.core->reply_to(
              sid, quorum::reply{r.session, r.cxid,
                                 std::string(r.frame.begin(), r.frame.end())});
        flush(self);
      },
      [=](local::snapshot_taken& s) {
        auto& st = self->state;
        if (st.over)
          return;
        st.core->snapshot_taken(s.zxid, std::move(s.path));
      },
  };
}

} // namespace

caf::actor spawn_leader(caf::actor_system& sys, std::shared_ptr<node> nd,
                        leader::zab_settings s, leader::zab_history h,
                        caf::actor peer) {
  // On the I/O thread, like the connections: see start_node().
  return sys.middleman().spawn_broker(leader_impl, std::move(nd), std::move(s),
                                      std::move(h), std::move(peer));
}

} // namespace zkd
