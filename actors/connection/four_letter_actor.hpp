// The shell side of four-letter words: a snapshot of the node's counters for
// connection::answer(). What only another actor knows (sessions, watches,
// ephemerals) is asked for by the connection that answers.
#pragma once

#include "actors/connection/four_letter.hpp"
#include "actors/peer/node.hpp"

namespace zkd {

// Everything the four-letter words print that the node's shared counters
// and tables hold.
connection::server_stats four_letter_snapshot(node& nd);

// The whitelist the configuration enables.
connection::four_letter_whitelist four_letter_allowed(const node& nd);

// Resets what crst / srst reset.
void reset_connection_stats(node& nd);
void reset_server_stats(node& nd);

} // namespace zkd
