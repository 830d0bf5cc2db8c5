// The follower / observer role: the CAF shell over follower::learner. It
// reaches the leader node's peer on its quorum port, asks it for the
// leader actor, and from then on talks to that actor: its own log writer
// makes proposals durable, its datatree applies them, and the peer hears
// when the node may serve and when the role is over.
#pragma once

#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "actors/follower/learner.hpp"
#include "actors/peer/node.hpp"

namespace zkd {

struct follower_args {
  follower::learner_settings settings;
  follower::learner_history history;
  std::string leader_host;
  uint16_t leader_port = 0; // the leader's quorum port
  uint64_t leader_id = 0;
};

caf::actor spawn_follower(caf::actor_system& sys, std::shared_ptr<node> nd,
                          follower_args args, caf::actor peer);

} // namespace zkd
