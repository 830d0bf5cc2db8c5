#include "bin/tools/bench_options.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace zkd::tools::bench {

const char* const usage_text = R"(usage: zkd bench [WORKLOAD] [options]

A load generator speaking the ZooKeeper client protocol. Each session is one
TCP connection with its own ZooKeeper session; it keeps --outstanding requests
in flight (pipelined) and times every request from the moment it is written to
the socket to the moment its reply is read.

workloads (--workload W, or W as the first argument):
  create      create new persistent nodes under PREFIX/create
  set         setData on random keys of PREFIX/keys (created in setup)
  get         getData of random keys
  exists      exists on random keys
  mixed       getData (--read-pct %) or setData on random keys
  ephemeral   create an ephemeral node under PREFIX/eph, then delete it;
              each create and each delete is one op
  multi       one multi of --multi-size setData (--multi-op set) or creates
              (--multi-op create) per op
  watch       session 0 writes PREFIX/watch; every other session holds a
              getData watch on it. One round = one setData; the next round
              starts when every watcher was notified and has set its watch
              again. The latency of a notification is measured from the
              moment the setData was written to the socket to the moment the
              notification is read (one clock, one process), not from the
              writer's reply: ZooKeeper sends the events before that reply,
              so a reply-based figure would mostly be negative. ops counts
              notifications; fanout_* is the time to the round's last one.

options:
  --hosts H:P[,H:P...]  servers; sessions are spread over them (127.0.0.1:2181)
  --sessions N          client sessions (4)
  --outstanding K       requests in flight per session (8; watch ignores it)
  --seconds S           measured run time (10)
  --ops N               measured ops instead of a time (watch: whole rounds)
  --warmup S            run S seconds unmeasured first (0)
  --size B              data bytes per create / setData (128)
  --nodes N             keys for get, set, exists, mixed, multi set (1000)
  --threads T           client threads, one epoll loop each (1)
  --read-pct P          mixed: percentage of reads (90)
  --multi-size M        ops per multi (10)
  --multi-op set|create what a multi holds (set)
  --prefix PATH         base path, created if missing (/zkd-bench)
  --cleanup             delete what the run created, and the prefix if empty
  --seed N              random seed of the key choice (1)
  --session-timeout-ms T  requested session timeout (30000)
  --json                print one JSON line on stdout (summary on stderr)
  --help

Setup (the prefix, keys, directories) and warm-up are not measured. An op
counts as a success only with the result code its workload expects (ZOK);
anything else is an error, counted by ZooKeeper's error code name. A request
still unanswered 10 s after the run ends is OPERATIONTIMEOUT, one lost with
its connection CONNECTIONLOSS.
)";

std::string_view to_string(workload w) {
  switch (w) {
  case workload::create:
    return "create";
  case workload::set:
    return "set";
  case workload::get:
    return "get";
  case workload::exists:
    return "exists";
  case workload::mixed:
    return "mixed";
  case workload::ephemeral:
    return "ephemeral";
  case workload::multi:
    return "multi";
  case workload::watch:
    return "watch";
  }
  return "?";
}

std::optional<workload> workload_from_string(std::string_view s) {
  for (auto w :
       {workload::create, workload::set, workload::get, workload::exists,
        workload::mixed, workload::ephemeral, workload::multi, workload::watch})
    if (to_string(w) == s)
      return w;
  return std::nullopt;
}

namespace {

std::optional<uint64_t> to_uint(const std::string& s, uint64_t min,
                                uint64_t max) {
  if (s.empty() || s[0] < '0' || s[0] > '9')
    return std::nullopt;
  errno = 0;
  char* end = nullptr;
  auto v = std::strtoull(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > max)
    return std::nullopt;
  return v;
}

std::optional<double> to_seconds(const std::string& s) {
  if (s.empty())
    return std::nullopt;
  errno = 0;
  char* end = nullptr;
  auto v = std::strtod(s.c_str(), &end);
  if (errno != 0 || *end != '\0' || !std::isfinite(v) || v < 0 || v > 1e6)
    return std::nullopt;
  return v;
}

} // namespace

std::optional<std::vector<endpoint>> parse_hosts(std::string_view s,
                                                 std::string& error) {
  std::vector<endpoint> out;
  size_t start = 0;
  while (start <= s.size()) {
    auto comma = s.find(',', start);
    auto item =
        s.substr(start, comma == std::string_view::npos ? std::string_view::npos
                                                        : comma - start);
    endpoint e;
    std::string_view port;
    if (!item.empty() && item.front() == '[') {
      auto close = item.find(']');
      if (close == std::string_view::npos || close + 1 >= item.size() ||
          item[close + 1] != ':') {
        error = "bad host '" + std::string(item) + "' (want [ADDR]:PORT)";
        return std::nullopt;
      }
      e.host = std::string(item.substr(1, close - 1));
      port = item.substr(close + 2);
    } else {
      auto colon = item.rfind(':');
      if (colon == std::string_view::npos) {
        error = "bad host '" + std::string(item) + "' (want HOST:PORT)";
        return std::nullopt;
      }
      e.host = std::string(item.substr(0, colon));
      port = item.substr(colon + 1);
    }
    auto p = to_uint(std::string(port), 1, 65535);
    if (e.host.empty() || !p) {
      error = "bad host '" + std::string(item) + "' (want HOST:PORT)";
      return std::nullopt;
    }
    e.port = static_cast<uint16_t>(*p);
    out.push_back(std::move(e));
    if (comma == std::string_view::npos)
      break;
    start = comma + 1;
  }
  return out;
}

parse_result parse_options(const std::vector<std::string>& args) {
  parse_result res;
  options o;
  bool have_seconds = false;
  auto fail = [&](std::string msg) {
    res.value.reset();
    res.error = std::move(msg);
    return res;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); name.rfind("--", 0) == 0 && eq != name.npos) {
      inline_value = name.substr(eq + 1);
      name.resize(eq);
    }
    auto value = [&]() -> std::optional<std::string> {
      if (inline_value)
        return inline_value;
      if (i + 1 >= args.size())
        return std::nullopt;
      return args[++i];
    };
    // Reads the value of `name` as an integer in [min, max] into `target`.
    auto number = [&](auto& target, uint64_t min,
                      uint64_t max) -> std::optional<std::string> {
      auto v = value();
      if (!v)
        return name + " needs a value";
      auto n = to_uint(*v, min, max);
      if (!n)
        return name + " needs an integer from " + std::to_string(min) + " to " +
               std::to_string(max) + ", got '" + *v + "'";
      target = static_cast<std::remove_reference_t<decltype(target)>>(*n);
      return std::nullopt;
    };
    auto seconds = [&](double& target) -> std::optional<std::string> {
      auto v = value();
      if (!v)
        return name + " needs a value";
      auto s = to_seconds(*v);
      if (!s)
        return name + " needs a number of seconds, got '" + *v + "'";
      target = *s;
      return std::nullopt;
    };
    std::optional<std::string> err;
    if (name == "--help" || name == "-h") {
      res.help = true;
      res.value.reset();
      return res;
    } else if (i == 0 && name.rfind("-", 0) != 0) {
      auto w = workload_from_string(name);
      if (!w)
        return fail("unknown workload '" + name + "'");
      o.load = *w;
    } else if (name == "--workload") {
      auto v = value();
      if (!v)
        return fail("--workload needs a value");
      auto w = workload_from_string(*v);
      if (!w)
        return fail("unknown workload '" + *v + "'");
      o.load = *w;
    } else if (name == "--hosts") {
      auto v = value();
      if (!v)
        return fail("--hosts needs a value");
      std::string herr;
      auto hosts = parse_hosts(*v, herr);
      if (!hosts)
        return fail("--hosts: " + herr);
      o.hosts = std::move(*hosts);
    } else if (name == "--sessions") {
      err = number(o.sessions, 1, 100000);
    } else if (name == "--outstanding") {
      err = number(o.outstanding, 1, 100000);
    } else if (name == "--seconds") {
      err = seconds(o.seconds);
      have_seconds = true;
    } else if (name == "--ops") {
      err = number(o.ops, 1, UINT64_MAX / 4);
    } else if (name == "--warmup") {
      err = seconds(o.warmup_seconds);
    } else if (name == "--size") {
      // ZooKeeper's default jute.maxbuffer is just under 1 MiB.
      err = number(o.size, 0, 1 << 20);
    } else if (name == "--nodes") {
      err = number(o.nodes, 1, 10000000);
    } else if (name == "--threads") {
      err = number(o.threads, 1, 256);
    } else if (name == "--read-pct") {
      err = number(o.read_pct, 0, 100);
    } else if (name == "--multi-size") {
      err = number(o.multi_size, 1, 10000);
    } else if (name == "--multi-op") {
      auto v = value();
      if (!v)
        return fail("--multi-op needs a value");
      if (*v == "set")
        o.multi_op = multi_kind::set;
      else if (*v == "create")
        o.multi_op = multi_kind::create;
      else
        return fail("--multi-op is set or create, got '" + *v + "'");
    } else if (name == "--prefix") {
      auto v = value();
      if (!v)
        return fail("--prefix needs a value");
      o.prefix = *v;
      while (o.prefix.size() > 1 && o.prefix.back() == '/')
        o.prefix.pop_back();
      if (o.prefix.empty() || o.prefix[0] != '/' || o.prefix == "/")
        return fail("--prefix needs an absolute path below /, got '" + *v +
                    "'");
    } else if (name == "--cleanup") {
      o.cleanup = true;
    } else if (name == "--json") {
      o.json = true;
    } else if (name == "--seed") {
      err = number(o.seed, 0, UINT64_MAX);
    } else if (name == "--session-timeout-ms") {
      err = number(o.session_timeout_ms, 1, INT32_MAX);
    } else {
      return fail("unknown option '" + name + "'");
    }
    if (err)
      return fail(*err);
    if (inline_value && (name == "--cleanup" || name == "--json"))
      return fail(name + " takes no value");
  }
  if (o.ops != 0 && have_seconds)
    return fail("--seconds and --ops exclude each other");
  if (o.ops == 0 && o.seconds <= 0)
    return fail("--seconds must be above 0");
  if (o.load == workload::watch && o.sessions < 2)
    return fail("the watch workload needs --sessions 2 or more (one writer, "
                "the rest watch)");
  if (o.threads > o.sessions)
    o.threads = o.sessions;
  res.value = std::move(o);
  return res;
}

} // namespace zkd::tools::bench
