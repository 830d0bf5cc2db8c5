// zkd_sim: runs the ensemble simulation (sim.hpp) for one seed or many.
//   zkd_sim --seed 42 [--nodes 3|5] [--observers N] [--steps N] [--trace]
//   zkd_sim --seeds 500 [--first 1] [--nodes 3|5] ...
// A failing seed prints what broke, the last traced events and the command
// that replays it; the exit code is 1 if any seed failed.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>

#include "tests/sim/sim.hpp"

namespace {

// The cores abort on a broken invariant: the seed must still be printed.
char replay_line[512];

extern "C" void on_abort(int) {
  auto n = std::strlen(replay_line);
  if (n > 0) {
    const char head[] = "\nsim: aborted; replay with: ";
    (void)!write(2, head, sizeof head - 1);
    (void)!write(2, replay_line, n);
    (void)!write(2, "\n", 1);
  }
  std::signal(SIGABRT, SIG_DFL);
  std::abort();
}

[[noreturn]] void usage(const char* prog) {
  std::fprintf(
      stderr,
      "usage: %s [--seed N | --seeds COUNT [--first N]] "
      "[--nodes 3|5] [--observers N] [--steps N] [--tick MS] "
      "[--snapshots serving|any] [--trace] [--trace-votes] [--quiet]\n",
      prog);
  std::exit(2);
}

} // namespace

int main(int argc, char** argv) {
  zkd::sim::options o;
  uint64_t first = 1;
  uint64_t count = 1;
  bool single = false;
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto num = [&]() -> int64_t {
      if (i + 1 >= argc)
        usage(argv[0]);
      return std::stoll(argv[++i]);
    };
    if (a == "--seed") {
      first = static_cast<uint64_t>(num());
      count = 1;
      single = true;
    } else if (a == "--seeds") {
      count = static_cast<uint64_t>(num());
    } else if (a == "--first") {
      first = static_cast<uint64_t>(num());
    } else if (a == "--nodes") {
      o.nodes = static_cast<int>(num());
    } else if (a == "--observers") {
      o.observers = static_cast<int>(num());
    } else if (a == "--steps") {
      o.steps = num();
    } else if (a == "--tick") {
      o.tick_ms = num();
    } else if (a == "--snapshots") {
      if (i + 1 >= argc)
        usage(argv[0]);
      std::string v = argv[++i];
      if (v != "serving" && v != "any")
        usage(argv[0]);
      o.snapshot_any_time = v == "any";
    } else if (a == "--trace") {
      o.trace = true;
    } else if (a == "--trace-votes") {
      o.trace = true;
      o.trace_votes = true;
    } else if (a == "--quiet") {
      quiet = true;
    } else {
      usage(argv[0]);
    }
  }
  if (o.nodes < 1 || o.observers < 0 || o.steps < 0 || o.tick_ms < 4)
    usage(argv[0]);
  std::signal(SIGABRT, on_abort);
  auto t0 = std::chrono::steady_clock::now();
  uint64_t failed = 0;
  uint64_t events = 0, committed = 0, elections = 0, truncs = 0, snaps = 0;
  for (uint64_t s = first; s < first + count; ++s) {
    o.seed = s;
    std::snprintf(replay_line, sizeof replay_line,
                  "%s --seed %llu --nodes %d --observers %d --steps %lld "
                  "--tick %lld --snapshots %s --trace",
                  argv[0], static_cast<unsigned long long>(s), o.nodes,
                  o.observers, static_cast<long long>(o.steps),
                  static_cast<long long>(o.tick_ms),
                  o.snapshot_any_time ? "any" : "serving");
    auto r = zkd::sim::run(o);
    events += r.events;
    committed += r.committed;
    elections += r.elections;
    truncs += r.truncs;
    snaps += r.snaps;
    if (single && !quiet)
      std::printf("seed %llu: %s; %llu events, %lld ms simulated, %llu txns "
                  "committed (%llu client writes acked), %llu epochs, %llu "
                  "faults, %llu TRUNC, %llu SNAP\n",
                  static_cast<unsigned long long>(s), r.ok ? "ok" : "FAILED",
                  static_cast<unsigned long long>(r.events),
                  static_cast<long long>(r.sim_ms),
                  static_cast<unsigned long long>(r.committed),
                  static_cast<unsigned long long>(r.acked),
                  static_cast<unsigned long long>(r.elections),
                  static_cast<unsigned long long>(r.faults),
                  static_cast<unsigned long long>(r.truncs),
                  static_cast<unsigned long long>(r.snaps));
    if (r.ok)
      continue;
    ++failed;
    if (!o.trace) {
      std::printf("--- seed %llu: last events ---\n",
                  static_cast<unsigned long long>(s));
      auto from = r.trace.size() > 60 ? r.trace.size() - 60 : 0;
      for (auto i = from; i < r.trace.size(); ++i)
        std::printf("%s\n", r.trace[i].c_str());
    }
    std::printf("FAILED seed %llu (%d nodes, %d observers): %s\n"
                "  replay: %s\n",
                static_cast<unsigned long long>(s), o.nodes, o.observers,
                r.failure.c_str(), replay_line);
    std::fflush(stdout);
  }
  replay_line[0] = 0;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - t0)
                .count();
  if (!single || failed)
    std::printf("%llu of %llu seeds failed (%d nodes, %d observers, %lld "
                "steps); %llu events, %llu txns committed, %llu epochs, "
                "%llu TRUNC, %llu SNAP in %lld ms\n",
                static_cast<unsigned long long>(failed),
                static_cast<unsigned long long>(count), o.nodes, o.observers,
                static_cast<long long>(o.steps),
                static_cast<unsigned long long>(events),
                static_cast<unsigned long long>(committed),
                static_cast<unsigned long long>(elections),
                static_cast<unsigned long long>(truncs),
                static_cast<unsigned long long>(snaps),
                static_cast<long long>(ms));
  return failed ? 1 : 0;
}
