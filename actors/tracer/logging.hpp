// One spdlog logger per actor kind, at the level log.levels gives it.
//
// setup_kind_loggers() runs once at start-up, after the default logger
// exists; an actor's shell then keeps tracer::logger("its_kind") in its
// state and logs through it. Header-only because the pure-core libraries do
// not link spdlog; only shells and bin/zkd.cpp include this.
#pragma once

#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>

#include "actors/tracer/tracer.hpp"
#include "config/config.hpp"

namespace zkd::tracer {

// Registers a logger named after each kind, writing to the default logger's
// sinks at the kind's configured level (or log.level when it has none).
inline void setup_kind_loggers(const config::log_settings& settings,
                               const std::vector<std::string>& kinds) {
  auto base = spdlog::default_logger();
  for (auto& k : kinds) {
    auto l = std::make_shared<spdlog::logger>(k, base->sinks().begin(),
                                              base->sinks().end());
    auto i = settings.levels.find(k);
    l->set_level(spdlog::level::from_str(
        i != settings.levels.end() ? i->second : settings.level));
    l->flush_on(base->flush_level());
    spdlog::drop(k);
    spdlog::register_logger(l);
  }
}

// The logger of an actor kind; the default logger when none was set up
// (unit tests).
inline std::shared_ptr<spdlog::logger> logger(std::string_view kind) {
  if (auto l = spdlog::get(std::string{kind}))
    return l;
  return spdlog::default_logger();
}

// Changes a kind's level at run time. False for a kind without its own
// logger or an unknown level name.
inline bool set_log_level(std::string_view kind, std::string_view level) {
  auto l = spdlog::get(std::string{kind});
  auto lv = spdlog::level::from_str(std::string{level});
  if (!l || (lv == spdlog::level::off && level != "off"))
    return false;
  l->set_level(lv);
  return true;
}

// Stops the node at once with exit code `code`, after logging `what` as
// critical and writing out the trace's queue (its last lines show how it
// came to this). For states in which nothing more may be acknowledged: a
// failed log, an epoch file that cannot be written, data that does not
// check out.
[[noreturn]] inline void exit_loudly(spdlog::logger& log, int code,
                                     const std::string& what) {
  log.critical("{}", what);
  drain();
  spdlog::shutdown();
  std::_Exit(code);
}

} // namespace zkd::tracer
