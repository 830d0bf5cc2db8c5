// Everything the state machine says to clients passes through here, in the
// order the datatree produced it: replies (registering the watch a read asked
// for) and watch events. Keeping both on one path is what makes "an event
// before the reply to any later request" hold without resequencing.
#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "actors/peer/node.hpp"

namespace zkd {

caf::actor spawn_watch_dispatcher(caf::actor_system& sys,
                                  std::shared_ptr<node> nd);

} // namespace zkd
