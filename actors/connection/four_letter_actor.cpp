#include "actors/connection/four_letter_actor.hpp"

#include <algorithm>
#include <chrono>
#include <dirent.h>
#include <filesystem>
#include <sys/resource.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/broker.hpp>

#include "messages/local/local.hpp"
#include "messages/wire/protocol.hpp"

namespace zkd {

namespace {

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

int64_t open_fds() {
  int64_t n = 0;
  if (auto* d = ::opendir("/proc/self/fd")) {
    while (auto* e = ::readdir(d))
      if (e->d_name[0] != '.')
        ++n;
    ::closedir(d);
    --n; // the directory handle itself
  }
  return n;
}

int64_t dir_bytes(const std::string& dir) {
  std::error_code ec;
  int64_t total = 0;
  for (auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.is_regular_file(ec))
      total += static_cast<int64_t>(e.file_size(ec));
  return total;
}

connection::latency_stats to_ms(int64_t count, int64_t total_us, int64_t min_us,
                                int64_t max_us) {
  connection::latency_stats l;
  l.count = count;
  l.total_ms = total_us / 1000;
  l.min_ms = count > 0 ? min_us / 1000 : 0;
  l.max_ms = max_us / 1000;
  return l;
}

connection::latency_stats to_ms(const metrics::histogram_snapshot& h) {
  return to_ms(static_cast<int64_t>(h.count), h.sum_us, h.min_us, h.max_us);
}

std::string hostname() {
  char buf[256] = {0};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

} // namespace

connection::four_letter_whitelist four_letter_allowed(const node& nd) {
  std::string spec;
  for (auto& w : nd.cfg.c.four_letter_words) {
    if (!spec.empty())
      spec += ',';
    spec += w;
  }
  return connection::four_letter_whitelist{spec};
}

connection::server_stats four_letter_snapshot(node& nd) {
  connection::server_stats s;
  auto& m = nd.metrics;
  s.version = "3.8.0-zkd, built on " __DATE__;
  s.serving = nd.serving.load();
  // Printed only while serving; "looking" reaches /metrics' zkd_info label
  // between rounds.
  s.server_state = nd.mode.empty() ? "looking" : nd.mode;
  auto& ens = nd.ensemble;
  // A one-server list runs standalone, as in ZooKeeper: no quorum figures.
  bool quorum = !nd.cfg.c.standalone() && nd.mode != "standalone";
  if (quorum) {
    // QuorumPeer.getDetailedPeerState: the words only answer this while
    // serving, which in ZooKeeper means Zab's broadcast phase.
    if (nd.mode == "leader")
      s.peer_state = "leading - broadcast";
    else if (nd.mode == "follower")
      s.peer_state = "following - broadcast";
    else if (nd.mode == "observer")
      s.peer_state = "observing - broadcast";
    else
      s.peer_state = "looking";
    if (nd.mode == "observer")
      s.observer_master_id = static_cast<int64_t>(ens.leader_id.load());
    int64_t voters = 0;
    for (auto& member : nd.cfg.c.servers)
      if (member.r == config::role::participant)
        ++voters;
    s.quorum_size = voters;
  }
  if (nd.mode == "leader") {
    connection::leader_stats ls;
    ls.last_proposal_size = ens.last_proposal_size.load();
    ls.min_proposal_size = ens.min_proposal_size.load();
    ls.max_proposal_size = ens.max_proposal_size.load();
    ls.learners = ens.learners.load();
    ls.synced_followers = ens.synced_followers.load();
    ls.synced_observers = ens.synced_observers.load();
    ls.pending_syncs = ens.pending_syncs.load();
    auto since = ens.leader_since_ms.load();
    ls.leader_uptime_ms = since > 0 ? wall_ms() - since : 0;
    s.leader = ls;
  }
  s.learner_dump = nd.mode == "follower" || nd.mode == "observer";
  s.latency = to_ms(static_cast<int64_t>(m.latency_count.load()),
                    m.total_latency_us.load(), m.min_latency_us.load(),
                    m.max_latency_us.load());
  s.packets_received = static_cast<int64_t>(m.packets_received.load());
  s.packets_sent = static_cast<int64_t>(m.packets_sent.load());
  s.outstanding_requests = m.outstanding.load();
  s.last_processed_zxid = m.last_zxid.load();
  // ZooKeeper's node table also holds "" as an alias of "/", and its count
  // (srvr's Node count, mntr's zk_znode_count) includes it.
  s.node_count = static_cast<int64_t>(m.node_count.load()) + 1;
  s.ephemerals_count = static_cast<int64_t>(m.ephemerals.load());
  s.global_sessions = static_cast<int64_t>(m.sessions.load());
  s.watch_count = static_cast<int64_t>(m.watches.load());
  s.approximate_data_size = static_cast<int64_t>(m.data_size.load());
  s.open_file_descriptor_count = open_fds();
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0)
    s.max_file_descriptor_count = static_cast<int64_t>(rl.rlim_cur);
  s.uptime_ms = wall_ms() - nd.started_ms;
  // ZooKeeper's counters and summaries that zkd has figures for. Reads
  // and updates as ZooKeeper splits them (Request.isQuorum); pings are
  // answered inline and are in neither.
  s.counters.push_back(connection::monitor_value::of_integer(
      "bytes_received_count", static_cast<int64_t>(m.bytes_received.get())));
  connection::add_summary(s.counters, "fsynctime",
                          to_ms(m.fsync_time.snapshot()));
  metrics::histogram_snapshot reads;
  metrics::histogram_snapshot updates;
  for (size_t slot = 0; slot < metrics::op_slot_count; ++slot) {
    auto op = metrics::slot_op(slot);
    if (op == wire::op::ping || slot == metrics::unknown_op_slot)
      continue;
    (wire::is_write(op) ? updates : reads)
        .merge(m.requests.latency[slot].snapshot());
  }
  connection::add_summary(s.counters, "readlatency", to_ms(reads));
  connection::add_summary(s.counters, "updatelatency", to_ms(updates));
  if (quorum) {
    // ServerMetrics.ELECTION_TIME: the duration of each election, in ms.
    connection::latency_stats el;
    el.count = static_cast<int64_t>(ens.elections.load());
    el.total_ms = static_cast<int64_t>(ens.election_ms_total.load());
    el.min_ms = static_cast<int64_t>(ens.election_ms_min.load());
    el.max_ms = static_cast<int64_t>(ens.election_ms_max.load());
    connection::add_summary(s.counters, "election_time", el);
  }
  s.watching_connections = m.watch_sessions.load();
  s.watched_paths = m.watch_paths.load();
  // Both tables; wchs replaces it with the data table's (four_letter_gather).
  s.total_watches = m.watches.load();
  {
    std::lock_guard<std::mutex> guard{nd.connections.mtx};
    for (auto& [id, c] : nd.connections.conns) {
      connection::connection_stats cs;
      auto colon = c.remote.rfind(':');
      cs.remote_address = connection::java_socket_address(
          c.remote.substr(0, colon),
          colon == std::string::npos ? 0
                                     : std::stoi(c.remote.substr(colon + 1)));
      cs.packets_received = static_cast<int64_t>(c.received);
      cs.packets_sent = static_cast<int64_t>(c.sent);
      cs.outstanding_requests = static_cast<int64_t>(c.queued);
      cs.session_id = c.session;
      cs.last_operation = c.last_op;
      cs.established_ms = c.established_ms;
      cs.session_timeout_ms = c.timeout_ms;
      cs.last_cxid = c.last_cxid;
      cs.last_zxid = c.last_zxid;
      cs.last_response_ms = c.last_response_ms;
      cs.last_latency_ms = c.last_latency_us / 1000;
      cs.latency =
          to_ms(static_cast<int64_t>(c.latency_count), c.total_latency_us,
                c.min_latency_us, c.max_latency_us);
      s.connections.push_back(std::move(cs));
    }
  }
  s.num_alive_connections = static_cast<int64_t>(s.connections.size());
  auto& conf = s.conf;
  auto& c = nd.cfg.c;
  conf.client_port = nd.cfg.self.client_port;
  conf.data_dir = nd.cfg.data_dir;
  conf.data_dir_size = dir_bytes(nd.cfg.data_dir);
  conf.data_log_dir = nd.cfg.data_log_dir;
  conf.data_log_size = dir_bytes(nd.cfg.data_log_dir);
  conf.tick_time = c.tick_ms;
  conf.max_client_cnxns = c.max_client_connections;
  conf.min_session_timeout = c.min_session_timeout_ms;
  conf.max_session_timeout = c.max_session_timeout_ms;
  conf.server_id = static_cast<int64_t>(nd.cfg.id);
  if (quorum) {
    // QuorumPeer's additions to conf (QuorumPeerConfig as it was read).
    conf.quorum_mode = true;
    auto& q = conf.quorum;
    q.init_limit = c.init_limit_ticks;
    q.sync_limit = c.sync_limit_ticks;
    q.election_alg = 3;
    q.election_port = nd.cfg.self.election_port;
    q.quorum_port = nd.cfg.self.quorum_port;
    q.peer_type = nd.cfg.self.r == config::role::observer ? 1 : 0;
    auto members = c.servers;
    std::sort(members.begin(), members.end(),
              [](const config::server& x, const config::server& y) {
                return x.id < y.id;
              });
    for (auto& m : members) {
      connection::quorum_member qm;
      qm.id = static_cast<int64_t>(m.id);
      qm.host = m.host;
      qm.quorum_port = m.quorum_port;
      qm.election_port = m.election_port;
      qm.observer = m.r == config::role::observer;
      q.members.push_back(std::move(qm));
    }
    q.config_version = 0; // a static configuration (no reconfig)
  }
  char cwd[4096] = {0};
  if (::getcwd(cwd, sizeof cwd - 1) == nullptr)
    cwd[0] = '\0';
  s.environment = {
      {"zookeeper.version", s.version},
      {"host.name", hostname()},
      {"java.version", "none (zkd is C++)"},
      {"java.vendor", "none"},
      {"java.home", "none"},
      {"java.class.path", "none"},
      {"java.library.path", "none"},
      {"java.io.tmpdir", "/tmp"},
      {"java.compiler", "<NA>"},
      {"os.name", "Linux"},
      {"os.arch", "amd64"},
      {"os.version", ""},
      {"user.name", ::getenv("USER") ? ::getenv("USER") : ""},
      {"user.home", ::getenv("HOME") ? ::getenv("HOME") : ""},
      {"user.dir", cwd},
      {"os.memory.free", "0MB"},
      {"os.memory.max", "0MB"},
      {"os.memory.total", "0MB"},
  };
  return s;
}

void four_letter_gather(caf::io::broker* self, const node& nd,
                        connection::four_letter_word w,
                        std::shared_ptr<connection::server_stats> stats,
                        std::function<void()> done,
                        std::function<void()> failed) {
  using connection::four_letter_word;
  auto timeout = std::chrono::seconds(5);
  auto on_error = [failed](caf::error&) {
    failed();
  };
  switch (w) {
  case four_letter_word::dump: {
    auto datatree = nd.datatree;
    auto ephemerals = [=] {
      self->request(datatree, timeout, local::dump_atom::value)
          .then(
              [=](std::vector<std::pair<int64_t, std::vector<std::string>>>&
                      eph) {
                stats->ephemerals = std::move(eph);
                done();
              },
              on_error);
    };
    if (stats->learner_dump) {
      // A learner has no expiry queue: its tracker lists every session
      // with its timeout (LearnerSessionTracker.dumpSessions).
      self->request(nd.session_tracker, timeout, local::dump_atom::value,
                    local::follow_atom::value)
          .then(
              [=](std::vector<std::pair<int64_t, int32_t>>& sessions) {
                stats->learner_sessions = std::move(sessions);
                ephemerals();
              },
              on_error);
      return;
    }
    self->request(nd.session_tracker, timeout, local::dump_atom::value)
        .then(
            [=](std::vector<std::pair<int64_t, std::vector<int64_t>>>&
                    buckets) {
              for (auto& [at, ids] : buckets)
                stats->session_buckets.push_back({at, std::move(ids)});
              ephemerals();
            },
            on_error);
    return;
  }
  case four_letter_word::wchs:
    // The data-watch table's figures; the metrics only carry zk_watch_count.
    self->request(nd.watch_dispatcher, timeout, local::wchs_atom::value)
        .then(
            [=](uint64_t connections, uint64_t paths, uint64_t total) {
              stats->watching_connections = connections;
              stats->watched_paths = paths;
              stats->total_watches = total;
              done();
            },
            on_error);
    return;
  case four_letter_word::wchc:
    self->request(nd.watch_dispatcher, timeout, local::wchc_atom::value)
        .then(
            [=](connection::watches_by_session& ws) {
              stats->watches_by_session_list = std::move(ws);
              done();
            },
            on_error);
    return;
  case four_letter_word::wchp:
    self->request(nd.watch_dispatcher, timeout, local::wchp_atom::value)
        .then(
            [=](connection::watches_by_path& wp) {
              stats->watches_by_path_list = std::move(wp);
              done();
            },
            on_error);
    return;
  default:
    done();
    return;
  }
}

void reset_server_stats(node& nd) {
  nd.metrics.reset_latency();
  nd.metrics.packets_received = 0;
  nd.metrics.packets_sent = 0;
}

void reset_connection_stats(node& nd) {
  std::lock_guard<std::mutex> guard{nd.connections.mtx};
  for (auto& [id, c] : nd.connections.conns) {
    c.received = c.sent = 0;
    c.min_latency_us = c.max_latency_us = c.total_latency_us = 0;
    c.latency_count = 0;
  }
}

} // namespace zkd
