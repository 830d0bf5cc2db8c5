#include "actors/peer/peer_actor.hpp"

#include <chrono>
#include <random>
#include <set>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/admin_http/admin_http_actor.hpp"
#include "actors/client_listener/client_listener_actor.hpp"
#include "actors/datatree/datatree_actor.hpp"
#include "actors/election/election_actor.hpp"
#include "actors/follower/follower_actor.hpp"
#include "actors/leader/leader_actor.hpp"
#include "actors/peer/data_dir.hpp"
#include "actors/peer/node.hpp"
#include "actors/session_tracker/session_tracker_actor.hpp"
#include "actors/snapshotter/install.hpp"
#include "actors/snapshotter/recovery.hpp"
#include "actors/snapshotter/snapshotter_messages.hpp"
#include "actors/tracer/logging.hpp"
#include "actors/tracer/writer.hpp"
#include "actors/txn_log/log_edit.hpp"
#include "actors/txn_log/txn_log.hpp"
#include "actors/txn_log/txn_log_actor.hpp"
#include "actors/watch_dispatcher/watch_dispatcher_actor.hpp"
#include "messages/local/local.hpp"
#include "messages/quorum/quorum.hpp"
#include "messages/txn/txn.hpp"

namespace zkd {

namespace {

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

int64_t mono_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch())
      .count();
}

// The key session passwords are derived from. It is kept in the data
// directory so that passwords stay valid across restarts, as ZooKeeper's do;
// in an ensemble every node adopts the leader's (LEADERINFO carries it).
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

// Zab's epoch files (0 when missing). A file that does not hold an epoch
// is damage the operator must see.
bool read_epoch(const std::string& path, uint32_t& out, std::string& err) {
  auto v = data_dir::read_epoch(path, &err);
  if (v < 0 || v > UINT32_MAX) {
    if (err.empty())
      err = path + " holds an epoch out of range";
    return false;
  }
  out = static_cast<uint32_t>(v);
  return true;
}

using recovered = snapshotter::recovery_result;

using next_round_atom = caf::atom_constant<caf::atom("nextround")>;

struct round_data {
  leader::zab_history history; // window moved in
  std::vector<std::pair<int64_t, int32_t>> sessions;
};

struct peer_state {
  std::shared_ptr<node> nd;
  caf::actor listener;
  caf::actor election; // ensemble only
  caf::actor role;
  bool ensemble = false;
  std::set<uint64_t> voters;
  std::set<uint64_t> observers;
  uint64_t round = 0;
  int64_t round_started_ms = 0;
  bool ending = false;
  int64_t ending_since_ms = 0;
  local::role_ended end;
  uint64_t rejoin_leader = 0;
  uint64_t leader_id = 0;
  round_data data;
  std::shared_ptr<spdlog::logger> log = tracer::logger("peer");
  static inline const char* name = "peer";
};

using peer_ptr = caf::stateful_actor<peer_state, caf::io::broker>*;

[[noreturn]] void fatal(peer_ptr self, int code, const std::string& what) {
  tracer::exit_loudly(*self->state.log, code, what);
}

// Spawns the round's data actors around a recovered tree and remembers what
// the role needs to know about the history.
void begin_round(peer_ptr self, recovered rec) {
  auto& st = self->state;
  auto& nd = st.nd;
  ++st.round;
  st.round_started_ms = mono_ms();
  st.ending = false;
  st.nd->ensemble.reset_leader();
  st.nd->ensemble.leader_id = 0;
  auto tree = std::move(rec.t);
  std::string err;
  uint32_t accepted = 0;
  uint32_t current = 0;
  if (!read_epoch(nd->cfg.data_dir + "/accepted_epoch", accepted, err) ||
      !read_epoch(nd->cfg.data_dir + "/current_epoch", current, err))
    fatal(self, 3, err);
  auto last = tree->last_zxid();
  current = std::max(current, quorum::epoch_of(last));
  accepted = std::max(accepted, current);
  auto& h = st.data.history;
  h = leader::zab_history{};
  h.accepted_epoch = accepted;
  h.current_epoch = current;
  h.last_zxid = last;
  h.snapshot_zxid = rec.snapshot_zxid;
  h.snapshot_path = rec.snapshot;
  h.epoch_ends = rec.epoch_ends;
  // Only a leader with learners replays the window; standalone, it would
  // only hold a second copy of the log tail until the next snapshot.
  if (st.ensemble)
    h.window = std::move(rec.window);
  st.data.sessions.assign(tree->sessions().begin(), tree->sessions().end());

  txn_log::writer_options log_opts;
  log_opts.fsync = nd->cfg.c.fsync;
  // Each round re-reads the last segment, preallocated tail included (it
  // must be zero), twice: in recovery and when the writer opens it. At
  // 64 MiB that was 80-150 ms of a failover on a busy machine; 16 MiB (a
  // new segment per ~80k small txns) keeps a round short.
  log_opts.segment_bytes = 16u << 20;
  log_opts.preallocate = txn_log::prealloc::zero_fill_ahead;
  // The log's own thread reports every fdatasync; mntr shows the figures.
  auto observer = [n = nd](const txn_log::sync_report& r) {
    ++n->metrics.fsyncs;
    n->metrics.fsync_us_total += static_cast<uint64_t>(r.duration_us);
    n->metrics.fsync_time.record(r.duration_us);
  };
  auto log = txn_log::spawn_txn_log(self->system(), nd->cfg.data_log_dir,
                                    log_opts, observer);
  if (!log)
    fatal(self, 3,
          "cannot open the transaction log: " +
              self->system().render(log.error()));
  nd->txn_log = *log;
  self->monitor(nd->txn_log);
  // The actors on a request's path (connection, datatree, watch_dispatcher,
  // leader, follower) all run on CAF's I/O multiplexer thread, spawned as
  // brokers: a request then goes connection -> datatree -> dispatcher ->
  // connection without waking another thread. Measured on 2 cores against
  // the same actors on the scheduler's workers, this cut server CPU per
  // getData from 66-93 us to 30-44 us. fsync stays on txn_log's own
  // thread, so the disk never stalls that loop. This peer runs there too,
  // so it replaces the handles in `node` between rounds without a race.
  nd->watch_dispatcher = spawn_watch_dispatcher(self->system(), nd);
  nd->datatree = spawn_datatree(self->system(), nd, std::move(tree));
  nd->session_tracker =
      spawn_session_tracker(self->system(), nd, st.data.sessions);
  self->send(nd->datatree,
             snapshotter::snap_replayed{rec.replayed, rec.replayed_bytes});
  st.log->info("round {}: recovered up to zxid 0x{:x} (accepted epoch {}, "
               "current epoch {})",
               st.round, last, accepted, current);
}

leader::zab_settings leader_settings(peer_ptr self) {
  auto& st = self->state;
  auto& c = st.nd->cfg.c;
  leader::zab_settings s;
  s.self = st.nd->cfg.id;
  s.voters = st.voters;
  s.observers = st.observers;
  s.tick_ms = c.tick_ms;
  s.init_limit_ticks = c.init_limit_ticks;
  s.sync_limit_ticks = c.sync_limit_ticks;
  s.session_key0 = st.nd->session_secret[0];
  s.session_key1 = st.nd->session_secret[1];
  s.keep_window = st.ensemble;
  return s;
}

void lead(peer_ptr self) {
  auto& st = self->state;
  st.leader_id = st.nd->cfg.id;
  st.log->info("round {}: LEADING", st.round);
  st.role = spawn_leader(self->system(), st.nd, leader_settings(self),
                         std::move(st.data.history), self);
  ZKD_TRACE(peer, self->id(), leader, tracer::id_of(st.role), "spawn_leader",
            {"round", st.round});
  st.nd->leader = st.role;
}

void follow(peer_ptr self, uint64_t leader_id, bool observer) {
  auto& st = self->state;
  auto& c = st.nd->cfg;
  const config::server* target = nullptr;
  for (auto& s : c.c.servers)
    if (s.id == leader_id)
      target = &s;
  if (target == nullptr) {
    st.log->error("round {}: elected leader {} is not in the configuration",
                  st.round, leader_id);
    local::role_ended r;
    r.reason = "unknown leader";
    self->send(self, std::move(r));
    return;
  }
  st.leader_id = leader_id;
  st.nd->ensemble.leader_id = leader_id;
  st.log->info("round {}: {} leader {}", st.round,
               observer ? "OBSERVING" : "FOLLOWING", leader_id);
  follower_args a;
  a.settings.self = c.id;
  a.settings.observer = observer;
  a.settings.tick_ms = c.c.tick_ms;
  a.settings.init_limit_ticks = c.c.init_limit_ticks;
  a.settings.sync_limit_ticks = c.c.sync_limit_ticks;
  auto& h = st.data.history;
  a.history.accepted_epoch = h.accepted_epoch;
  a.history.current_epoch = h.current_epoch;
  a.history.last_zxid = h.last_zxid;
  a.history.snapshot_zxid = h.snapshot_zxid;
  a.history.epoch_ends = h.epoch_ends;
  h.window.clear(); // only a leader replays it
  a.leader_host = target->host;
  a.leader_port = target->quorum_port;
  a.leader_id = leader_id;
  self->send(st.nd->datatree, local::follow_atom::value);
  self->send(st.nd->session_tracker, local::follow_atom::value);
  st.role = spawn_follower(self->system(), st.nd, std::move(a), self);
  ZKD_TRACE(peer, self->id(), follower, tracer::id_of(st.role),
            "spawn_follower", {"round", st.round}, {"leader", leader_id});
  st.nd->learner = st.role;
}

void look(peer_ptr self) {
  auto& st = self->state;
  if (!st.ensemble) {
    lead(self);
    return;
  }
  if (st.rejoin_leader != 0) {
    auto l = st.rejoin_leader;
    st.rejoin_leader = 0;
    follow(self, l, st.observers.count(st.nd->cfg.id) > 0);
    return;
  }
  st.log->info("round {}: LOOKING (last zxid 0x{:x}, epoch {})", st.round,
               st.data.history.last_zxid, st.data.history.current_epoch);
  self->send(st.election,
             election::start_election{st.data.history.last_zxid,
                                      st.data.history.current_epoch});
}

// The round's actors stop; once the log writer is gone (its files closed)
// the files are fixed up as the role asked and read again.
void end_round(peer_ptr self, local::role_ended r) {
  auto& st = self->state;
  if (st.ending)
    return;
  st.ending = true;
  st.ending_since_ms = mono_ms();
  st.end = std::move(r);
  auto& nd = st.nd;
  nd->serving = false;
  nd->mode = "";
  st.log->warn("round {}: over ({}); closing client connections", st.round,
               st.end.reason);
  if (st.listener)
    self->send(st.listener, local::close_all_atom::value);
  for (auto* h :
       {&st.role, &nd->datatree, &nd->session_tracker, &nd->watch_dispatcher})
    if (*h)
      self->send_exit(*h, caf::exit_reason::user_shutdown);
  st.role = nullptr;
  nd->leader = nullptr;
  nd->learner = nullptr;
  self->send_exit(nd->txn_log, caf::exit_reason::user_shutdown);
  // Continues in the down handler, when the log writer is gone.
}

void next_round(peer_ptr self) {
  auto& st = self->state;
  auto& nd = st.nd;
  nd->txn_log = nullptr;
  nd->datatree = nullptr;
  nd->session_tracker = nullptr;
  nd->watch_dispatcher = nullptr;
  auto& r = st.end;
  if (r.truncate_to >= 0) {
    st.log->info("truncating the log after zxid 0x{:x}", r.truncate_to);
    if (auto err = txn_log::truncate_after(nd->cfg.data_log_dir, r.truncate_to);
        !err.empty())
      fatal(self, 3, "cannot truncate the log: " + err);
    // A snapshot only ever holds applied (committed) txns, so none lies
    // above a TRUNC point; if one did, recovery would bring the cut txns
    // back.
    if (auto err = snapshotter::remove_snapshots_after(nd->cfg.data_dir,
                                                       r.truncate_to);
        !err.empty())
      fatal(self, 3, "cannot remove snapshots after the TRUNC point: " + err);
  }
  if (!r.snapshot.empty()) {
    st.log->info("installing the leader's snapshot of zxid 0x{:x} ({} bytes)",
                 r.snapshot_zxid, r.snapshot.size());
    if (auto err = snapshotter::install_snapshot(nd->cfg.data_dir,
                                                 nd->cfg.data_log_dir,
                                                 r.snapshot_zxid, r.snapshot);
        !err.empty())
      fatal(self, 3, "cannot install the leader's snapshot: " + err);
  }
  st.rejoin_leader = r.rejoin ? st.leader_id : 0;
  st.end = {};
  auto stopped_ms = mono_ms();
  auto rec = snapshotter::recover(nd->cfg.data_dir, nd->cfg.data_log_dir);
  st.log->info("round {}: actors stopped in {} ms, files read in {} ms",
               st.round, stopped_ms - st.ending_since_ms,
               mono_ms() - stopped_ms);
  for (auto& w : rec.warnings)
    st.log->warn("{}", w);
  if (rec.exit_code != 0)
    fatal(self, rec.exit_code, rec.error);
  begin_round(self, std::move(rec));
  look(self);
}

caf::behavior peer_impl(peer_ptr self, std::shared_ptr<node> nd,
                        recovered* first, caf::actor listener) {
  auto& st = self->state;
  st.nd = std::move(nd);
  st.listener = std::move(listener);
  auto members = st.nd->cfg.c.members();
  st.ensemble = members.size() > 1;
  for (auto& m : members)
    (m.r == config::role::observer ? st.observers : st.voters).insert(m.id);
  if (!st.ensemble)
    st.voters = {st.nd->cfg.id};
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    // Through the mailbox: the listener gets to close the connections
    // before this thread reads the files again.
    if (st.ending && st.nd->txn_log && dm.source == st.nd->txn_log.address())
      self->send(self, next_round_atom::value);
  });
  if (st.ensemble) {
    election::actor_settings es;
    es.election.self = st.nd->cfg.id;
    es.election.participants.assign(st.voters.begin(), st.voters.end());
    // ZooKeeper waits 200 ms for a better vote once a quorum agrees; every
    // vote being in ends the round at once (see election.hpp), so this
    // only delays rounds with a member down.
    es.election.finalize_wait_ms = 100;
    es.election.skip_unreached = true;
    for (auto& m : members)
      es.members.push_back({m.id, m.host, m.election_port});
    st.election = election::spawn_election(
        self->system(), es, self,
        caf::actor_cast<caf::actor>(self->system().middleman().actor_handle()));
  }
  begin_round(self, std::move(*first));
  delete first;
  look(self);
  return {
      [=](const election::elected& e) {
        auto& st = self->state;
        if (st.ending || st.role)
          return;
        auto took = mono_ms() - st.round_started_ms;
        st.log->info("round {}: elected {} after {} ms", st.round, e.v.leader,
                     took);
        st.nd->ensemble.record_election(static_cast<uint64_t>(took));
        if (e.state == quorum::peer_state::leading)
          lead(self);
        else
          follow(self, e.v.leader, e.state == quorum::peer_state::observing);
      },
      [=](const election::election_failed& f) {
        fatal(self, 1, "election: " + f.reason);
      },
      [=](local::serving_atom, uint64_t epoch) {
        auto& st = self->state;
        if (st.ending || self->current_sender() !=
                             caf::actor_cast<caf::strong_actor_ptr>(st.role))
          return;
        auto& nd = st.nd;
        if (!st.ensemble)
          nd->mode = "standalone";
        else if (st.leader_id == nd->cfg.id)
          nd->mode = "leader";
        else
          nd->mode = st.observers.count(nd->cfg.id) ? "observer" : "follower";
        nd->serving = true;
        if (st.election)
          self->send(st.election, election::established_epoch{epoch});
        st.log->info("zkd node {} serving on {}:{} as {} in epoch {}, {} ms "
                     "after round {} began",
                     nd->cfg.id, nd->cfg.self.client_address,
                     nd->cfg.self.client_port, nd->mode, epoch,
                     mono_ms() - st.round_started_ms, st.round);
      },
      [=](local::role_ended& r) {
        auto& st = self->state;
        if (st.role &&
            self->current_sender() !=
                caf::actor_cast<caf::strong_actor_ptr>(st.role) &&
            self->current_sender() !=
                caf::actor_cast<caf::strong_actor_ptr>(self))
          return; // a role of an earlier round
        end_round(self, std::move(r));
      },
      [=](next_round_atom) { next_round(self); },
      [=](local::leader_atom) -> caf::result<caf::actor> {
        auto& st = self->state;
        if (!st.ending && st.nd->leader)
          return st.nd->leader;
        return caf::make_error(caf::sec::request_receiver_down);
      },
  };
}

} // namespace

start_result start_node(caf::actor_system& sys, config::node_config cfg) {
  start_result res;
  auto nd = std::make_shared<node>();
  nd->cfg = std::move(cfg);
  nd->started_ms = wall_ms();
  const auto& dir = nd->cfg.data_dir;
  const auto& log_dir = nd->cfg.data_log_dir;
  auto fail = [&](int code, std::string what) {
    res.exit_code = code;
    res.error = std::move(what);
    return res;
  };
  for (auto& d : {dir, log_dir})
    if (auto err = data_dir::ensure(d); !err.empty())
      return fail(1, err);
  if (auto err = load_secret(dir, nd->session_secret); !err.empty())
    return fail(1, err);
  if (auto err = tracer::start(nd->cfg.id, nd->cfg.c.trace.file,
                               nd->cfg.c.trace.actors);
      !err.empty())
    return fail(1, err);
  // Recovery: the newest snapshot, then the log after it. A torn log tail
  // (a crash mid-append) is cut off; anything else that does not check out
  // stops the node rather than serving silently lost data (recovery.hpp).
  // The first one runs here so that a bad data directory is an exit code.
  auto rec = std::make_unique<recovered>(snapshotter::recover(dir, log_dir));
  for (auto& w : rec->warnings)
    spdlog::warn("{}", w);
  if (rec->exit_code != 0)
    return fail(rec->exit_code, rec->error);
  if (!rec->snapshot.empty())
    spdlog::info("loaded snapshot {} ({} znodes) in {} ms", rec->snapshot,
                 rec->snapshot_nodes, rec->load_ms);
  spdlog::info("recovered {} txns up to zxid 0x{:x} in {} ms ({} znodes)",
               rec->replayed, rec->t->last_zxid(),
               rec->load_ms + rec->replay_ms, rec->t->node_count());
  if (!nd->cfg.c.fsync)
    spdlog::warn("fsync is OFF: acknowledged writes can be lost on a crash. "
                 "Use this for tests only.");
  auto listener = spawn_client_listener(sys, nd);
  if (!listener)
    return fail(1, "cannot listen on " + nd->cfg.self.client_address + ":" +
                       std::to_string(nd->cfg.self.client_port) + ": " +
                       sys.render(listener.error()));
  // unique_ptr is move-only and CAF copies spawn arguments: the recovery
  // result travels as a raw pointer the peer takes ownership of.
  auto peer =
      sys.middleman().spawn_broker(peer_impl, nd, rec.release(), *listener);
  if (nd->cfg.c.members().size() > 1) {
    // Learners ask the peer on the quorum port for this round's leader.
    auto port = sys.middleman().publish(peer, nd->cfg.self.quorum_port,
                                        nd->cfg.self.host.c_str(), true);
    if (!port)
      return fail(1, "cannot listen on quorum port " + nd->cfg.self.host + ":" +
                         std::to_string(nd->cfg.self.quorum_port) + ": " +
                         sys.render(port.error()));
  }
  if (nd->cfg.c.admin.enabled) {
    auto admin = spawn_admin_http(sys, nd);
    if (!admin)
      return fail(1, "cannot listen on admin " + nd->cfg.c.admin.address + ":" +
                         std::to_string(nd->cfg.self.admin_port) + ": " +
                         sys.render(admin.error()));
    nd->admin_http = *admin;
    spdlog::info("admin endpoint on http://{}:{}/commands and /metrics",
                 nd->cfg.c.admin.address, nd->cfg.self.admin_port);
  }
  spdlog::info("zkd node {} listening on {}:{}", nd->cfg.id,
               nd->cfg.self.client_address, nd->cfg.self.client_port);
  res.nd = nd;
  res.listener = *listener;
  return res;
}

} // namespace zkd
