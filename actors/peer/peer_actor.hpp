// The node's supervisor. It recovers the data directory, spawns the
// long-lived actors (txn_log, datatree, watch_dispatcher, session_tracker,
// client_listener) and the role actor. A standalone node is a cluster of
// one: it goes straight from LOOKING to LEADING a one-member quorum, with a
// new epoch, and serves every write on the ensemble's path.
#pragma once

#include <memory>
#include <string>

#include <caf/actor.hpp>

#include "config/config.hpp"

namespace zkd {

struct node;

// Starts the node; on failure returns the process exit code and a message
// (3: the data on disk cannot be trusted; 1: anything else).
struct start_result {
  int exit_code = 0;
  std::string error;
  std::shared_ptr<node> nd;
  caf::actor listener;
};

start_result start_node(caf::actor_system& sys, config::node_config cfg);

} // namespace zkd
