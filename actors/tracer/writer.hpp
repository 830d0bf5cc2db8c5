// Turning tracing on and off, and the thread that writes the trace file.
//
// A trace point (tracer.hpp) copies its event, stamped, into a queue of its
// own thread, under a lock nobody else takes but the writer, for as long as
// it swaps the queue out. A thread of the tracer's own takes every queue
// each poll, merges the events by time, formats them as JSON lines and
// appends them to the file. A trace point never waits for the file: if the
// writer falls behind by more than max_queued_bytes_per_thread, further
// events are dropped and counted, and a "trace_dropped" line says how many.
//
// One tracer per process (a process runs one node).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "actors/tracer/tracer.hpp"

namespace zkd::tracer {

// Bytes of events a thread may have waiting for the writer before further
// ones are dropped (about 300,000 typical events).
constexpr size_t max_queued_bytes_per_thread = size_t{32} << 20;

// The mask of a list of kind names (each one of config::actor_kinds(), or
// "all" / "*" for every kind). On an unknown name returns nullopt and sets
// `unknown` to it.
std::optional<mask_t> mask_of(const std::vector<std::string>& kinds,
                              std::string* unknown = nullptr);

// The kind names of a mask, in config::actor_kinds() order.
std::vector<std::string> kinds_of(mask_t mask);

// Opens `file` (appending) and traces `kinds` of node `node` into it. An
// empty file leaves tracing off (kinds must then be empty too). Returns ""
// or a sentence saying what is wrong. Calling it again switches to the new
// file and kinds.
std::string start(uint64_t node, const std::string& file,
                  const std::vector<std::string>& kinds);

// Switches the traced kinds at run time (the admin endpoint's switch). An
// empty list turns tracing off. Returns "" or a sentence: an unknown kind,
// or kinds asked for while no trace file is open. Nothing changes on error.
std::string set_enabled(const std::vector<std::string>& kinds);

// The kinds traced now.
std::vector<std::string> enabled_kinds();

// The trace file, "" when none is open.
std::string current_file();

// Blocks until every line queued before the call is written (or dropped
// for a write error). For tests and an orderly shutdown; never call it on
// an actor's thread.
void flush();

// Turns tracing off, writes what is queued and closes the file.
void stop();

struct writer_stats {
  uint64_t written = 0; // lines in the file
  uint64_t dropped = 0; // lines lost to a full queue or a write error
  int64_t queued = 0;   // lines waiting now
  std::string error;    // the last write error, "" if none
};

writer_stats stats();

} // namespace zkd::tracer
