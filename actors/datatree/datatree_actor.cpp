#include "actors/datatree/datatree_actor.hpp"

#include <algorithm>
#include <chrono>
#include <random>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/datatree/state_machine.hpp"
#include "actors/snapshotter/snapshot.hpp"
#include "actors/snapshotter/snapshotter_actor.hpp"
#include "actors/snapshotter/snapshotter_messages.hpp"
#include "actors/snapshotter/trigger.hpp"
#include "actors/tracer/tracer.hpp"
#include "actors/tracer/txn_summary.hpp"
#include "actors/txn_log/txn_log_messages.hpp"
#include "messages/local/local.hpp"
#include "messages/wire/protocol.hpp"

namespace zkd {

namespace {

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

// Snapshots: the capture runs here, in steps between other messages; the
// bytes go to the snapshotter's thread (see actors/snapshotter/snapshot.hpp).
struct snapshot_job {
  std::unique_ptr<snapshotter::snapshot_encoder> encoder; // while capturing
  std::vector<std::pair<int64_t, int32_t>> sessions;      // as of the zxid
  int64_t zxid = 0;
  size_t in_flight = 0; // snap_blocks not yet acknowledged
  bool step_queued = false;
  uint64_t steps = 0;
  int64_t walk_us = 0;     // time spent in capture steps
  int64_t max_step_us = 0; // the longest one: what a request may wait
  std::chrono::steady_clock::time_point started;
};

struct datatree_state {
  std::shared_ptr<node> nd;
  std::unique_ptr<datatree::state_machine> sm;
  caf::actor snapshotter;
  std::unique_ptr<snapshotter::snapshot_trigger> trigger;
  std::unique_ptr<snapshot_job> snap; // a snapshot is running
  static inline const char* name = "datatree";
};

// Znodes per capture step, and the block size that also ends a step: a step
// costs ~0.1-0.5 ms, so a read waits at most that long behind one.
constexpr size_t snap_step_nodes = 2048;
constexpr size_t snap_block_bytes = 256 * 1024;
// snap_blocks in flight to the snapshotter: bounds the memory a capture
// holds when the disk is slower than the walk.
constexpr size_t snap_window = 4;

using snap_step_atom = caf::atom_constant<caf::atom("snapstep")>;

using datatree_ptr = caf::stateful_actor<datatree_state, caf::io::broker>*;

void queue_snap_step(datatree_ptr self) {
  auto& job = *self->state.snap;
  if (job.step_queued || !job.encoder || job.in_flight >= snap_window)
    return;
  job.step_queued = true;
  // Behind everything already in the mailbox: requests go first.
  self->send(self, snap_step_atom::value);
}

void send_blocks(datatree_ptr self, bool all) {
  auto& job = *self->state.snap;
  auto blocks = job.encoder->take_blocks(all);
  if (blocks.empty())
    return;
  ++job.in_flight;
  ZKD_TRACE(datatree, self->id(), snapshotter,
            tracer::id_of(self->state.snapshotter), "snap_blocks",
            {"n", blocks.size()});
  self->send(self->state.snapshotter,
             snapshotter::snap_blocks{std::move(blocks)});
}

void begin_snapshot(datatree_ptr self) {
  auto& st = self->state;
  auto& t = st.sm->data();
  auto job = std::make_unique<snapshot_job>();
  job->started = std::chrono::steady_clock::now();
  job->encoder =
      std::make_unique<snapshotter::snapshot_encoder>(snap_block_bytes);
  job->sessions.assign(t.sessions().begin(), t.sessions().end());
  t.capture_begin(*job->encoder);
  job->zxid = t.capture_zxid();
  ZKD_TRACE(datatree, self->id(), snapshotter, tracer::id_of(st.snapshotter),
            "snap_begin", {"zxid", tracer::hex{job->zxid}});
  self->send(st.snapshotter,
             snapshotter::snap_begin{job->zxid, t.digest(), wall_ms()});
  ZKD_TRACE(datatree, self->id(), txn_log, tracer::id_of(st.nd->txn_log),
            "log_roll", {"zxid", tracer::hex{job->zxid}});
  // ZooKeeper rolls the log when it snapshots: segments then end near
  // snapshot zxids, and purge can drop them whole.
  self->send(st.nd->txn_log, txn_log::log_roll_atom::value);
  spdlog::info("datatree: snapshot of zxid 0x{:x} started ({} znodes)",
               job->zxid, t.node_count());
  st.snap = std::move(job);
  queue_snap_step(self);
}

// `records` of `bytes` bytes went to the log.
void count_logged(datatree_ptr self, uint64_t records, uint64_t bytes) {
  auto& st = self->state;
  if (!st.trigger || !st.trigger->logged(records, bytes))
    return;
  // Only a serving node's tree is all committed: before that it holds what
  // recovery replayed (possibly never committed) or a half-done DIFF, and
  // sync trusts every txn up to a learner's snapshot (found by tests/sim).
  // The trigger stays due; the next txn after serving starts the snapshot.
  if (!st.nd->serving)
    return;
  st.trigger->restart(st.sm->data().node_count());
  if (st.snap) {
    // ZooKeeper's SyncRequestProcessor: "Too busy to snap, skipping".
    spdlog::warn("datatree: a snapshot is due but the one of zxid 0x{:x} is "
                 "still running; skipping",
                 st.snap->zxid);
    return;
  }
  begin_snapshot(self);
}

void snap_step(datatree_ptr self) {
  auto& st = self->state;
  if (!st.snap || !st.snap->encoder)
    return;
  auto& job = *st.snap;
  job.step_queued = false;
  auto t0 = std::chrono::steady_clock::now();
  auto& t = st.sm->data();
  bool done = t.capture_step(snap_step_nodes);
  ++job.steps;
  if (done)
    for (auto& [id, timeout] : job.sessions)
      job.encoder->session(id, timeout);
  send_blocks(self, done);
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::steady_clock::now() - t0)
                .count();
  job.walk_us += us;
  job.max_step_us = std::max<int64_t>(job.max_step_us, us);
  if (!done) {
    queue_snap_step(self);
    return;
  }
  auto c = job.encoder->counts();
  job.encoder.reset();
  ZKD_TRACE(datatree, self->id(), snapshotter, tracer::id_of(st.snapshotter),
            "snap_end", {"zxid", tracer::hex{job.zxid}}, {"nodes", c.nodes});
  self->send(st.snapshotter,
             snapshotter::snap_end{c.nodes, c.sessions, c.acls});
  spdlog::info("datatree: snapshot of zxid 0x{:x} captured: {} znodes in {} "
               "steps, {} ms of walk, longest step {} us",
               job.zxid, c.nodes, job.steps, job.walk_us / 1000,
               job.max_step_us);
}

void publish_metrics(datatree_ptr self) {
  auto& t = self->state.sm->data();
  auto& m = self->state.nd->metrics;
  m.last_zxid = t.last_zxid();
  m.node_count = t.node_count();
  m.data_size = t.approximate_data_size();
  m.ephemerals = t.ephemeral_count();
}

// Sends what the last input produced: the tracker first, as before the
// split, then the proposals, then everything clients see.
void flush(datatree_ptr self) {
  auto& st = self->state;
#ifndef NDEBUG
  st.sm->check_invariants();
#endif
  auto out = st.sm->take_output();
  for (auto& f : out.faults)
    spdlog::critical("{}", f);
  for (auto& a : out.session_applied) {
    ZKD_TRACE(datatree, self->id(), session_tracker,
              tracer::id_of(st.nd->session_tracker), "session_applied",
              {"session", tracer::hex{a.session}},
              {"op", wire::op_name(a.opcode)});
    self->send(st.nd->session_tracker, a);
  }
  if (!out.proposals.entries.empty()) {
    uint64_t bytes = 0;
    for (auto& e : out.proposals.entries)
      bytes += e.payload.size();
    auto records = out.proposals.entries.size();
    ZKD_TRACE_TXNS(datatree, self->id(), leader, tracer::id_of(st.nd->leader),
                   "propose", out.proposals.entries);
    self->send(st.nd->leader, std::move(out.proposals));
    count_logged(self, records, bytes);
  }
  // A learner's writes, one message each, for the follower actor to send to
  // the leader in this order.
  for (auto& f : out.forwards) {
    if (!st.nd->learner) {
      // Between rounds: the round ends and its clients reconnect.
      spdlog::debug("datatree: no learner to forward cxid {} of session "
                    "0x{:x} to",
                    f.cxid, f.session);
      continue;
    }
    ZKD_TRACE(datatree, self->id(), follower, tracer::id_of(st.nd->learner),
              "forward", {"session", tracer::hex{f.session}}, {"cxid", f.cxid},
              {"op", wire::op_name(f.type)});
    self->send(st.nd->learner, std::move(f));
  }
  if (!out.forward_replies.items.empty()) {
    ZKD_TRACE(datatree, self->id(), leader, tracer::id_of(st.nd->leader),
              "forward_replies", {"n", out.forward_replies.items.size()});
    self->send(st.nd->leader, std::move(out.forward_replies));
  }
  if (!out.dispatch.items.empty()) {
    ZKD_TRACE(datatree, self->id(), watch_dispatcher,
              tracer::id_of(st.nd->watch_dispatcher), "dispatch_batch",
              {"n", out.dispatch.items.size()},
              {"triggers",
               std::count_if(out.dispatch.items.begin(),
                             out.dispatch.items.end(), [](const auto& i) {
                               return i.kind == local::dispatch_item::trigger;
                             })});
    self->send(st.nd->watch_dispatcher, std::move(out.dispatch));
  }
}

caf::behavior datatree_impl(datatree_ptr self, std::shared_ptr<node> nd,
                            std::unique_ptr<datatree::tree>* t) {
  auto& st = self->state;
  st.nd = std::move(nd);
  datatree::prep_options opts;
  opts.extended_types = st.nd->cfg.c.extended_types;
  opts.enforce_quota = st.nd->cfg.c.enforce_quota;
  st.sm = std::make_unique<datatree::state_machine>(std::move(*t), opts,
                                                    st.nd->cfg.c.super_digest);
  delete t;
  publish_metrics(self);
  self->delayed_send(
      self, std::chrono::milliseconds(st.nd->cfg.c.container_check_interval_ms),
      local::reap_atom::value);
  {
    auto& c = st.nd->cfg;
    snapshotter::snapshotter_options so;
    so.data_dir = c.data_dir;
    so.log_dir = c.data_log_dir;
    so.fsync = c.c.fsync;
    so.retain = static_cast<size_t>(c.c.snapshot_retain);
    st.snapshotter = snapshotter::spawn_snapshotter(self->system(), so);
    // A snapshotter that died would leave the capture waiting for acks
    // forever, copying every touched znode: give up on that snapshot and
    // start a new snapshotter for the next one.
    self->monitor(st.snapshotter);
    self->set_down_handler([=](caf::down_msg& dm) {
      auto& st = self->state;
      if (dm.source != st.snapshotter.address())
        return;
      spdlog::error("datatree: the snapshotter stopped ({}); a new one takes "
                    "the next snapshot",
                    self->system().render(dm.reason));
      if (st.snap) {
        st.sm->data().capture_abandon();
        st.snap.reset();
      }
      st.snapshotter = snapshotter::spawn_snapshotter(self->system(), so);
      self->monitor(st.snapshotter);
    });
    std::random_device rd;
    st.trigger = std::make_unique<snapshotter::snapshot_trigger>(
        c.c.snapshot_count, c.c.snapshot_bytes, (uint64_t{rd()} << 32) ^ rd(),
        c.c.snapshot_tree_percent, st.sm->data().node_count());
  }
  return {
      [=](local::request_batch& batch) {
        self->state.sm->requests(batch.session, std::move(batch.requests),
                                 wall_ms());
        flush(self);
      },
      [=](local::session_attached& a) {
        self->state.sm->attach(a.session, a.remote_addr);
        flush(self);
      },
      [=](local::session_write& w) {
        auto e = self->state.sm->session_write(w, wall_ms());
        // connection_loss: not leading; the tracker's next tick retries.
        if (e != wire::err::ok && e != wire::err::connection_loss)
          spdlog::debug("session write for 0x{:x} refused: {}", w.session,
                        wire::err_name(e));
        flush(self);
      },
      [=](local::commit_atom, int64_t zxid) {
        self->state.sm->commit(zxid);
        publish_metrics(self);
        flush(self);
      },
      [=](local::reap_atom) {
        // ZooKeeper's ContainerManager: at most znode.container.maxPerMinute
        // (10000) deletions per minute, spread over the check interval.
        auto interval = self->state.nd->cfg.c.container_check_interval_ms;
        auto limit =
            static_cast<size_t>(std::max<int64_t>(1, 10000 * interval / 60000));
        auto n = self->state.sm->reap(wall_ms(), limit);
        if (n > 0)
          spdlog::debug("datatree: reaping {} container/TTL nodes", n);
        flush(self);
        self->delayed_send(self, std::chrono::milliseconds(interval),
                           local::reap_atom::value);
      },
      [=](local::follow_atom) {
        auto& sm = *self->state.sm;
        sm.follow();
        spdlog::info("datatree: following, last zxid 0x{:x}",
                     sm.data().last_zxid());
      },
      [=](local::learner_proposal& p) {
        // The follower actor logs it; it counts towards this node's next
        // snapshot as the leader's own proposals count on the leader.
        auto bytes = p.txn.size();
        self->state.sm->learner_proposal(p.zxid, p.txn);
        count_logged(self, 1, bytes);
        flush(self);
      },
      [=](local::forward_reply& r) {
        self->state.sm->forward_reply(r.session, r.cxid, std::move(r.frame));
        flush(self);
      },
      [=](local::forwarded_request& f) {
        self->state.sm->forwarded(f.sid, f.rq, wall_ms());
        flush(self);
      },
      [=](local::lead_atom, int64_t epoch) {
        auto& sm = *self->state.sm;
        sm.lead(epoch);
        spdlog::info("datatree: leading epoch {}, last zxid 0x{:x}", epoch,
                     sm.data().last_zxid());
      },
      [=](snap_step_atom) { snap_step(self); },
      [=](snapshotter::snap_written&) {
        auto& st = self->state;
        if (!st.snap)
          return;
        --st.snap->in_flight;
        queue_snap_step(self);
      },
      [=](snapshotter::snap_done& d) {
        auto& st = self->state;
        if (d.ok) {
          auto ms =
              st.snap ? std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - st.snap->started)
                            .count()
                      : 0;
          spdlog::info("datatree: snapshot {} done in {} ms", d.path, ms);
          // The leader keeps every txn after its newest snapshot for DIFFs.
          if (st.nd->leader)
            self->send(st.nd->leader, local::snapshot_taken{d.zxid, d.path});
        }
        st.snap.reset();
      },
      [=](snapshotter::snap_replayed& r) {
        // Recovery replayed this much log since the last snapshot: it counts
        // towards the next one.
        count_logged(self, r.records, r.bytes);
      },
      [=](local::dump_atom) {
        // Sessions with ephemerals, for the `dump` four-letter word.
        return self->state.sm->ephemerals_by_session();
      },
  };
}

} // namespace

caf::actor spawn_datatree(caf::actor_system& sys, std::shared_ptr<node> nd,
                          std::unique_ptr<datatree::tree> t) {
  // unique_ptr is move-only and CAF copies spawn arguments, so the tree
  // travels as a raw pointer the actor takes ownership of.
  auto* holder = new std::unique_ptr<datatree::tree>(std::move(t));
  // On the I/O thread, like the connections: see start_node().
  return sys.middleman().spawn_broker(datatree_impl, std::move(nd), holder);
}

} // namespace zkd
