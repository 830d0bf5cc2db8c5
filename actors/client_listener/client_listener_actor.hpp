// The broker that owns the client port and forks one connection broker per
// accepted TCP connection.
#pragma once

#include <memory>

#include <caf/io/broker.hpp>

#include "actors/peer/node.hpp"

namespace zkd {

// Spawns the listener on the configured client address and port; returns an
// error when the port cannot be opened.
caf::expected<caf::actor> spawn_client_listener(caf::actor_system& sys,
                                                std::shared_ptr<node> nd);

} // namespace zkd
