// Messages of the txn_log actor. Local to one node: the leader (or a
// follower) appends, the log answers when the records are on disk.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

namespace zkd::txn_log {

// One record: the encoded txn, produced by the leader, opaque to the log.
struct log_entry {
  int64_t zxid = 0;    // strictly increasing across every append
  std::string payload; // bytes stored as they are
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_entry& x) {
  return f(caf::meta::type_name("zkd::txn_log::log_entry"), x.zxid, x.payload);
}

// Appends a batch; the sender later gets log_durable (or log_failed). The
// zxids continue the log's: a zxid not above the last logged one is a bug in
// the caller and stops the log with log_failed.
struct log_append {
  std::vector<log_entry> entries; // in zxid order
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_append& x) {
  return f(caf::meta::type_name("zkd::txn_log::log_append"), x.entries);
}

// Every record the receiver appended with a zxid <= `zxid` is on disk.
struct log_durable {
  int64_t zxid = 0; // the highest zxid of the receiver's records in the batch
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_durable& x) {
  return f(caf::meta::type_name("zkd::txn_log::log_durable"), x.zxid);
}

// A write or fdatasync failed (disk full, I/O error). The log actor has
// stopped; nothing not yet reported durable may be acknowledged, and the node
// must shut down.
struct log_failed {
  std::string what; // the error, naming the file
};

// What a role says when it stops on a failed log.
inline std::string failure_text(const log_failed& f) {
  return "transaction log failed: " + f.what +
         "; shutting down without acknowledging further writes";
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_failed& x) {
  return f(caf::meta::type_name("zkd::txn_log::log_failed"), x.what);
}

// Counters of the writer, the answer to log_stats_atom (metrics, tests).
struct log_stats {
  uint64_t appends = 0;       // records accepted
  uint64_t batches = 0;       // writes: one per group commit
  uint64_t fsyncs = 0;        // fdatasync calls
  uint64_t bytes_written = 0; // record bytes
  int64_t durable_zxid = 0;   // last zxid on disk
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_stats& x) {
  return f(caf::meta::type_name("zkd::txn_log::log_stats"), x.appends,
           x.batches, x.fsyncs, x.bytes_written, x.durable_zxid);
}

// Request: replies with log_stats.
using log_stats_atom = caf::atom_constant<caf::atom("logstats")>;

// Closes the current segment once everything before this message is on
// disk; the next append starts a new segment (log_writer::roll). Sent when a
// snapshot starts, so segments end near snapshot boundaries and purge can
// delete them whole.
using log_roll_atom = caf::atom_constant<caf::atom("logroll")>;

// The actor's message to itself: queued behind every append already in the
// mailbox, so one fdatasync covers all of them (group commit).
using log_flush_atom = caf::atom_constant<caf::atom("logflush")>;

} // namespace zkd::txn_log
