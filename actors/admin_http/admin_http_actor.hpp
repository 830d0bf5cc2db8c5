// The admin endpoint: one broker on cluster.admin's address and port that
// serves ZooKeeper AdminServer's GET /commands/<name> and Prometheus's
// GET /metrics over HTTP/1.1 to every admin connection.
#pragma once

#include <memory>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/peer/node.hpp"

namespace zkd {

// Binds the admin address and port (an error when it cannot) and spawns the
// broker on the I/O thread.
caf::expected<caf::actor> spawn_admin_http(caf::actor_system& sys,
                                           std::shared_ptr<node> nd);

} // namespace zkd
