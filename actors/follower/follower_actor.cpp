#include "actors/follower/follower_actor.hpp"

#include <chrono>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/peer/data_dir.hpp"
#include "actors/tracer/logging.hpp"
#include "actors/tracer/tracer.hpp"
#include "actors/tracer/txn_summary.hpp"
#include "actors/txn_log/txn_log_messages.hpp"
#include "messages/local/local.hpp"
#include "messages/quorum/quorum.hpp"

namespace zkd {

namespace {

using tick_atom = caf::atom_constant<caf::atom("fl_tick")>;
using connect_atom = caf::atom_constant<caf::atom("fl_conn")>;

struct follower_state {
  std::shared_ptr<node> nd;
  std::unique_ptr<follower::learner> core;
  follower_args args;
  caf::actor peer;
  caf::actor leader_actor; // from the leader node's peer
  // Where our messages go: the learner handler the leader gave us (the
  // sender of LEADERINFO); the leader actor until then.
  caf::actor leader;
  bool over = false;
  std::shared_ptr<spdlog::logger> log = tracer::logger("follower");
  static inline const char* name = "follower";
};

using follower_ptr = caf::stateful_actor<follower_state, caf::io::broker>*;

int64_t mono_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch())
      .count();
}

[[noreturn]] void fatal(follower_ptr self, const std::string& what) {
  tracer::exit_loudly(*self->state.log, 3, what);
}

void flush(follower_ptr self);

void end_role(follower_ptr self, local::role_ended r) {
  auto& st = self->state;
  if (st.over)
    return;
  st.over = true;
  st.log->info("follower: role over: {}", r.reason);
  ZKD_TRACE(follower, self->id(), peer, tracer::id_of(st.peer), "role_ended",
            {"reason", r.reason});
  self->send(st.peer, std::move(r));
  self->quit();
}

// Until LEADERINFO we talk to the leader actor, then to the learner
// handler it gave us.
void trace_to_leader(follower_ptr self, const char* what, int64_t zxid) {
  auto& st = self->state;
  if (st.leader == st.leader_actor)
    ZKD_TRACE_TO_NODE(follower, self->id(), leader, tracer::id_of(st.leader),
                      st.args.leader_id, what, {"zxid", tracer::hex{zxid}});
  else
    ZKD_TRACE_TO_NODE(follower, self->id(), learner_handler,
                      tracer::id_of(st.leader), st.args.leader_id, what,
                      {"zxid", tracer::hex{zxid}});
}

void flush(follower_ptr self) {
  auto& st = self->state;
  auto effects = st.core->take_effects();
  txn_log::log_append batch;
  auto send_batch = [&] {
    if (batch.entries.empty())
      return;
    ZKD_TRACE_TXNS(follower, self->id(), txn_log, tracer::id_of(st.nd->txn_log),
                   "log_append", batch.entries);
    self->send(st.nd->txn_log, std::move(batch));
    batch = {};
  };
  local::role_ended ending;
  bool ends = false;
  for (auto& e : effects) {
    std::visit(
        [&](auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, follower::to_leader>) {
            if (!st.leader)
              return;
            std::visit(
                [&](auto& m) {
                  trace_to_leader(self, quorum::message_name(m),
                                  quorum::message_zxid(m));
                  self->send(st.leader, std::move(m));
                },
                x.msg);
          } else if constexpr (std::is_same_v<
                                   T, follower::persist_accepted_epoch>) {
            auto err = data_dir::write_epoch(
                st.nd->cfg.data_dir + "/accepted_epoch", x.epoch);
            if (!err.empty())
              fatal(self, "cannot write the accepted epoch: " + err);
          } else if constexpr (std::is_same_v<
                                   T, follower::persist_current_epoch>) {
            auto err = data_dir::write_epoch(
                st.nd->cfg.data_dir + "/current_epoch", x.epoch);
            if (!err.empty())
              fatal(self, "cannot write the current epoch: " + err);
          } else if constexpr (std::is_same_v<T, follower::adopt_session_key>) {
            if (x.k0 != st.nd->session_secret[0] ||
                x.k1 != st.nd->session_secret[1]) {
              auto err = data_dir::write_atomically(
                  st.nd->cfg.data_dir + "/session_secret",
                  fmt::format("{:016x} {:016x}\n", x.k0, x.k1));
              if (!err.empty())
                fatal(self, "cannot write the session secret: " + err);
              st.nd->session_secret[0] = x.k0;
              st.nd->session_secret[1] = x.k1;
            }
            self->send(st.nd->session_tracker, local::password_key_atom::value,
                       x.k0, x.k1);
          } else if constexpr (std::is_same_v<T, follower::log_txn>) {
            batch.entries.push_back(txn_log::log_entry{x.zxid, x.txn});
          } else if constexpr (std::is_same_v<T, follower::apply_proposal>) {
            self->send(st.nd->datatree,
                       local::learner_proposal{x.zxid, std::move(x.txn)});
          } else if constexpr (std::is_same_v<T, follower::apply_commit>) {
            send_batch();
            ZKD_TRACE(follower, self->id(), datatree,
                      tracer::id_of(st.nd->datatree), "commit",
                      {"zxid", tracer::hex{x.zxid}});
            self->send(st.nd->datatree, local::commit_atom::value, x.zxid);
          } else if constexpr (std::is_same_v<T, follower::deliver_reply>) {
            local::forward_reply r;
            r.session = x.r.session;
            r.cxid = x.r.cxid;
            r.frame.assign(x.r.frame.begin(), x.r.frame.end());
            self->send(st.nd->datatree, std::move(r));
          } else if constexpr (std::is_same_v<T, follower::truncate_log>) {
            ending.truncate_to = x.zxid;
          } else if constexpr (std::is_same_v<T, follower::install_snapshot>) {
            ending.snapshot_zxid = x.zxid;
            ending.snapshot = std::move(x.bytes);
          } else if constexpr (std::is_same_v<T, follower::serving>) {
            st.log->info("follower: up to date with leader {} in epoch {}",
                         st.args.leader_id, x.epoch);
            self->send(st.peer, local::serving_atom::value,
                       static_cast<uint64_t>(x.epoch));
          } else if constexpr (std::is_same_v<T, follower::role_over>) {
            ending.reason = x.reason;
            ending.rejoin = x.rejoin;
            ends = true;
          }
        },
        e);
  }
  send_batch();
  if (ends)
    end_role(self, std::move(ending));
}

void connect(follower_ptr self) {
  auto& st = self->state;
  if (st.over || st.leader)
    return;
  auto mm = self->system().middleman().actor_handle();
  auto retry = [=] {
    self->delayed_send(self, std::chrono::milliseconds(50),
                       connect_atom::value);
  };
  self->request(mm, std::chrono::seconds(2), caf::connect_atom::value,
                st.args.leader_host, st.args.leader_port)
      .then(
          [=](caf::node_id&, caf::strong_actor_ptr& p, std::set<std::string>&) {
            auto gateway = caf::actor_cast<caf::actor>(p);
            if (!gateway) {
              retry();
              return;
            }
            self->request(gateway, std::chrono::seconds(2),
                          local::leader_atom::value)
                .then(
                    [=](caf::actor& leader) {
                      auto& st = self->state;
                      if (st.over || st.leader)
                        return;
                      st.leader = leader;
                      st.leader_actor = leader;
                      self->monitor(leader);
                      st.log->info("follower: connected to leader {} at {}:{}",
                                   st.args.leader_id, st.args.leader_host,
                                   st.args.leader_port);
                      st.core->connected(mono_ms());
                      flush(self);
                    },
                    [=](caf::error&) { retry(); });
          },
          [=](caf::error&) { retry(); });
}

template <class T>
void on_leader_message(follower_ptr self, const T& m) {
  auto& st = self->state;
  if (st.over)
    return;
  st.core->on(mono_ms(), m);
  flush(self);
}

caf::behavior follower_impl(follower_ptr self, std::shared_ptr<node> nd,
                            follower_args args, caf::actor peer) {
  auto& st = self->state;
  st.nd = std::move(nd);
  st.args = std::move(args);
  st.peer = std::move(peer);
  st.core =
      std::make_unique<follower::learner>(st.args.settings, st.args.history);
  st.core->start(mono_ms());
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    if ((st.leader && dm.source == st.leader.address()) ||
        (st.leader_actor && dm.source == st.leader_actor.address())) {
      st.core->leader_lost(self->system().render(dm.reason));
      flush(self);
    }
  });
  auto tick = std::chrono::milliseconds(
      std::max<int64_t>(50, st.args.settings.tick_ms / 4));
  self->delayed_send(self, tick, tick_atom::value);
  connect(self);
  return {
      [=](connect_atom) { connect(self); },
      [=](tick_atom) {
        auto& st = self->state;
        if (st.over)
          return;
        st.core->tick(mono_ms());
        flush(self);
        self->delayed_send(self, tick, tick_atom::value);
      },
      [=](const quorum::leader_info& m) {
        // From the handler the leader spawned for us: talk to it from now on.
        auto& st = self->state;
        if (auto h = caf::actor_cast<caf::actor>(self->current_sender());
            h && !st.over && h != st.leader) {
          st.leader = h;
          self->monitor(h);
        }
        on_leader_message(self, m);
      },
      [=](const quorum::diff& m) { on_leader_message(self, m); },
      [=](const quorum::trunc& m) { on_leader_message(self, m); },
      [=](const quorum::snap& m) { on_leader_message(self, m); },
      [=](const quorum::snap_chunk& m) { on_leader_message(self, m); },
      [=](const quorum::proposal& m) { on_leader_message(self, m); },
      [=](const quorum::commit& m) { on_leader_message(self, m); },
      [=](const quorum::inform& m) { on_leader_message(self, m); },
      [=](const quorum::new_leader& m) { on_leader_message(self, m); },
      [=](const quorum::up_to_date& m) { on_leader_message(self, m); },
      [=](const quorum::ping& m) {
        auto& st = self->state;
        if (st.over)
          return;
        // From the leader: answer with our touches. From our tracker: the
        // sessions its clients touched.
        if (st.leader &&
            self->current_sender() ==
                caf::actor_cast<caf::strong_actor_ptr>(st.leader)) {
          st.core->on(mono_ms(), m);
          flush(self);
        } else {
          st.core->touched(m.sessions);
        }
      },
      [=](const quorum::reply& m) { on_leader_message(self, m); },
      [=](txn_log::log_durable& d) {
        auto& st = self->state;
        if (st.over)
          return;
        st.core->durable(d.zxid);
        flush(self);
      },
      [=](txn_log::log_failed& f) { fatal(self, txn_log::failure_text(f)); },
      [=](quorum::request& rq) {
        // A write of one of our clients, for the leader.
        auto& st = self->state;
        if (st.over || !st.leader)
          return; // the round ends; the client reconnects and retries
        trace_to_leader(self, "REQUEST", 0);
        self->send(st.leader, std::move(rq));
      },
  };
}

} // namespace

caf::actor spawn_follower(caf::actor_system& sys, std::shared_ptr<node> nd,
                          follower_args args, caf::actor peer) {
  return sys.middleman().spawn_broker(follower_impl, std::move(nd),
                                      std::move(args), std::move(peer));
}

} // namespace zkd
