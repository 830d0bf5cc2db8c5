// One broker per client TCP connection: jute framing, the connect handshake,
// four-letter words, pings, and handing every other request to the datatree
// in the order it arrived.
#pragma once

#include <memory>

#include <caf/io/broker.hpp>

#include "actors/peer/node.hpp"

namespace zkd {

// Hands `hdl` from the listener to a new connection broker.
caf::actor fork_connection(caf::io::broker* listener,
                           caf::io::connection_handle hdl,
                           std::shared_ptr<node> nd, uint64_t conn_id);

} // namespace zkd
