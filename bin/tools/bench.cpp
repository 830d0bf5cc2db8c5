// zkd bench: setup, the measured run (bench_engine), clean-up and the report.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>

#include <unistd.h>

#include "bin/tools/bench_engine.hpp"
#include "bin/tools/bench_options.hpp"
#include "bin/tools/bench_proto.hpp"
#include "bin/tools/bench_report.hpp"
#include "bin/tools/tools.hpp"

namespace zkd::tools {

namespace {

using namespace bench;

constexpr size_t setup_window = 256;
constexpr int32_t ok = 0;
constexpr auto node_exists = static_cast<int32_t>(wire::err::node_exists);
constexpr auto no_node = static_cast<int32_t>(wire::err::no_node);
constexpr auto not_empty = static_cast<int32_t>(wire::err::not_empty);

bool uses_keys(const options& o) {
  switch (o.load) {
  case workload::set:
  case workload::get:
  case workload::exists:
  case workload::mixed:
    return true;
  case workload::multi:
    return o.multi_op == multi_kind::set;
  default:
    return false;
  }
}

bool uses_create_dir(const options& o) {
  return o.load == workload::create ||
         (o.load == workload::multi && o.multi_op == multi_kind::create);
}

// Creates `paths` (each with `data`) through the pipeline; an existing node
// is fine. False with `error` on anything else.
bool create_all(sync_client& c, const std::vector<std::string>& paths,
                const std::string& data, std::string& error) {
  wire::create_request rq;
  rq.acl = open_acl();
  rq.data = data;
  int32_t failed = ok;
  std::string failed_path;
  bool sent = c.pipeline(
      paths.size(), setup_window,
      [&](size_t i, int32_t xid, std::vector<char>& out) {
        rq.path = paths[i];
        append_request(out, xid, wire::op::create, rq);
      },
      [&](size_t i, const reply& r) {
        if (r.err != ok && r.err != node_exists && failed == ok) {
          failed = r.err;
          failed_path = paths[i];
        }
      },
      error);
  if (!sent)
    return false;
  if (failed != ok) {
    error = "setup: create " + failed_path + ": " + code_name(failed);
    return false;
  }
  return true;
}

// Deletes `paths` in order; missing nodes are fine. Reports (on stderr) the
// first that could not go, e.g. a directory another run still uses.
bool delete_all(sync_client& c, const std::vector<std::string>& paths,
                std::string& error) {
  wire::delete_request rq;
  int32_t failed = ok;
  std::string failed_path;
  bool sent = c.pipeline(
      paths.size(), setup_window,
      [&](size_t i, int32_t xid, std::vector<char>& out) {
        rq.path = paths[i];
        append_request(out, xid, wire::op::remove, rq);
      },
      [&](size_t i, const reply& r) {
        if (r.err != ok && r.err != no_node && failed == ok) {
          failed = r.err;
          failed_path = paths[i];
        }
      },
      error);
  if (sent && failed != ok)
    std::cerr << "zkd bench: cleanup left " << failed_path << " ("
              << code_name(failed)
              << (failed == not_empty ? ": other runs' nodes are in it" : "")
              << ")\n";
  return sent;
}

// The prefix and each of its ancestors.
std::vector<std::string> ancestors_and_self(const std::string& path) {
  std::vector<std::string> out;
  for (size_t pos = 1; pos <= path.size(); ++pos)
    if (pos == path.size() || path[pos] == '/')
      out.push_back(path.substr(0, pos));
  return out;
}

std::string make_token() {
  auto t = std::chrono::system_clock::now().time_since_epoch().count();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08x",
                static_cast<unsigned>((static_cast<uint64_t>(t) >> 10) ^
                                      (static_cast<uint64_t>(getpid()) << 20)));
  return buf;
}

bool setup(sync_client& c, const options& o, plan& p, std::string& error) {
  p.token = make_token();
  p.data.resize(o.size);
  for (size_t i = 0; i < p.data.size(); ++i)
    p.data[i] = static_cast<char>('a' + i % 26);
  std::vector<std::string> dirs = ancestors_and_self(o.prefix);
  if (uses_create_dir(o)) {
    p.create_dir = o.prefix + "/create";
    dirs.push_back(p.create_dir);
  }
  if (o.load == workload::ephemeral) {
    p.eph_dir = o.prefix + "/eph";
    dirs.push_back(p.eph_dir);
  }
  if (uses_keys(o))
    dirs.push_back(o.prefix + "/keys");
  if (!create_all(c, dirs, "", error))
    return false;
  if (uses_keys(o)) {
    p.keys.reserve(o.nodes);
    for (uint32_t i = 0; i < o.nodes; ++i)
      p.keys.push_back(o.prefix + "/keys/k" + std::to_string(i));
    if (!create_all(c, p.keys, p.data, error))
      return false;
  }
  if (o.load == workload::watch) {
    p.watch_path = o.prefix + "/watch";
    if (!create_all(c, {p.watch_path}, p.data, error))
      return false;
  }
  return true;
}

bool cleanup(sync_client& c, const options& o, const plan& p,
             const run_output& out, std::string& error) {
  std::vector<std::string> paths;
  if (!p.create_dir.empty()) {
    for (uint32_t s = 0; s < out.names_used.size(); ++s)
      for (uint64_t seq = 0; seq < out.names_used[s]; ++seq)
        paths.push_back(node_name(p.create_dir, p.token, s, seq));
    paths.push_back(p.create_dir);
  }
  // Ephemeral nodes went with their sessions.
  if (!p.eph_dir.empty())
    paths.push_back(p.eph_dir);
  paths.insert(paths.end(), p.keys.begin(), p.keys.end());
  if (!p.keys.empty())
    paths.push_back(o.prefix + "/keys");
  if (!p.watch_path.empty())
    paths.push_back(p.watch_path);
  paths.push_back(o.prefix); // its ancestors may be someone else's
  return delete_all(c, paths, error);
}

} // namespace

int bench_main(const std::vector<std::string>& args) {
  auto parsed = parse_options(args);
  if (parsed.help) {
    std::cout << usage_text;
    return 0;
  }
  if (!parsed.value) {
    std::cerr << "zkd bench: " << parsed.error << "\n"
              << "(zkd bench --help for the options)\n";
    return 2;
  }
  auto& o = *parsed.value;
  std::signal(SIGPIPE, SIG_IGN);
  sync_client admin;
  std::string error;
  plan p;
  if (!admin.connect(o.hosts.front(), o.session_timeout_ms, error) ||
      !setup(admin, o, p, error)) {
    std::cerr << "zkd bench: setup: " << error << "\n";
    return 1;
  }
  // The setup session idles through the run; the load sessions are what
  // the servers should see.
  admin.close();
  report r;
  r.opts = o;
  r.dir = p.create_dir;
  run_output out;
  if (!run_load(o, p, r, out, error)) {
    std::cerr << "zkd bench: " << error << "\n";
    return 1;
  }
  if (o.cleanup) {
    sync_client c;
    if (!c.connect(o.hosts.front(), o.session_timeout_ms, error) ||
        !cleanup(c, o, p, out, error))
      std::cerr << "zkd bench: cleanup: " << error << "\n";
    c.close();
  }
  auto text = format_text(r);
  if (o.json) {
    std::cerr << text;
    std::cout << format_json(r) << std::endl;
  } else {
    std::cout << text;
  }
  return 0;
}

} // namespace zkd::tools
