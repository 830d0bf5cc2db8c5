// Command line of `zkd bench`: what to run, against which servers, how hard.
// Parsing is pure (no I/O) so the unit tests can drive it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zkd::tools::bench {

enum class workload {
  create,    // persistent creates of new nodes
  set,       // setData on random existing keys
  get,       // getData of random existing keys
  exists,    // exists on random existing keys
  mixed,     // getData (read_pct %) or setData on random keys
  ephemeral, // create an ephemeral node, then delete it (two ops)
  multi,     // one multi of multi_size creates or setDatas per op
  watch,     // one writer, every other session watches the same node
};

std::string_view to_string(workload w);
std::optional<workload> workload_from_string(std::string_view s);

// The ops inside one multi of the multi workload.
enum class multi_kind { set, create };

struct endpoint {
  std::string host;
  uint16_t port = 0;
  bool operator==(const endpoint& o) const {
    return host == o.host && port == o.port;
  }
};

struct options {
  std::vector<endpoint> hosts = {{"127.0.0.1", 2181}};
  workload load = workload::get;
  uint32_t sessions = 4;
  uint32_t outstanding = 8; // requests in flight per session
  double seconds = 10;      // measured run time, unless ops is set
  uint64_t ops = 0;         // measured ops instead of a time; 0 = use seconds
  double warmup_seconds = 0;
  uint32_t size = 128;   // bytes of data per create / setData
  uint32_t nodes = 1000; // keys of get, set, exists, mixed and multi set
  uint32_t threads = 1;
  uint32_t read_pct = 90;   // mixed
  uint32_t multi_size = 10; // ops per multi
  multi_kind multi_op = multi_kind::set;
  std::string prefix = "/zkd-bench";
  bool cleanup = false; // delete what the run created (and the prefix)
  bool json = false;
  uint64_t seed = 1;
  int32_t session_timeout_ms = 30000;
};

struct parse_result {
  std::optional<options> value; // unset on error or --help
  std::string error;            // set on error
  bool help = false;
};

parse_result parse_options(const std::vector<std::string>& args);

// "h:p[,h:p...]"; an IPv6 host is written in brackets ("[::1]:2181").
std::optional<std::vector<endpoint>> parse_hosts(std::string_view s,
                                                 std::string& error);

extern const char* const usage_text;

} // namespace zkd::tools::bench
