// What one `zkd bench` run measured, and its two renderings: a human summary
// and one JSON line for scripts (tests/bench/compare.py reads it).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "bin/tools/bench_histogram.hpp"
#include "bin/tools/bench_options.hpp"

namespace zkd::tools::bench {

// KeeperException.Code's constant name of a result code ("NONODE",
// "CONNECTIONLOSS", ...), "OK" for 0, "UNKNOWN(-n)" for codes it lacks.
std::string code_name(int32_t err);

struct report {
  options opts;
  uint64_t successes = 0;
  std::map<std::string, uint64_t> errors; // by code_name
  double elapsed_s = 0;                   // measure start to last completion
  latency_histogram latency;              // ns, successful ops only
  // watch: one round per write; fanout = write sent to the round's last
  // notification; write = the writer's own setData round trip.
  uint64_t rounds = 0;
  latency_histogram fanout;
  latency_histogram write;
  double client_cpu_s = 0; // the bench's own CPU over the measured run
  std::string dir;         // where create/ephemeral/multi create put nodes
  uint64_t created = 0;    // nodes created there, warm-up included

  uint64_t error_count() const;
  uint64_t ops() const { return successes + error_count(); }
  double ops_per_s() const;
};

std::string format_json(const report& r);
std::string format_text(const report& r);

} // namespace zkd::tools::bench
