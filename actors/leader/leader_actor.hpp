// The leader role: orders proposals, has them logged (and, in an ensemble,
// acked by a quorum), and tells the datatree how far it may commit. A
// standalone node is a leader of a one-member quorum: the same path, with
// its own log as the only ack.
#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "actors/peer/node.hpp"

namespace zkd {

caf::actor spawn_leader(caf::actor_system& sys, std::shared_ptr<node> nd,
                        size_t quorum);

} // namespace zkd
