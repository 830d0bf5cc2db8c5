// zkd: one binary for every role. `zkd --config FILE --id N` runs node N of
// the ensemble FILE describes; without a file it runs a standalone node with
// the built-in defaults.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include <caf/io/all.hpp>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "actors/peer/node.hpp"
#include "actors/peer/peer_actor.hpp"
#include "actors/tracer/logging.hpp"
#include "actors/tracer/writer.hpp"
#include "bin/tools/tools.hpp"
#include "config/config.hpp"
#include "messages/quorum/quorum.hpp"

namespace {

constexpr const char* usage_text = R"(usage:
  zkd [--config FILE] [--id N]   run node N of the ensemble in FILE
                                 (no FILE: a standalone node with defaults)
  zkd --zoo-cfg ZOO_CFG          run from an Apache ZooKeeper zoo.cfg
  zkd config convert ZOO_CFG     print the YAML equivalent of a zoo.cfg
  zkd bench ...                  load generator (zkd bench --help)
  zkd inspect log|snapshot ...   print and verify data files
  zkd import --from-zookeeper ZK_DATA_DIR --to DATA_DIR
  zkd trace render FILE...       render actor traces (mermaid, perfetto)
  zkd --help | --version
)";

constexpr int exit_bad_config = 2;

void print_diagnostics(const std::vector<zkd::config::diagnostic>& ds,
                       const char* prefix) {
  for (auto& d : ds)
    std::cerr << prefix << d.to_string() << '\n';
}

template <class T>
std::optional<T> take(zkd::config::result<T> r) {
  print_diagnostics(r.warnings, "warning: ");
  print_diagnostics(r.errors, "");
  if (!r.ok())
    return std::nullopt;
  return std::move(r.value);
}

void setup_logging(const zkd::config::node_config& cfg) {
  std::shared_ptr<spdlog::logger> logger;
  if (cfg.c.log.file.empty())
    logger = spdlog::stderr_color_mt("zkd");
  else
    logger = spdlog::basic_logger_mt("zkd", cfg.c.log.file);
  logger->set_level(spdlog::level::from_str(cfg.c.log.level));
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e [%l] %v");
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  // Each actor kind logs through its own logger, at its log.levels level.
  zkd::tracer::setup_kind_loggers(cfg.c.log, zkd::config::actor_kinds());
}

struct caf_config : caf::actor_system_config {
  caf_config() {
    // Wake-up latency decides request latency here: `sharing` hands work to a
    // waiting thread through a condition variable instead of polling.
    set("scheduler.policy", caf::atom("sharing"));
    auto threads = std::max(2u, std::thread::hardware_concurrency());
    set("scheduler.max-threads", static_cast<size_t>(threads));
    set("middleman.workers", size_t{0});
    // A frozen peer (SIGSTOP, a stalled VM) keeps its TCP connections up:
    // without heartbeats BASP never notices it (CAF.md). Cut a link after
    // 2 s of silence: the application's own pings (sync_limit) still decide
    // about the quorum, this only turns a dead link into a DOWN sooner.
    set("middleman.heartbeat-interval",
        caf::timespan{std::chrono::milliseconds(250)});
    set("middleman.connection-timeout", caf::timespan{std::chrono::seconds(2)});
    zkd::quorum::add_message_types(*this);
    load<caf::io::middleman>();
  }
};

int run(const zkd::config::node_config& cfg) {
  setup_logging(cfg);
  // Signals are taken by sigwait below; every thread CAF starts inherits
  // the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  caf_config caf_cfg;
  caf::actor_system sys{caf_cfg};
  auto started = zkd::start_node(sys, cfg);
  if (started.exit_code != 0) {
    spdlog::critical("{}", started.error);
    zkd::tracer::stop();
    spdlog::shutdown();
    std::_Exit(started.exit_code);
  }
  int sig = 0;
  sigwait(&sigs, &sig);
  spdlog::info("received signal {}, shutting down", sig);
  // Every acknowledged write is already on disk, and nothing unacknowledged
  // needs saving: leave without waiting for the actors to wind down.
  // The trace writer's queue is the one thing worth draining.
  zkd::tracer::stop();
  spdlog::shutdown();
  std::_Exit(0);
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::optional<std::string> config_file;
  std::optional<std::string> zoo_cfg;
  std::optional<uint64_t> id;
  if (!args.empty()) {
    std::vector<std::string> rest(args.begin() + 1, args.end());
    if (args[0] == "bench")
      return zkd::tools::bench_main(rest);
    if (args[0] == "inspect")
      return zkd::tools::inspect_main(rest);
    if (args[0] == "import")
      return zkd::tools::import_main(rest);
    if (args[0] == "trace")
      return zkd::tools::trace_main(rest);
  }
  if (args.size() >= 2 && args[0] == "config") {
    if (args[1] == "convert" && args.size() == 3) {
      auto z = take(zkd::config::parse_zoo_cfg(args[2]));
      if (!z)
        return exit_bad_config;
      std::cout << zkd::config::to_yaml(z->c, "converted from " + args[2] +
                                                  " by zkd config convert");
      return 0;
    }
    std::cerr << usage_text;
    return exit_bad_config;
  }
  for (size_t i = 0; i < args.size(); ++i) {
    auto& a = args[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= args.size()) {
        std::cerr << "zkd: " << a << " needs a value\n" << usage_text;
        return std::nullopt;
      }
      return args[++i];
    };
    if (a == "--help" || a == "-h") {
      std::cout << usage_text;
      return 0;
    } else if (a == "--version") {
      std::cout << "zkd 0.1 (ZooKeeper 3.8 client protocol)\n";
      return 0;
    } else if (a == "--config") {
      config_file = value();
      if (!config_file)
        return exit_bad_config;
    } else if (a == "--zoo-cfg") {
      zoo_cfg = value();
      if (!zoo_cfg)
        return exit_bad_config;
    } else if (a == "--id") {
      auto v = value();
      if (!v)
        return exit_bad_config;
      char* end = nullptr;
      auto n = std::strtoull(v->c_str(), &end, 10);
      if (v->empty() || *end != '\0' || n == 0) {
        std::cerr << "zkd: --id needs a positive server id, got '" << *v
                  << "'\n";
        return exit_bad_config;
      }
      id = n;
    } else {
      std::cerr << "zkd: unknown argument '" << a << "'\n" << usage_text;
      return exit_bad_config;
    }
  }
  std::optional<zkd::config::node_config> node;
  if (zoo_cfg) {
    auto z = take(zkd::config::parse_zoo_cfg(*zoo_cfg));
    if (!z)
      return exit_bad_config;
    node = take(zkd::config::resolve(*z));
  } else {
    zkd::config::cluster c;
    if (config_file) {
      auto loaded = take(zkd::config::load_yaml_file(*config_file));
      if (!loaded)
        return exit_bad_config;
      c = std::move(*loaded);
    }
    node = take(zkd::config::resolve(c, id));
  }
  if (!node)
    return exit_bad_config;
  return run(*node);
}
