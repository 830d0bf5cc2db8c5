#include "actors/datatree/datatree_actor.hpp"

#include <algorithm>
#include <chrono>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/datatree/state_machine.hpp"
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

struct datatree_state {
  std::shared_ptr<node> nd;
  std::unique_ptr<datatree::state_machine> sm;
  static inline const char* name = "datatree";
};

using datatree_ptr = caf::stateful_actor<datatree_state, caf::io::broker>*;

void publish_metrics(datatree_ptr self) {
  auto& t = self->state.sm->data();
  auto& m = self->state.nd->metrics;
  m.last_zxid = t.last_zxid();
  m.node_count = t.node_count();
  m.data_size = t.approximate_data_size();
  m.ephemerals = t.ephemeral_count();
}

// Sends what the last input produced: the tracker first, as before the
// split, then the proposals, then everything clients see.
void flush(datatree_ptr self) {
  auto& st = self->state;
#ifndef NDEBUG
  st.sm->check_invariants();
#endif
  auto out = st.sm->take_output();
  for (auto& f : out.faults)
    spdlog::critical("{}", f);
  for (auto& a : out.session_applied)
    self->send(st.nd->session_tracker, a);
  if (!out.proposals.entries.empty())
    self->send(st.nd->leader, std::move(out.proposals));
  if (!out.dispatch.items.empty())
    self->send(st.nd->watch_dispatcher, std::move(out.dispatch));
}

caf::behavior datatree_impl(datatree_ptr self, std::shared_ptr<node> nd,
                            std::unique_ptr<datatree::tree>* t) {
  auto& st = self->state;
  st.nd = std::move(nd);
  datatree::prep_options opts;
  opts.extended_types = st.nd->cfg.c.extended_types;
  st.sm = std::make_unique<datatree::state_machine>(std::move(*t), opts);
  delete t;
  publish_metrics(self);
  self->delayed_send(
      self, std::chrono::milliseconds(st.nd->cfg.c.container_check_interval_ms),
      local::reap_atom::value);
  return {
      [=](local::request_batch& batch) {
        self->state.sm->requests(batch.session, std::move(batch.requests),
                                 wall_ms());
        flush(self);
      },
      [=](local::session_write& w) {
        auto e = self->state.sm->session_write(w, wall_ms());
        // connection_loss: not leading; the tracker's next tick retries.
        if (e != wire::err::ok && e != wire::err::connection_loss)
          spdlog::debug("session write for 0x{:x} refused: {}", w.session,
                        wire::err_name(e));
        flush(self);
      },
      [=](local::commit_atom, int64_t zxid) {
        self->state.sm->commit(zxid);
        publish_metrics(self);
        flush(self);
      },
      [=](local::reap_atom) {
        // ZooKeeper's ContainerManager: at most znode.container.maxPerMinute
        // (10000) deletions per minute, spread over the check interval.
        auto interval = self->state.nd->cfg.c.container_check_interval_ms;
        auto limit =
            static_cast<size_t>(std::max<int64_t>(1, 10000 * interval / 60000));
        auto n = self->state.sm->reap(wall_ms(), limit);
        if (n > 0)
          spdlog::debug("datatree: reaping {} container/TTL nodes", n);
        flush(self);
        self->delayed_send(self, std::chrono::milliseconds(interval),
                           local::reap_atom::value);
      },
      [=](local::lead_atom, int64_t epoch) {
        auto& sm = *self->state.sm;
        sm.lead(epoch);
        spdlog::info("datatree: leading epoch {}, last zxid 0x{:x}", epoch,
                     sm.data().last_zxid());
      },
      [=](local::dump_atom) {
        // Sessions with ephemerals, for the `dump` four-letter word.
        return self->state.sm->ephemerals_by_session();
      },
  };
}

} // namespace

caf::actor spawn_datatree(caf::actor_system& sys, std::shared_ptr<node> nd,
                          std::unique_ptr<datatree::tree> t) {
  // unique_ptr is move-only and CAF copies spawn arguments, so the tree
  // travels as a raw pointer the actor takes ownership of.
  auto* holder = new std::unique_ptr<datatree::tree>(std::move(t));
  // On the I/O thread, like the connections: see start_node().
  return sys.middleman().spawn_broker(datatree_impl, std::move(nd), holder);
}

} // namespace zkd
