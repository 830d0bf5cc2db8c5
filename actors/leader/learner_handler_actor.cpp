#include "actors/leader/learner_handler_actor.hpp"

#include <fstream>
#include <memory>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/tracer/logging.hpp"
#include "actors/tracer/tracer.hpp"
#include "messages/quorum/quorum.hpp"

namespace zkd {

namespace {

// 64 KiB chunks, 8 in flight: CAF.md measured request/ack windows of a few
// megabytes at twice a blast's throughput and a fraction of its memory.
constexpr size_t chunk_bytes = 64 * 1024;
constexpr uint64_t chunk_window = 8;

struct snapshot_stream {
  std::ifstream in;
  uint64_t size = 0;
  uint64_t sent_bytes = 0;
  uint64_t next_seq = 0;
  uint64_t acked = 0; // chunks acknowledged
  bool done = false;
};

struct handler_state {
  uint64_t sid = 0;
  caf::actor learner;
  caf::actor leader;
  std::unique_ptr<snapshot_stream> snap;
  std::shared_ptr<spdlog::logger> log = tracer::logger("learner_handler");
  static inline const char* name = "learner_handler";
};

using handler_ptr = caf::stateful_actor<handler_state, caf::io::broker>*;

bool from_learner(handler_ptr self) {
  return self->current_sender() ==
         caf::actor_cast<caf::strong_actor_ptr>(self->state.learner);
}

template <class T>
void to_learner(handler_ptr self, T&& m) {
  auto& st = self->state;
  ZKD_TRACE_TO_NODE(learner_handler, self->id(), follower,
                    tracer::id_of(st.learner), st.sid, quorum::message_name(m),
                    {"zxid", tracer::hex{quorum::message_zxid(m)}});
  self->send(st.learner, std::forward<T>(m));
}

void pump_snapshot(handler_ptr self) {
  auto& st = self->state;
  auto& s = st.snap;
  if (!s)
    return;
  std::string buf(chunk_bytes, '\0');
  while (!s->done && s->next_seq - s->acked < chunk_window) {
    s->in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    auto n = static_cast<size_t>(s->in.gcount());
    s->sent_bytes += n;
    quorum::snap_chunk c;
    c.seq = s->next_seq++;
    c.bytes.assign(buf.data(), n);
    c.last = !s->in || s->sent_bytes >= s->size;
    s->done = c.last;
    self->send(st.learner, std::move(c));
  }
  if (s->done && s->acked == s->next_seq) {
    st.log->info("learner_handler {}: snapshot of {} bytes sent", st.sid,
                 s->size);
    s.reset();
  }
}

// Both directions of one message type: from the leader it goes to the
// learner, from the learner to the leader.
template <class T>
auto relay(handler_ptr self) {
  return [=](T& m) {
    auto& st = self->state;
    if (from_learner(self))
      self->send(st.leader, std::move(m));
    else
      to_learner(self, std::move(m));
  };
}

caf::behavior handler_impl(handler_ptr self, uint64_t sid, caf::actor learner,
                           caf::actor leader) {
  auto& st = self->state;
  st.sid = sid;
  st.learner = std::move(learner);
  st.leader = std::move(leader);
  // Monitors, not links: a learner that goes away must not take the
  // leader with it. Every quit is a normal exit.
  self->monitor(st.leader);
  self->monitor(st.learner);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source == st.learner.address())
      st.log->info("learner_handler {}: learner gone: {}", st.sid,
                   self->system().render(dm.reason));
    self->quit();
  });
  return {
      relay<quorum::leader_info>(self),
      relay<quorum::diff>(self),
      relay<quorum::trunc>(self),
      relay<quorum::proposal>(self),
      relay<quorum::commit>(self),
      relay<quorum::inform>(self),
      relay<quorum::new_leader>(self),
      relay<quorum::up_to_date>(self),
      relay<quorum::ping>(self),
      relay<quorum::reply>(self),
      relay<quorum::ack_epoch>(self),
      relay<quorum::ack>(self),
      relay<quorum::request>(self),
      relay<quorum::follower_info>(self),
      relay<quorum::observer_info>(self),
      [=](stream_snapshot_atom, int64_t zxid, const std::string& path) {
        auto& st = self->state;
        auto s = std::make_unique<snapshot_stream>();
        s->in.open(path, std::ios::binary);
        if (!s->in) {
          st.log->error("learner_handler {}: cannot read snapshot {}", st.sid,
                        path);
          self->quit();
          return;
        }
        s->in.seekg(0, std::ios::end);
        s->size = static_cast<uint64_t>(s->in.tellg());
        s->in.seekg(0);
        st.snap = std::move(s);
        to_learner(self, quorum::snap{zxid, st.snap->size});
        pump_snapshot(self);
      },
      [=](const quorum::snap_chunk_ack& a) {
        auto& st = self->state;
        if (!st.snap || !from_learner(self))
          return;
        st.snap->acked = std::max(st.snap->acked, a.seq + 1);
        pump_snapshot(self);
      },
  };
}

} // namespace

caf::actor spawn_learner_handler(caf::actor_system& sys, uint64_t sid,
                                 caf::actor learner, caf::actor leader) {
  // On the I/O thread with the leader: a proposal costs no thread hop.
  return sys.middleman().spawn_broker(handler_impl, sid, std::move(learner),
                                      std::move(leader));
}

} // namespace zkd
