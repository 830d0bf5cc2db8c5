// The txn_log actor: the CAF shell around log_writer. It runs detached (its
// own thread) because it blocks in fdatasync, and commits in groups: every
// log_append that arrives while a flush is pending or running goes into the
// next single write + fdatasync. Messages: txn_log_messages.hpp.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "actors/txn_log/txn_log.hpp"

namespace zkd::txn_log {

// What one group commit did, for metrics.
struct sync_report {
  uint64_t records = 0;    // records made durable by this commit
  uint64_t bytes = 0;      // bytes written
  int64_t duration_us = 0; // write + fdatasync
};

// Called on the log's own thread after every successful group commit; must
// be cheap and thread-safe towards its readers (e.g. bump atomics).
using sync_observer = std::function<void(const sync_report&)>;

// Opens the log in `dir` on the calling thread (cutting off a torn tail with a
// warning through spdlog), then spawns the detached actor that owns it. Fails
// with the open error (corruption, I/O) as a caf::sec::runtime_error whose
// context holds the text.
caf::expected<caf::actor> spawn_txn_log(caf::actor_system& sys,
                                        const std::string& dir,
                                        const writer_options& opts = {},
                                        sync_observer observer = {});

// Spawns the actor around a writer that is already open. detached = false is
// only for deterministic tests under CAF's testing scheduler: in a real
// system fdatasync must not block a scheduler thread.
caf::actor spawn_txn_log_actor(caf::actor_system& sys,
                               std::shared_ptr<log_writer> writer,
                               bool detached = true,
                               sync_observer observer = {});

} // namespace zkd::txn_log
