// The CAF shell over the Fast Leader Election core: it publishes itself on
// the node's election port, keeps a link to every participant (connects,
// and reconnects with backoff after a peer goes down), carries
// notifications, turns the core's deadlines into timers, and reports each
// round's outcome to its parent (the peer supervisor).
//
// All I/O goes through the middleman actor handed in at spawn, so this file
// needs only libcaf_core: production passes
// caf::actor_cast<caf::actor>(sys.middleman().actor_handle()), the unit test
// passes a fake middleman that "connects" to local actors under CAF's test
// scheduler.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>

#include "actors/election/election.hpp"

namespace zkd::election {

// Where a member's election actor is published.
struct peer_address {
  server_id id = 0;
  std::string host;
  uint16_t port = 0;
};

struct actor_settings {
  settings election; // self, participants, finalize wait, intervals
  // The election address of every member, self included (published there).
  // Only participants are connected to; observers reach us.
  std::vector<peer_address> members;
  int64_t connect_timeout_ms = 2000;
  // Reconnect delays after a failed connect or a lost peer: doubling from
  // min to max, back to min once connected.
  int64_t reconnect_min_ms = 100;
  int64_t reconnect_max_ms = 5000;
};

// --- parent -> election ------------------------------------------------------

// Become LOOKING: a new round with what the node holds now. Sent at start-up
// and whenever the node loses its leader (or its quorum).
struct start_election {
  int64_t last_zxid = 0;
  uint64_t current_epoch = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, start_election& x) {
  return f(caf::meta::type_name("zkd::election::start_election"), x.last_zxid,
           x.current_epoch);
}

// The leader we follow or lead established this epoch (after NEWLEADER):
// our vote reports it to nodes that join later.
struct established_epoch {
  uint64_t epoch = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, established_epoch& x) {
  return f(caf::meta::type_name("zkd::election::established_epoch"), x.epoch);
}

// --- election -> parent ------------------------------------------------------

// A round ended: LEADING, FOLLOWING or OBSERVING v.leader. v.peer_epoch is
// the leader's epoch when it was elected (the new epoch is agreed in Zab's
// discovery, not here); v.election_epoch is the round.
struct elected {
  peer_state state = peer_state::looking;
  vote v;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, elected& x) {
  return f(caf::meta::type_name("zkd::election::elected"), x.state, x.v);
}

// The election port could not be published; the actor has stopped.
struct election_failed {
  std::string reason;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, election_failed& x) {
  return f(caf::meta::type_name("zkd::election::election_failed"), x.reason);
}

// The answer to caf::get_atom: for tests, metrics and four-letter words.
struct election_status {
  peer_state state = peer_state::looking;
  vote v; // current proposal or outcome (zeros before the first round)
  uint64_t logical_clock = 0;
  uint16_t port = 0;            // the published port, 0 until published
  std::vector<server_id> links; // participants (and observers) we reach
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, election_status& x) {
  return f(caf::meta::type_name("zkd::election::election_status"), x.state, x.v,
           x.logical_clock, x.port, x.links);
}

// Spawns the election actor of node s.election.self. It publishes itself on
// its own address in s.members and starts connecting at once; a round
// starts with start_election. Outcomes (elected) and a failed publish
// (election_failed) go to `parent`.
caf::actor spawn_election(caf::actor_system& sys, actor_settings s,
                          caf::actor parent, caf::actor middleman);

} // namespace zkd::election
