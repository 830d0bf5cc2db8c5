// The node's state machine: the tree, the per-session request order, and
// (while this node leads) prep. Reads are answered here after every earlier
// request of the same session; writes are prepared here, proposed by the
// leader, and applied here when committed.
#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "actors/datatree/tree.hpp"
#include "actors/peer/node.hpp"

namespace zkd {

caf::actor spawn_datatree(caf::actor_system& sys, std::shared_ptr<node> nd,
                          std::unique_ptr<datatree::tree> t);

} // namespace zkd
