#include "actors/election/election_actor.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <spdlog/spdlog.h>

#include "actors/tracer/tracer.hpp"

namespace zkd::election {

namespace {

using reconnect_atom = caf::atom_constant<caf::atom("el_recon")>;
using timer_atom = caf::atom_constant<caf::atom("el_timer")>;

struct election_state {
  std::unique_ptr<core> c;
  actor_settings cfg;
  caf::actor parent;
  caf::actor mm;
  uint16_t port = 0;
  // Whom we can send to: our own connects, and senders of notifications
  // (observers, and peers that reached us before we reached them).
  std::map<server_id, caf::actor> links;
  std::set<server_id> connecting;
  std::map<server_id, int64_t> backoff_ms;
  std::optional<int64_t> timer_at_ms;
  static inline const char* name = "election";
};

using election_ptr = caf::stateful_actor<election_state>*;

int64_t now_ms(election_ptr self) {
  using namespace std::chrono;
  return duration_cast<milliseconds>(self->clock().now().time_since_epoch())
      .count();
}

const peer_address* address_of(const election_state& st, server_id id) {
  for (auto& m : st.cfg.members)
    if (m.id == id)
      return &m;
  return nullptr;
}

// Sends what the core produced and keeps one timer armed for its next
// deadline.
void flush(election_ptr self) {
  auto& st = self->state;
  st.c->check_invariants(); // cheap: a handful of votes; aborts on a bug
  auto out = st.c->take_output();
  for (auto& a : out.send) {
    auto i = st.links.find(a.to);
    // Unreachable peers miss this one; connected() catches them up.
    if (i != st.links.end()) {
      ZKD_TRACE_TO_NODE(
          election, self->id(), election, tracer::id_of(i->second), a.to,
          "NOTIFICATION", {"state", quorum::to_string(a.n.state)},
          {"leader", a.n.v.leader}, {"zxid", tracer::hex{a.n.v.zxid}},
          {"round", a.n.v.election_epoch}, {"peer_epoch", a.n.v.peer_epoch});
      self->send(i->second, a.n);
    }
  }
  if (out.decided) {
    auto& d = *out.decided;
    spdlog::info("election: {} {} (zxid 0x{:x}, peer epoch {}, round {})",
                 quorum::to_string(d.state), d.v.leader, d.v.zxid,
                 d.v.peer_epoch, d.v.election_epoch);
    ZKD_TRACE(election, self->id(), peer, tracer::id_of(st.parent), "elected",
              {"state", quorum::to_string(d.state)}, {"leader", d.v.leader},
              {"zxid", tracer::hex{d.v.zxid}});
    self->send(st.parent, elected{d.state, d.v});
  }
  if (auto at = st.c->next_deadline_ms();
      at && (!st.timer_at_ms || *at < *st.timer_at_ms)) {
    st.timer_at_ms = at;
    caf::actor_clock::time_point when{std::chrono::milliseconds{*at}};
    self->scheduled_send(self, when, timer_atom::value, *at);
  }
}

void adopt(election_ptr self, server_id id, const caf::actor& h) {
  auto& cur = self->state.links[id];
  if (cur == h)
    return;
  cur = h;
  self->monitor(h);
}

void connect(election_ptr self, server_id id);

void schedule_reconnect(election_ptr self, server_id id) {
  auto& st = self->state;
  auto& delay = st.backoff_ms[id];
  if (delay <= 0)
    delay = st.cfg.reconnect_min_ms;
  self->delayed_send(self, std::chrono::milliseconds{delay},
                     reconnect_atom::value, id);
  delay = std::min(delay * 2, st.cfg.reconnect_max_ms);
}

void connect(election_ptr self, server_id id) {
  auto& st = self->state;
  if (st.links.count(id) > 0 || st.connecting.count(id) > 0)
    return;
  auto addr = address_of(st, id);
  if (addr == nullptr)
    return; // no address: the peer can still reach us
  st.connecting.insert(id);
  self->request(st.mm, std::chrono::milliseconds{st.cfg.connect_timeout_ms},
                caf::connect_atom::value, addr->host, addr->port)
      .then(
          [=](caf::node_id&, caf::strong_actor_ptr& p, std::set<std::string>&) {
            auto& st = self->state;
            st.connecting.erase(id);
            auto h = caf::actor_cast<caf::actor>(p);
            if (!h) {
              schedule_reconnect(self, id);
              return;
            }
            spdlog::debug("election: connected to {}", id);
            adopt(self, id, h);
            st.backoff_ms[id] = st.cfg.reconnect_min_ms;
            st.c->connected(now_ms(self), id);
            flush(self);
          },
          [=](caf::error& err) {
            self->state.connecting.erase(id);
            spdlog::debug("election: cannot reach {}: {}", id,
                          self->system().render(err));
            schedule_reconnect(self, id);
          });
}

caf::behavior election_actor(election_ptr self, actor_settings cfg,
                             caf::actor parent, caf::actor mm) {
  auto& st = self->state;
  st.c = std::make_unique<core>(cfg.election);
  st.cfg = std::move(cfg);
  st.parent = std::move(parent);
  st.mm = std::move(mm);
  auto me = st.cfg.election.self;

  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    for (auto i = st.links.begin(); i != st.links.end(); ++i) {
      if (i->second.address() != dm.source)
        continue;
      auto id = i->first;
      st.links.erase(i);
      spdlog::debug("election: lost {}", id);
      st.c->disconnected(now_ms(self), id);
      flush(self);
      if (st.c->is_participant(id) && id != me) {
        st.backoff_ms[id] = st.cfg.reconnect_min_ms;
        schedule_reconnect(self, id);
      }
      return;
    }
  });

  // Publish on our own election address. A node that cannot is useless to
  // the ensemble: tell the parent and stop.
  if (auto addr = address_of(st, me)) {
    self->request(st.mm, std::chrono::milliseconds{st.cfg.connect_timeout_ms},
                  caf::publish_atom::value, addr->port,
                  caf::actor_cast<caf::strong_actor_ptr>(self),
                  std::set<std::string>{}, addr->host, true)
        .then(
            [=](uint16_t port) {
              self->state.port = port;
              spdlog::info("election: listening on port {}", port);
            },
            [=](caf::error& err) {
              auto why = "cannot publish the election port: " +
                         self->system().render(err);
              spdlog::error("election: {}", why);
              self->send(self->state.parent, election_failed{why});
              self->quit(err);
            });
  } else {
    self->send(st.parent, election_failed{"no election address for this node"});
    self->quit();
    return {};
  }
  for (auto p : st.c->config().participants)
    if (p != me)
      connect(self, p);

  return {
      [=](const quorum::notification& n) {
        // Answer on the handle the peer spoke from: it may be newer than ours
        // (the peer restarted and our proxy has not gone down yet).
        if (auto h = caf::actor_cast<caf::actor>(self->current_sender());
            h && n.sender != me)
          adopt(self, n.sender, h);
        self->state.c->receive(now_ms(self), n);
        flush(self);
      },
      [=](const start_election& s) {
        self->state.c->start_round(now_ms(self),
                                   local_state{s.last_zxid, s.current_epoch});
        flush(self);
      },
      [=](const established_epoch& e) {
        self->state.c->set_peer_epoch(e.epoch);
      },
      [=](timer_atom, int64_t at) {
        auto& st = self->state;
        if (st.timer_at_ms == at)
          st.timer_at_ms.reset();
        st.c->tick(now_ms(self));
        flush(self);
      },
      [=](reconnect_atom, server_id id) { connect(self, id); },
      [=](caf::get_atom) {
        auto& st = self->state;
        election_status s;
        s.state = st.c->state();
        if (auto v = st.c->current_vote())
          s.v = *v;
        s.logical_clock = st.c->logical_clock();
        s.port = st.port;
        for (auto& l : st.links)
          s.links.push_back(l.first);
        return s;
      },
  };
}

} // namespace

caf::actor spawn_election(caf::actor_system& sys, actor_settings s,
                          caf::actor parent, caf::actor middleman) {
  return sys.spawn(election_actor, std::move(s), std::move(parent),
                   std::move(middleman));
}

} // namespace zkd::election
