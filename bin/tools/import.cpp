// zkd import --from-zookeeper ZK_DATA_DIR --to DATA_DIR: turns an Apache
// ZooKeeper 3.8 data directory into a zkd one holding the same tree (data,
// Stats with their zxids, ACLs) and sessions, as one zkd snapshot plus the
// current epoch, so a node started on it continues with zxids above every
// zxid ZooKeeper gave out.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

#include "actors/peer/data_dir.hpp"
#include "actors/snapshotter/recovery.hpp"
#include "actors/snapshotter/snapshot.hpp"
#include "bin/tools/tools.hpp"
#include "bin/tools/zk_format.hpp"

namespace zkd::tools {

namespace {

namespace fs = std::filesystem;

constexpr const char* usage_text =
    R"(usage: zkd import --from-zookeeper ZK_DATA_DIR --to DATA_DIR
                  [--zookeeper-log-dir ZK_DATA_LOG_DIR]

Reads the data directory of a stopped Apache ZooKeeper 3.8 server (its
dataDir: snapshots and, unless dataLogDir was set, transaction logs, in
ZK_DATA_DIR/version-2) and writes a new zkd data directory with the same
znodes, Stats, ACLs and sessions. DATA_DIR must be empty or not exist.
Start zkd with data_dir: DATA_DIR afterwards; its zxids continue in a later
epoch than ZooKeeper's.

exit codes: 0 imported, 1 I/O error, 2 usage or nothing to import,
            3 ZooKeeper's files do not check out (file and byte offset given)
)";

std::string hex(int64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%" PRIx64, static_cast<uint64_t>(v));
  return buf;
}

struct options {
  std::string from;
  std::string log_from;
  std::string to;
};

// Where ZooKeeper keeps its files under `dir`: its version-2 subdirectory,
// or `dir` itself when that already is one (or holds ZooKeeper's files).
std::optional<std::string> zookeeper_files_dir(const std::string& dir) {
  std::error_code ec;
  auto v2 = fs::path(dir) / "version-2";
  if (fs::is_directory(v2, ec))
    return v2.string();
  if (!fs::is_directory(dir, ec))
    return std::nullopt;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    auto name = it->path().filename().string();
    if (zk::zxid_from_name(name, "snapshot") || zk::zxid_from_name(name, "log"))
      return dir;
  }
  return std::nullopt;
}

// One zkd snapshot of `t` in `dir` (snapshotter/snapshot.hpp: a capture of
// the whole tree, nothing applied meanwhile). Returns an error text or "".
std::string write_zkd_snapshot(const datatree::tree& t, const std::string& dir,
                               std::string& path) {
  using namespace std::chrono;
  snapshotter::snapshot_encoder enc;
  snapshotter::snapshot_header h;
  t.capture_begin(enc);
  h.zxid = t.capture_zxid();
  h.digest = t.digest();
  h.time_ms =
      duration_cast<milliseconds>(system_clock::now().time_since_epoch())
          .count();
  snapshotter::snapshot_writer w;
  if (auto err = w.open(dir, h)) {
    t.capture_abandon();
    return *err;
  }
  for (bool done = false; !done;) {
    done = t.capture_step(4096);
    if (done)
      for (auto& [id, timeout] : t.sessions())
        enc.session(id, timeout);
    for (auto& b : enc.take_blocks(done))
      if (auto err = w.append_block(b)) {
        if (!done)
          t.capture_abandon();
        w.abort();
        return *err;
      }
  }
  if (auto err = w.finish(enc.counts())) {
    w.abort();
    return *err;
  }
  path = w.path();
  return {};
}

int fail(int code, const std::string& message) {
  std::cerr << "zkd import: " << message << '\n';
  return code;
}

} // namespace

int import_main(const std::vector<std::string>& args) {
  options opt;
  for (size_t i = 0; i < args.size(); ++i) {
    auto& a = args[i];
    if (a == "--help" || a == "-h") {
      std::cout << usage_text;
      return 0;
    }
    std::string* target = a == "--from-zookeeper"      ? &opt.from
                          : a == "--to"                ? &opt.to
                          : a == "--zookeeper-log-dir" ? &opt.log_from
                                                       : nullptr;
    if (target == nullptr) {
      std::cerr << "zkd import: unknown argument " << a << "\n" << usage_text;
      return zk::exit_usage;
    }
    if (i + 1 >= args.size() || args[i + 1].empty()) {
      std::cerr << "zkd import: " << a << " needs a directory\n" << usage_text;
      return zk::exit_usage;
    }
    *target = args[++i];
  }
  if (opt.from.empty() || opt.to.empty()) {
    std::cerr << "zkd import: --from-zookeeper and --to are required\n"
              << usage_text;
    return zk::exit_usage;
  }
  auto snap_dir = zookeeper_files_dir(opt.from);
  if (!snap_dir)
    return fail(zk::exit_usage,
                opt.from + " is not a ZooKeeper data directory (no " +
                    "version-2 directory with snapshot.* or log.* files)");
  auto log_dir = snap_dir;
  if (!opt.log_from.empty()) {
    log_dir = zookeeper_files_dir(opt.log_from);
    if (!log_dir)
      return fail(zk::exit_usage,
                  opt.log_from + " is not a ZooKeeper data log directory (no " +
                      "version-2 directory with log.* files)");
  }

  // A zkd data directory holds one history: importing into a used one would
  // mix two, so only a new (or empty) one is accepted.
  std::error_code ec;
  if (fs::exists(opt.to, ec)) {
    if (!fs::is_directory(opt.to, ec))
      return fail(zk::exit_usage, opt.to + " exists and is not a directory");
    auto empty = fs::is_empty(opt.to, ec);
    if (ec)
      return fail(zk::exit_io, "cannot read " + opt.to + ": " + ec.message());
    if (!empty)
      return fail(zk::exit_usage,
                  opt.to + " is not empty: zkd import writes a new data "
                           "directory and will not add to or replace an "
                           "existing one; give an empty or new directory");
  }

  auto loaded = zk::load_zookeeper(*snap_dir, *log_dir);
  for (auto& w : loaded.warnings)
    std::cerr << "zkd import: warning: " << w << '\n';
  if (loaded.exit_code != 0)
    return fail(loaded.exit_code, loaded.error);
  auto& t = *loaded.t;
  // A replay over a fuzzy snapshot is where a tree could go wrong: check
  // its structure before writing it (aborts with a message if broken).
  t.check_invariants();

  if (auto err = data_dir::ensure(opt.to); !err.empty())
    return fail(zk::exit_io, err);
  std::string snap_path;
  if (auto err = write_zkd_snapshot(t, opt.to, snap_path); !err.empty())
    return fail(zk::exit_io, err);
  // Read it back the way a starting node will: the whole point is that
  // zkd starts on it.
  auto back = snapshotter::load_snapshot(snap_path);
  if (back.exit_code != 0 || back.t->digest() != t.digest() ||
      back.t->node_count() != t.node_count() ||
      back.t->sessions() != t.sessions()) {
    ::unlink(snap_path.c_str());
    return fail(zk::exit_io, "the written snapshot " + snap_path +
                                 " does not read back as the imported tree" +
                                 (back.error.empty() ? "" : ": " + back.error));
  }
  // zkd's next epoch is one above this (peer_actor's next_epoch), so its
  // zxids are above every zxid ZooKeeper issued or could have.
  auto epoch_path = opt.to + "/current_epoch";
  if (auto err = data_dir::write_atomically(
          epoch_path, std::to_string(loaded.max_epoch) + "\n");
      !err.empty()) {
    ::unlink(snap_path.c_str());
    return fail(zk::exit_io, err);
  }

  std::cout << "imported " << loaded.snapshot << " (" << loaded.snapshot_nodes
            << " znodes) and " << loaded.replayed << " txns from "
            << loaded.logs_read << " log file(s)\n"
            << "  last zxid " << hex(t.last_zxid()) << ", " << t.node_count()
            << " znodes, " << t.sessions().size() << " sessions, "
            << t.ephemeral_count() << " ephemerals\n";
  if (loaded.digest_checks > 0)
    std::cout << "  " << loaded.digest_checks
              << " tree digests compared with ZooKeeper's\n";
  if (loaded.dead_sessions > 0)
    std::cout << "  deleted the ephemerals of " << loaded.dead_sessions
              << " sessions that no longer exist, as ZooKeeper does\n";
  std::cout << "wrote " << snap_path << " and " << epoch_path << " (epoch "
            << loaded.max_epoch << "); zkd will continue in epoch "
            << loaded.max_epoch + 1 << '\n';
  return 0;
}

} // namespace zkd::tools
