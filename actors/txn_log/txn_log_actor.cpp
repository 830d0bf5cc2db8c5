#include "actors/txn_log/txn_log_actor.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/tracer/logging.hpp"
#include "actors/tracer/tracer.hpp"
#include "actors/txn_log/txn_log_messages.hpp"

namespace zkd::txn_log {

namespace {

struct appender {
  caf::strong_actor_ptr who;
  int64_t zxid = 0; // highest zxid this appender has in the pending batch
};

struct log_state {
  std::shared_ptr<log_writer> writer;
  std::vector<appender> pending; // usually one: the leader
  bool flush_scheduled = false;
  sync_observer observer;
  uint64_t unsynced_records = 0;    // appended since the last flush
  uint64_t bytes_at_last_flush = 0; // writer's bytes_written then
  std::shared_ptr<spdlog::logger> log = tracer::logger("txn_log");
  static inline const char* name = "txn_log";
};

using log_actor = caf::stateful_actor<log_state>;

// An appender in a trace line. Appenders are the leader today and a
// follower's own log writer later: the kind comes from the actor's name.
tracer::actor_ref appender_ref(const caf::strong_actor_ptr& who) {
  tracer::actor_ref ref{tracer::kind::leader, 0, 0};
  if (!who)
    return ref;
  ref.id = who->id();
  if (auto* a = dynamic_cast<caf::monitorable_actor*>(who->get()))
    if (auto k = tracer::kind_from_name(a->name()))
      ref.k = *k;
  return ref;
}

// Tells everyone waiting that their records will never be durable, then
// stops with an error so that monitors (the peer) see why.
void die(log_actor* self, const log_error& err,
         const caf::strong_actor_ptr& also) {
  auto& st = self->state;
  st.log->critical("txn_log: {}; no further writes are acknowledged",
                   err.message);
  auto notify = [&](const caf::strong_actor_ptr& who) {
    if (!who)
      return;
    ZKD_TRACE_REFS((tracer::actor_ref{tracer::kind::txn_log, self->id(), 0}),
                   appender_ref(who), "log_failed", {"what", err.message});
    self->send(caf::actor_cast<caf::actor>(who), log_failed{err.message});
  };
  bool also_done = !also;
  for (auto& a : st.pending) {
    notify(a.who);
    also_done = also_done || a.who == also;
  }
  if (!also_done)
    notify(also);
  st.pending.clear();
  self->quit(caf::make_error(caf::sec::runtime_error, err.message));
}

// ZooKeeper's fsync.warningthresholdms default: a commit slower than this
// gets a warning line, as ZooKeeper's FileTxnLog prints one.
constexpr int64_t slow_sync_warn_us = 1'000'000;

caf::behavior txn_log_actor(log_actor* self, std::shared_ptr<log_writer> writer,
                            sync_observer observer) {
  self->state.writer = writer;
  self->state.observer = std::move(observer);
  // The state is gone by the time attached functors run; hold the writer.
  self->attach_functor([writer] { writer->close(); });
  return {
      [=](log_append& batch) {
        auto& st = self->state;
        auto& sender = self->current_sender();
        int64_t top = 0;
        for (auto& e : batch.entries) {
          if (auto err = st.writer->append(e.zxid, e.payload)) {
            die(self, *err, sender);
            return;
          }
          top = e.zxid;
        }
        st.unsynced_records += batch.entries.size();
        if (batch.entries.empty())
          return;
        if (sender) {
          auto it =
              std::find_if(st.pending.begin(), st.pending.end(),
                           [&](const appender& a) { return a.who == sender; });
          if (it == st.pending.end())
            st.pending.push_back(appender{sender, top});
          else
            it->zxid = top;
        }
        if (!st.flush_scheduled) {
          st.flush_scheduled = true;
          ZKD_TRACE(txn_log, self->id(), txn_log, self->id(), "log_flush",
                    {"zxid", tracer::hex{top}});
          self->send(self, log_flush_atom::value);
        }
      },
      [=](log_flush_atom) {
        auto& st = self->state;
        st.flush_scheduled = false;
        auto t0 = std::chrono::steady_clock::now();
        if (auto err = st.writer->sync()) {
          die(self, *err, nullptr);
          return;
        }
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - t0)
                      .count();
        // Bytes since the last flush include any segment roll in between.
        auto written = st.writer->stats().bytes_written;
        sync_report rep{st.unsynced_records, written - st.bytes_at_last_flush,
                        us};
        st.unsynced_records = 0;
        st.bytes_at_last_flush = written;
        if (us > slow_sync_warn_us)
          st.log->warn("txn_log: writing and syncing {} records ({} bytes) "
                       "took {} ms; every write waits for this",
                       rep.records, rep.bytes, us / 1000);
        if (st.observer)
          st.observer(rep);
        for (auto& a : st.pending) {
          ZKD_TRACE_REFS(
              (tracer::actor_ref{tracer::kind::txn_log, self->id(), 0}),
              appender_ref(a.who), "log_durable", {"zxid", tracer::hex{a.zxid}},
              {"records", rep.records}, {"bytes", rep.bytes},
              {"sync_us", rep.duration_us});
          self->send(caf::actor_cast<caf::actor>(a.who), log_durable{a.zxid});
        }
        st.pending.clear();
      },
      [=](log_roll_atom) {
        // Appends already in the mailbox were handled before this; roll()
        // syncs them, and the pending flush still acknowledges them.
        if (auto err = self->state.writer->roll())
          die(self, *err, nullptr);
      },
      [=](log_stats_atom) {
        auto& w = *self->state.writer;
        const auto& s = w.stats();
        return log_stats{s.appends, s.writes, s.fsyncs, s.bytes_written,
                         w.durable_zxid()};
      },
  };
}

} // namespace

caf::expected<caf::actor> spawn_txn_log(caf::actor_system& sys,
                                        const std::string& dir,
                                        const writer_options& opts,
                                        sync_observer observer) {
  auto log = tracer::logger("txn_log");
  auto writer = std::make_shared<log_writer>();
  if (auto err = writer->open(dir, opts))
    return caf::make_error(caf::sec::runtime_error, err->message);
  if (!writer->recovery_warning().empty())
    log->warn("txn_log: {}", writer->recovery_warning());
  if (!opts.fsync)
    log->warn("txn_log: fsync is off; acknowledged writes are not durable");
  log->info("txn_log: {} opened, last zxid {:#x}", dir, writer->last_zxid());
  return spawn_txn_log_actor(sys, std::move(writer), true, std::move(observer));
}

caf::actor spawn_txn_log_actor(caf::actor_system& sys,
                               std::shared_ptr<log_writer> writer,
                               bool detached, sync_observer observer) {
  if (detached)
    return sys.spawn<caf::detached>(txn_log_actor, std::move(writer),
                                    std::move(observer));
  return sys.spawn(txn_log_actor, std::move(writer), std::move(observer));
}

} // namespace zkd::txn_log
