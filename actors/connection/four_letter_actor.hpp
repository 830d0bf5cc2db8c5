// The shell side of four-letter words: a snapshot of the node's counters for
// connection::answer(). What only another actor knows (sessions, watches,
// ephemerals) is asked for by the connection that answers.
#pragma once

#include <functional>
#include <memory>

#include "actors/connection/four_letter.hpp"
#include "actors/peer/node.hpp"

namespace caf::io {
class broker;
} // namespace caf::io

namespace zkd {

// Everything the four-letter words print that the node's shared counters
// and tables hold.
connection::server_stats four_letter_snapshot(node& nd);

// Completes `stats` with what `w` prints that only other actors know (dump:
// the session tracker's expiry buckets and the datatree's ephemerals; wchc,
// wchp: the watch dispatcher's tables), asking them from `self`; then calls
// `done`, or `failed` when one does not answer in time. For every other word
// `done` runs at once. Used by the four-letter words and the admin endpoint.
void four_letter_gather(caf::io::broker* self, const node& nd,
                        connection::four_letter_word w,
                        std::shared_ptr<connection::server_stats> stats,
                        std::function<void()> done,
                        std::function<void()> failed);

// The whitelist the configuration enables.
connection::four_letter_whitelist four_letter_allowed(const node& nd);

// Resets what crst / srst reset.
void reset_connection_stats(node& nd);
void reset_server_stats(node& nd);

} // namespace zkd
