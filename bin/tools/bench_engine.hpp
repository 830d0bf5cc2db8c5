// The measured part of `zkd bench`: client threads, each an epoll loop over
// its share of the sessions, keeping --outstanding requests in flight per
// session and timing each one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bin/tools/bench_options.hpp"
#include "bin/tools/bench_report.hpp"

namespace zkd::tools::bench {

// What setup prepared for the run.
struct plan {
  std::string token;             // makes this run's node names unique
  std::vector<std::string> keys; // existing nodes of the key-space workloads
  std::string data;              // --size bytes
  std::string create_dir;        // create, multi create
  std::string eph_dir;           // ephemeral
  std::string watch_path;        // watch
};

// The name of the seq-th node session `session` creates under `dir`.
std::string node_name(const std::string& dir, const std::string& token,
                      uint32_t session, uint64_t seq);

struct run_output {
  // Per session, how many names it used under create_dir / eph_dir: every
  // node it may have left is node_name(dir, token, session, seq < that).
  std::vector<uint64_t> names_used;
};

// Connects every session, runs warm-up and the measured run, closes the
// sessions. Fills r (not opts, dir); false with `error` when the sessions
// could not be set up (nothing was measured then).
bool run_load(const options& o, const plan& p, report& r, run_output& out,
              std::string& error);

} // namespace zkd::tools::bench
