// Owns session ids, passwords and timeouts; expires sessions that miss their
// deadline by sending closeSession through the write path, like any write.
#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "actors/peer/node.hpp"

namespace zkd {

// `sessions` are the ones the datatree recovered from disk, as id -> timeout:
// they get a fresh full timeout to reconnect, as in ZooKeeper.
caf::actor
spawn_session_tracker(caf::actor_system& sys, std::shared_ptr<node> nd,
                      std::vector<std::pair<int64_t, int32_t>> sessions);

} // namespace zkd
