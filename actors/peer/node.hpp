// What the actors of one node share: the resolved configuration, the handles
// of the long-lived actors, and the counters the four-letter words and the
// admin endpoint report. Counters are atomics written by one actor each and
// read by any connection answering `mntr` or `srvr`; nothing here is state
// that decides a protocol outcome.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include <caf/actor.hpp>

#include "actors/admin_http/histogram.hpp"
#include "config/config.hpp"

namespace zkd {

struct connection_info {
  std::string remote;
  int64_t session = 0;
  int32_t timeout_ms = 0;
  uint64_t received = 0;
  uint64_t sent = 0;
  uint64_t queued = 0;
  int64_t established_ms = 0; // wall clock
  int64_t last_zxid = -1;
  std::string last_op = "NA";
  int64_t last_cxid = -1;
  int64_t last_latency_us = 0;
  int64_t min_latency_us = 0;
  int64_t max_latency_us = 0;
  int64_t total_latency_us = 0;
  uint64_t latency_count = 0;
  int64_t last_response_ms = 0;
};

struct node_metrics {
  std::atomic<uint64_t> packets_received{0};
  std::atomic<uint64_t> packets_sent{0};
  std::atomic<int64_t> outstanding{0};
  std::atomic<int64_t> min_latency_us{INT64_MAX};
  std::atomic<int64_t> max_latency_us{0};
  std::atomic<int64_t> total_latency_us{0};
  std::atomic<uint64_t> latency_count{0};
  // Published by the datatree after every batch it applies.
  std::atomic<int64_t> last_zxid{0};
  std::atomic<uint64_t> node_count{0};
  std::atomic<uint64_t> data_size{0};
  std::atomic<uint64_t> ephemerals{0};
  std::atomic<uint64_t> sessions{0};
  // Published by the watch dispatcher.
  std::atomic<uint64_t> watches{0};
  std::atomic<uint64_t> watch_paths{0};
  std::atomic<uint64_t> watch_sessions{0};
  // Published by the txn_log shell.
  std::atomic<uint64_t> fsyncs{0};
  std::atomic<uint64_t> fsync_us_total{0};
  metrics::latency_histogram fsync_time; // written by txn_log's thread
  // Written by the connection actors, which all run on the I/O thread: per
  // request type, arrival to reply; and the bytes of the client port.
  metrics::request_metrics requests;
  metrics::counter bytes_received;
  metrics::counter bytes_sent;

  void record_latency(int64_t us) {
    total_latency_us += us;
    ++latency_count;
    auto cur = min_latency_us.load();
    while (us < cur && !min_latency_us.compare_exchange_weak(cur, us)) {
    }
    cur = max_latency_us.load();
    while (us > cur && !max_latency_us.compare_exchange_weak(cur, us)) {
    }
  }
  void reset_latency() {
    min_latency_us = INT64_MAX;
    max_latency_us = 0;
    total_latency_us = 0;
    latency_count = 0;
  }
};

// Ensemble figures for mntr, srvr and the admin endpoint. The leader actor
// writes the leader block (zeros/-1 elsewhere; the peer resets it when a
// round starts), the peer writes the election figures.
struct ensemble_metrics {
  // Leader: learners connected (followers and observers), those that
  // finished their sync, and those still syncing (ZooKeeper's learners,
  // synced_followers, synced_observers, pending_syncs).
  std::atomic<int64_t> learners{0};
  std::atomic<int64_t> synced_followers{0};
  std::atomic<int64_t> synced_observers{0};
  std::atomic<int64_t> pending_syncs{0};
  // Leader: bytes of the proposals sent (ZooKeeper's BufferStats: -1 until
  // the first proposal); see record_proposal_size.
  std::atomic<int64_t> last_proposal_size{-1};
  std::atomic<int64_t> min_proposal_size{-1};
  std::atomic<int64_t> max_proposal_size{-1};
  // Leader: wall-clock ms when it was established (zk_leader_uptime).
  std::atomic<int64_t> leader_since_ms{0};
  // Learners: the id of the leader they sync with (an observer's
  // zk_observer_master_id).
  std::atomic<uint64_t> leader_id{0};
  // The last election's duration, and the summary ZooKeeper's mntr prints
  // as election_time (avg/min/max/cnt/sum); see record_election.
  std::atomic<uint64_t> election_time_ms{0};
  std::atomic<uint64_t> elections{0};
  std::atomic<uint64_t> election_ms_total{0};
  std::atomic<uint64_t> election_ms_min{0};
  std::atomic<uint64_t> election_ms_max{0};

  void record_proposal_size(int64_t bytes) {
    last_proposal_size = bytes;
    auto lo = min_proposal_size.load();
    if (lo < 0 || bytes < lo)
      min_proposal_size = bytes;
    if (bytes > max_proposal_size.load())
      max_proposal_size = bytes;
  }
  void record_election(uint64_t ms) {
    election_time_ms = ms;
    if (elections.load() == 0 || ms < election_ms_min.load())
      election_ms_min = ms;
    if (ms > election_ms_max.load())
      election_ms_max = ms;
    election_ms_total += ms;
    ++elections;
  }
  // What a node that does not lead (any more) reports.
  void reset_leader() {
    learners = 0;
    synced_followers = 0;
    synced_observers = 0;
    pending_syncs = 0;
    last_proposal_size = -1;
    min_proposal_size = -1;
    max_proposal_size = -1;
    leader_since_ms = 0;
  }
};

// The connection table `cons` and `stat` print. Connections register
// themselves; a mutex is fine because it is touched on connect, close and
// 4lw, not per request (per-request counters live in the connection).
struct connection_table {
  std::mutex mtx;
  std::map<uint64_t, connection_info> conns;
};

struct node {
  config::node_config cfg;
  // What srvr prints as Mode: "standalone", "leader", "follower",
  // "observer", or "" while looking (also before the first round serves).
  // Written by the peer on the I/O thread.
  std::string mode;
  // True while this node serves clients (standalone: once started; in an
  // ensemble: from the end of sync to the end of the round). Connections
  // refuse sessions and requests while false, as ZooKeeper's do while its
  // ZooKeeperServer is not running; four-letter words keep answering.
  std::atomic<bool> serving{false};
  // Bumped by the client listener each time it closes every connection
  // (local::close_all_atom); a connection of an older generation serves no
  // more requests. I/O thread only.
  uint64_t client_generation = 0;
  int64_t started_ms = 0;
  node_metrics metrics;
  ensemble_metrics ensemble;
  connection_table connections;
  caf::actor datatree;
  caf::actor session_tracker;
  caf::actor watch_dispatcher;
  caf::actor leader;
  caf::actor learner; // this round's follower or observer actor, if any
  caf::actor txn_log;
  caf::actor admin_http; // when cluster.admin.enabled
  uint64_t session_secret[2] = {0, 0};
};

} // namespace zkd
