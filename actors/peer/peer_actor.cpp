#include "actors/peer/peer_actor.hpp"

#include <chrono>
#include <random>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/admin_http/admin_http_actor.hpp"
#include "actors/client_listener/client_listener_actor.hpp"
#include "actors/datatree/datatree_actor.hpp"
#include "actors/leader/leader_actor.hpp"
#include "actors/peer/data_dir.hpp"
#include "actors/peer/node.hpp"
#include "actors/session_tracker/session_tracker_actor.hpp"
#include "actors/snapshotter/recovery.hpp"
#include "actors/snapshotter/snapshotter_messages.hpp"
#include "actors/tracer/writer.hpp"
#include "actors/txn_log/txn_log.hpp"
#include "actors/txn_log/txn_log_actor.hpp"
#include "actors/watch_dispatcher/watch_dispatcher_actor.hpp"
#include "messages/local/local.hpp"
#include "messages/txn/txn.hpp"

namespace zkd {

namespace {

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

// The key session passwords are derived from. It is kept in the data
// directory so that passwords stay valid across restarts, as ZooKeeper's do.
std::string load_secret(const std::string& dir, uint64_t (&secret)[2]) {
  auto path = dir + "/session_secret";
  if (auto s = data_dir::read(path); s && s->size() >= 33) {
    secret[0] = std::stoull(s->substr(0, 16), nullptr, 16);
    secret[1] = std::stoull(s->substr(17, 16), nullptr, 16);
    return {};
  }
  std::random_device rd;
  secret[0] = (uint64_t{rd()} << 32) ^ rd();
  secret[1] = (uint64_t{rd()} << 32) ^ rd();
  return data_dir::write_atomically(
      path, fmt::format("{:016x} {:016x}\n", secret[0], secret[1]));
}

// Zab's currentEpoch: a node never leads (or follows) an epoch twice.
std::string next_epoch(const std::string& dir, int64_t last_zxid,
                       int64_t& epoch) {
  auto path = dir + "/current_epoch";
  int64_t stored = 0;
  if (auto s = data_dir::read(path))
    stored = std::stoll(*s);
  epoch = std::max(stored, last_zxid >> 32) + 1;
  return data_dir::write_atomically(path, std::to_string(epoch) + "\n");
}

} // namespace

start_result start_node(caf::actor_system& sys, config::node_config cfg) {
  start_result res;
  auto nd = std::make_shared<node>();
  nd->cfg = std::move(cfg);
  nd->started_ms = wall_ms();
  const auto& dir = nd->cfg.data_dir;
  const auto& log_dir = nd->cfg.data_log_dir;
  for (auto& d : {dir, log_dir}) {
    if (auto err = data_dir::ensure(d); !err.empty()) {
      res.exit_code = 1;
      res.error = err;
      return res;
    }
  }
  if (auto err = load_secret(dir, nd->session_secret); !err.empty()) {
    res.exit_code = 1;
    res.error = err;
    return res;
  }
  if (auto err = tracer::start(nd->cfg.id, nd->cfg.c.trace.file,
                               nd->cfg.c.trace.actors);
      !err.empty()) {
    res.exit_code = 1;
    res.error = err;
    return res;
  }
  // Recovery: the newest snapshot, then the log after it. A torn log tail
  // (a crash mid-append) is cut off; anything else that does not check out
  // stops the node rather than serving silently lost data (recovery.hpp).
  auto rec = snapshotter::recover(dir, log_dir);
  for (auto& w : rec.warnings)
    spdlog::warn("{}", w);
  if (rec.exit_code != 0) {
    res.exit_code = rec.exit_code;
    res.error = rec.error;
    return res;
  }
  auto tree = std::move(rec.t);
  if (!rec.snapshot.empty())
    spdlog::info("loaded snapshot {} ({} znodes) in {} ms", rec.snapshot,
                 rec.snapshot_nodes, rec.load_ms);
  spdlog::info("recovered {} txns up to zxid 0x{:x} in {} ms ({} znodes)",
               rec.replayed, tree->last_zxid(), rec.load_ms + rec.replay_ms,
               tree->node_count());
  int64_t epoch = 0;
  if (auto err = next_epoch(dir, tree->last_zxid(), epoch); !err.empty()) {
    res.exit_code = 1;
    res.error = err;
    return res;
  }
  if (!nd->cfg.c.fsync)
    spdlog::warn("fsync is OFF: acknowledged writes can be lost on a crash. "
                 "Use this for tests only.");
  txn_log::writer_options log_opts;
  log_opts.fsync = nd->cfg.c.fsync;
  // The log's own thread reports every fdatasync; mntr shows the figures.
  auto observer = [nd](const txn_log::sync_report& r) {
    ++nd->metrics.fsyncs;
    nd->metrics.fsync_us_total += static_cast<uint64_t>(r.duration_us);
    nd->metrics.fsync_time.record(r.duration_us);
  };
  auto log = txn_log::spawn_txn_log(sys, log_dir, log_opts, observer);
  if (!log) {
    res.exit_code = 3;
    res.error = sys.render(log.error());
    return res;
  }
  // The actors on a request's path (connection, datatree, watch_dispatcher,
  // leader) all run on CAF's I/O multiplexer thread, spawned as brokers: a
  // request then goes connection -> datatree -> dispatcher -> connection
  // without waking another thread. Measured on 2 cores against the same
  // actors on the scheduler's workers, this cut server CPU per getData from
  // 66-93 us to 30-44 us. fsync stays on txn_log's own thread, so the disk
  // never stalls that loop.
  std::vector<std::pair<int64_t, int32_t>> sessions(tree->sessions().begin(),
                                                    tree->sessions().end());
  nd->txn_log = *log;
  nd->watch_dispatcher = spawn_watch_dispatcher(sys, nd);
  nd->datatree = spawn_datatree(sys, nd, std::move(tree));
  nd->session_tracker = spawn_session_tracker(sys, nd, std::move(sessions));
  // Standalone: a quorum of one, so the peer leads at once.
  nd->leader = spawn_leader(sys, nd, 1);
  ZKD_TRACE(peer, 0, datatree, tracer::id_of(nd->datatree), "lead",
            {"epoch", epoch});
  caf::anon_send(nd->datatree, local::lead_atom::value, epoch);
  caf::anon_send(nd->datatree,
                 snapshotter::snap_replayed{rec.replayed, rec.replayed_bytes});
  auto listener = spawn_client_listener(sys, nd);
  if (!listener) {
    res.exit_code = 1;
    res.error = "cannot listen on " + nd->cfg.self.client_address + ":" +
                std::to_string(nd->cfg.self.client_port) + ": " +
                sys.render(listener.error());
    return res;
  }
  if (nd->cfg.c.admin.enabled) {
    auto admin = spawn_admin_http(sys, nd);
    if (!admin) {
      res.exit_code = 1;
      res.error = "cannot listen on admin " + nd->cfg.c.admin.address + ":" +
                  std::to_string(nd->cfg.self.admin_port) + ": " +
                  sys.render(admin.error());
      return res;
    }
    nd->admin_http = *admin;
    spdlog::info("admin endpoint on http://{}:{}/commands and /metrics",
                 nd->cfg.c.admin.address, nd->cfg.self.admin_port);
  }
  spdlog::info("zkd node {} serving on {}:{} (epoch {}, mode {})", nd->cfg.id,
               nd->cfg.self.client_address, nd->cfg.self.client_port, epoch,
               nd->mode);
  res.nd = nd;
  res.listener = *listener;
  return res;
}

} // namespace zkd
