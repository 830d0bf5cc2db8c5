#include "actors/leader/leader_actor.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/leader/leader.hpp"
#include "actors/tracer/logging.hpp"
#include "actors/tracer/tracer.hpp"
#include "actors/tracer/txn_summary.hpp"
#include "actors/txn_log/txn_log_messages.hpp"
#include "messages/local/local.hpp"

namespace zkd {

namespace {

struct leader_state {
  std::shared_ptr<node> nd;
  std::unique_ptr<leader::core> core;
  std::shared_ptr<spdlog::logger> log = tracer::logger("leader");
  static inline const char* name = "leader";
};

using leader_ptr = caf::stateful_actor<leader_state, caf::io::broker>*;

caf::behavior leader_impl(leader_ptr self, std::shared_ptr<node> nd,
                          size_t quorum) {
  self->state.nd = std::move(nd);
  self->state.core = std::make_unique<leader::core>(quorum);
  return {
      [=](txn_log::log_append& batch) {
        auto& st = self->state;
        for (auto& e : batch.entries)
          st.core->propose(e.zxid);
        ZKD_TRACE_TXNS(leader, self->id(), txn_log,
                       tracer::id_of(st.nd->txn_log), "log_append",
                       batch.entries);
        self->send(st.nd->txn_log, std::move(batch));
      },
      [=](txn_log::log_durable& d) {
        auto& st = self->state;
        auto before = st.core->committed();
        auto now = st.core->ack(st.nd->cfg.id, d.zxid);
        if (now != before) {
          ZKD_TRACE(leader, self->id(), datatree,
                    tracer::id_of(st.nd->datatree), "commit",
                    {"zxid", tracer::hex{now}}, {"after", tracer::hex{before}});
          self->send(st.nd->datatree, local::commit_atom::value, now);
        }
      },
      [=](txn_log::log_failed& f) {
        // Nothing after this point may be acknowledged: stop at once, loudly.
        self->state.log->critical("transaction log failed: {}; shutting down "
                                  "without acknowledging further writes",
                                  f.what);
        // The trace's last lines show how it came to this.
        tracer::drain();
        spdlog::shutdown();
        std::_Exit(3);
      },
  };
}

} // namespace

caf::actor spawn_leader(caf::actor_system& sys, std::shared_ptr<node> nd,
                        size_t quorum) {
  // On the I/O thread, like the connections: see start_node().
  return sys.middleman().spawn_broker(leader_impl, std::move(nd), quorum);
}

} // namespace zkd
