#include "actors/snapshotter/snapshotter_actor.hpp"

#include <chrono>
#include <memory>
#include <optional>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/snapshotter/purge.hpp"
#include "actors/snapshotter/snapshot.hpp"
#include "actors/snapshotter/snapshotter_messages.hpp"
#include "actors/tracer/logging.hpp"

namespace zkd::snapshotter {

namespace {

struct snapshotter_state {
  snapshotter_options opts;
  std::unique_ptr<snapshot_writer> writer;
  int64_t zxid = 0;
  std::optional<std::string> error; // the running snapshot failed
  std::chrono::steady_clock::time_point started;
  std::shared_ptr<spdlog::logger> log = tracer::logger("snapshotter");
  static inline const char* name = "snapshotter";
};

using snapshotter_ptr = caf::stateful_actor<snapshotter_state>*;

void failed(snapshotter_ptr self, const std::string& what) {
  auto& st = self->state;
  if (st.error)
    return;
  // ZooKeeper logs a failed snapshot and carries on: the log still holds
  // everything, it only grows longer.
  st.log->error("snapshot 0x{:x} abandoned: {}", st.zxid, what);
  st.error = what;
  st.writer->abort();
}

caf::behavior snapshotter_impl(snapshotter_ptr self, snapshotter_options opts) {
  self->state.opts = std::move(opts);
  self->state.writer = std::make_unique<snapshot_writer>();
  return {
      [=](snap_begin& b) {
        auto& st = self->state;
        st.writer->abort();
        st.error.reset();
        st.zxid = b.zxid;
        st.started = std::chrono::steady_clock::now();
        snapshot_header h;
        h.zxid = b.zxid;
        h.digest = b.digest;
        h.time_ms = b.time_ms;
        if (auto e = st.writer->open(st.opts.data_dir, h,
                                     write_options{st.opts.fsync}))
          failed(self, *e);
      },
      [=](snap_blocks& b) {
        auto& st = self->state;
        uint64_t bytes = 0;
        for (auto& block : b.blocks) {
          bytes += block.size();
          if (st.error)
            continue;
          if (auto e = st.writer->append_block(block))
            failed(self, *e);
        }
        if (auto sender = self->current_sender())
          self->send(caf::actor_cast<caf::actor>(sender), snap_written{bytes});
      },
      [=](snap_end& e) {
        auto& st = self->state;
        snap_done done;
        done.zxid = st.zxid;
        if (!st.error) {
          snapshot_trailer t;
          t.nodes = e.nodes;
          t.sessions = e.sessions;
          t.acls = e.acls;
          if (auto err = st.writer->finish(t))
            failed(self, *err);
        }
        if (st.error) {
          done.error = *st.error;
        } else {
          done.ok = true;
          done.path = st.writer->path();
          done.bytes = st.writer->bytes_written();
          auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - st.started)
                        .count();
          st.log->info("snapshot {} written: {} znodes, {} sessions, {} bytes "
                       "in {} ms",
                       done.path, e.nodes, e.sessions, done.bytes, ms);
          auto p = purge(st.opts.data_dir, st.opts.log_dir, st.opts.retain);
          for (auto& err : p.errors)
            st.log->warn("purge: {}", err);
          if (!p.plan.snapshots.empty() || !p.plan.logs.empty())
            st.log->info("purge: removed {} snapshot(s) and {} log "
                         "segment(s) older than snapshot 0x{:x}",
                         p.plan.snapshots.size(), p.plan.logs.size(),
                         p.plan.oldest_kept_zxid);
        }
        if (auto sender = self->current_sender())
          self->send(caf::actor_cast<caf::actor>(sender), std::move(done));
      },
  };
}

} // namespace

caf::actor spawn_snapshotter(caf::actor_system& sys, snapshotter_options opts,
                             bool detached) {
  if (detached)
    return sys.spawn<caf::detached>(snapshotter_impl, std::move(opts));
  return sys.spawn(snapshotter_impl, std::move(opts));
}

} // namespace zkd::snapshotter
