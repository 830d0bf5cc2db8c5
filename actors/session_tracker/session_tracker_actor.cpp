#include "actors/session_tracker/session_tracker_actor.hpp"

#include <chrono>
#include <unordered_map>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/session_tracker/session_tracker.hpp"
#include "actors/tracer/logging.hpp"
#include "actors/tracer/tracer.hpp"
#include "messages/local/local.hpp"
#include "messages/wire/protocol.hpp"

namespace zkd {

namespace {

using namespace std::chrono;

int64_t mono_ms() {
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch())
      .count();
}

int64_t wall_ms() {
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

struct tracker_state {
  std::shared_ptr<node> nd;
  std::unique_ptr<session_tracker::tracker> core;
  // Connections waiting for their createSession txn to commit.
  std::unordered_map<int64_t, caf::actor> creating;
  std::shared_ptr<spdlog::logger> log = tracer::logger("session_tracker");
  static inline const char* name = "session_tracker";
};

using tracker_ptr = caf::stateful_actor<tracker_state>*;

caf::behavior tracker_impl(tracker_ptr self, std::shared_ptr<node> nd,
                           std::vector<std::pair<int64_t, int32_t>> sessions) {
  auto& st = self->state;
  st.nd = std::move(nd);
  const auto& c = st.nd->cfg.c;
  // ZooKeeper seeds session ids from the clock so that ids stay unique
  // across restarts; the server id in the top byte keeps them unique across
  // an ensemble.
  st.core = std::make_unique<session_tracker::tracker>(
      c.tick_ms, st.nd->cfg.id, wall_ms(),
      session_tracker::password_key{st.nd->session_secret[0],
                                    st.nd->session_secret[1]});
  auto now = mono_ms();
  for (auto& [id, timeout] : sessions)
    st.core->add(id, timeout, now);
  st.nd->metrics.sessions = st.core->size();
  self->delayed_send(self, milliseconds(c.tick_ms), local::tick_atom::value);
  return {
      [=](local::connect_session& cs) {
        auto& st = self->state;
        auto conn = caf::actor_cast<caf::actor>(self->current_sender());
        const auto& c = st.nd->cfg.c;
        auto timeout = session_tracker::tracker::negotiate_timeout(
            cs.req.timeout, c.min_session_timeout_ms, c.max_session_timeout_ms);
        if (cs.req.session_id == 0) {
          auto id = st.core->next_session_id();
          st.creating.emplace(id, conn);
          ZKD_TRACE(session_tracker, self->id(), datatree,
                    tracer::id_of(st.nd->datatree), "session_write",
                    {"session", tracer::hex{id}}, {"op", "createSession"},
                    {"timeout_ms", timeout});
          self->send(
              st.nd->datatree,
              local::session_write{id, wire::op::create_session, timeout});
          return;
        }
        auto id = cs.req.session_id;
        auto now = mono_ms();
        if (!st.core->contains(id) ||
            !st.core->check_password(id, cs.req.passwd) ||
            !st.core->touch(id, now)) {
          ZKD_TRACE(session_tracker, self->id(), connection,
                    tracer::id_of(conn), "session_refused",
                    {"session", tracer::hex{id}});
          self->send(conn, local::session_refused{id});
          return;
        }
        // The reconnecting client may ask for a different timeout; ZooKeeper
        // renegotiates it.
        st.core->add(id, timeout, now);
        st.log->debug("session 0x{:x} resumed from {}", id, cs.remote);
        ZKD_TRACE(session_tracker, self->id(), connection, tracer::id_of(conn),
                  "session_established", {"session", tracer::hex{id}},
                  {"timeout_ms", timeout}, {"resumed", true});
        self->send(conn, local::session_established{id, timeout,
                                                    st.core->password(id)});
      },
      [=](local::touch_atom, int64_t id) {
        self->state.core->touch(id, mono_ms());
      },
      [=](local::session_applied& sa) {
        auto& st = self->state;
        if (sa.opcode == wire::op::create_session) {
          st.core->add(sa.session, sa.timeout_ms, mono_ms());
          if (auto i = st.creating.find(sa.session); i != st.creating.end()) {
            ZKD_TRACE(session_tracker, self->id(), connection,
                      tracer::id_of(i->second), "session_established",
                      {"session", tracer::hex{sa.session}},
                      {"timeout_ms", sa.timeout_ms}, {"resumed", false});
            self->send(i->second, local::session_established{
                                      sa.session, sa.timeout_ms,
                                      st.core->password(sa.session)});
            st.creating.erase(i);
          }
        } else {
          st.core->remove(sa.session);
        }
        st.nd->metrics.sessions = st.core->size();
      },
      [=](local::dump_atom) {
        // Expiry buckets in wall-clock time, for the `dump` four-letter word.
        auto mono = mono_ms();
        auto wall = wall_ms();
        std::vector<std::pair<int64_t, std::vector<int64_t>>> out;
        for (auto& b : self->state.core->buckets())
          out.emplace_back(wall + (b.expires_at_ms - mono), b.sessions);
        return out;
      },
      [=](local::tick_atom) {
        auto& st = self->state;
        for (auto id : st.core->expire(mono_ms())) {
          st.log->info("expiring session 0x{:x}: timeout exceeded", id);
          ZKD_TRACE(session_tracker, self->id(), datatree,
                    tracer::id_of(st.nd->datatree), "session_write",
                    {"session", tracer::hex{id}}, {"op", "closeSession"},
                    {"reason", "expired"});
          self->send(st.nd->datatree,
                     local::session_write{id, wire::op::close_session, 0});
        }
        self->delayed_send(self, milliseconds(st.nd->cfg.c.tick_ms),
                           local::tick_atom::value);
      },
  };
}

} // namespace

caf::actor
spawn_session_tracker(caf::actor_system& sys, std::shared_ptr<node> nd,
                      std::vector<std::pair<int64_t, int32_t>> sessions) {
  return sys.spawn(tracker_impl, std::move(nd), std::move(sessions));
}

} // namespace zkd
