#include "actors/session_tracker/session_tracker_actor.hpp"

#include <chrono>
#include <unordered_map>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/session_tracker/session_tracker.hpp"
#include "actors/tracer/logging.hpp"
#include "actors/tracer/tracer.hpp"
#include "messages/local/local.hpp"
#include "messages/quorum/quorum.hpp"
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

// A broker only to run on the I/O thread with the peer, which replaces the
// node's actor handles (datatree, learner) between rounds.
using tracker_ptr = caf::stateful_actor<tracker_state, caf::io::broker>*;

// Learners report their clients' touches this often: twice per tick, so
// every ping answer the leader gets (one per tick_ms/2) carries fresh ones.
std::chrono::milliseconds report_period(const node& nd) {
  return std::chrono::milliseconds(std::max(1, nd.cfg.c.tick_ms / 2));
}

// Learner mode: hands the sessions touched since the last report to this
// round's follower actor, which sends them with its next ping answer.
void report_touches(tracker_ptr self) {
  auto& st = self->state;
  if (!st.nd->learner || st.core->pending_touches() == 0)
    return; // kept for the next report
  quorum::ping p;
  for (auto& [id, timeout] : st.core->take_touches())
    p.sessions.push_back(quorum::session_touch{id, timeout});
  ZKD_TRACE(session_tracker, self->id(), follower,
            tracer::id_of(st.nd->learner), "touches", {"n", p.sessions.size()});
  self->send(st.nd->learner, std::move(p));
}

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
        // A learner knows every session whose createSession it applied, the
        // ones created through other servers included, and shares the
        // leader's password key: it can check a moving client itself. The
        // committed timeout stays; the touch carries the renegotiated one.
        auto known =
            st.core->contains(id) && st.core->check_password(id, cs.req.passwd);
        if (!known || !(st.core->following() ? st.core->touch(id, timeout, now)
                                             : st.core->touch(id, now))) {
          ZKD_TRACE(session_tracker, self->id(), connection,
                    tracer::id_of(conn), "session_refused",
                    {"session", tracer::hex{id}});
          self->send(conn, local::session_refused{id});
          return;
        }
        // The reconnecting client may ask for a different timeout; ZooKeeper
        // renegotiates it.
        if (!st.core->following())
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
      [=](local::touch_atom, int64_t id, int32_t timeout_ms) {
        // The connection's negotiated timeout: what a learner reports
        // (ZooKeeper touches with the connection's timeout).
        auto& core = *self->state.core;
        if (core.following())
          core.touch(id, timeout_ms, mono_ms());
        else
          core.touch(id, mono_ms());
      },
      [=](quorum::ping& p) {
        // The leader actor relays the sessions a learner's clients kept
        // alive. ZooKeeper's leader ignores touches of sessions it does
        // not track (closed, or expired a moment ago).
        auto& st = self->state;
        if (st.core->following())
          return;
        auto now = mono_ms();
        for (auto& t : p.sessions)
          st.core->touch(t.session, t.timeout_ms, now);
      },
      [=](local::follow_atom) {
        auto& st = self->state;
        if (st.core->following())
          return;
        st.log->debug("learner mode: the leader expires sessions");
        // The running tick timer switches to the report period when it
        // next fires; a second timer here would double the ticks.
        st.core->follow();
      },
      [=](local::password_key_atom, uint64_t k0, uint64_t k1) {
        self->state.core->set_password_key(
            session_tracker::password_key{k0, k1});
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
      [=](local::dump_atom, local::follow_atom) {
        // A learner's `dump`: every session it knows, with its timeout.
        return self->state.core->sessions_with_timeouts();
      },
      [=](local::dump_atom) {
        // Expiry buckets in wall-clock time, for the `dump` four-letter word
        // (none on a learner: ZooKeeper's learners have no expiry queue).
        auto mono = mono_ms();
        auto wall = wall_ms();
        std::vector<std::pair<int64_t, std::vector<int64_t>>> out;
        if (self->state.core->following())
          return out;
        for (auto& b : self->state.core->buckets())
          out.emplace_back(wall + (b.expires_at_ms - mono), b.sessions);
        return out;
      },
      [=](local::tick_atom) {
        auto& st = self->state;
        if (st.core->following()) {
          report_touches(self);
          self->delayed_send(self, report_period(*st.nd),
                             local::tick_atom::value);
          return;
        }
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
  return sys.middleman().spawn_broker(tracker_impl, std::move(nd),
                                      std::move(sessions));
}

} // namespace zkd
