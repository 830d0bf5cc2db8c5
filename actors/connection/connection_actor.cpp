#include "actors/connection/connection_actor.hpp"

#include <chrono>
#include <cstring>
#include <deque>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/connection/four_letter.hpp"
#include "actors/connection/four_letter_actor.hpp"
#include "actors/tracer/tracer.hpp"
#include "messages/local/local.hpp"
#include "messages/wire/jute.hpp"
#include "messages/wire/protocol.hpp"
#include "messages/wire/reply.hpp"
#include "messages/wire/request.hpp"

namespace zkd {

namespace {

using namespace std::chrono;

int64_t mono_us() {
  return duration_cast<microseconds>(steady_clock::now().time_since_epoch())
      .count();
}

int64_t wall_ms() {
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

uint32_t read_be32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}

// Requests of one connection in flight before it stops reading the socket
// (ZooKeeper's globalOutstandingLimit is 1000 for the whole server), and
// reply bytes the client has not taken yet before it does the same.
constexpr size_t max_outstanding = 1000;
constexpr uint64_t max_unwritten_bytes = 1 << 20;

// A request whose reply has not gone out yet: when it arrived, and its op
// code for the per-op metrics.
struct pending_reply {
  int64_t at_us;
  int32_t op;
};

struct conn_state {
  std::shared_ptr<node> nd;
  caf::io::connection_handle hdl;
  uint64_t id = 0;
  // nd->client_generation when this connection was accepted; see serving().
  uint64_t generation = 0;
  std::string remote;
  std::string buf; // unparsed input
  bool connect_seen = false;
  bool client_sends_read_only = false; // echo the readOnly byte back if so
  bool established = false;
  bool closing = false;
  bool four_letter = false; // answering a four-letter word: ignore input
  bool throttled = false;   // not reading the socket: too much outstanding
  uint64_t unwritten = 0;   // reply bytes still in the broker's buffers
  // The socket replies are written to directly (see write_out); -1: CAF
  // writes everything.
  int fd = -1;
  // CAF holds bytes of ours not yet written: until it has written them all,
  // replies queue behind them there, to keep their order.
  bool caf_queued = false;
  int64_t session = 0;
  int32_t timeout_ms = 0;
  int64_t last_touch_us = 0;
  // Receive time of every request whose reply has not gone out yet, in order:
  // replies leave in request order, so the front is the next reply's.
  std::deque<pending_reply> sent_at_us;
  connection_info info;
  static inline const char* name = "connection";
};

using conn_ptr = caf::stateful_actor<conn_state, caf::io::broker>*;

// ZooKeeper's isZKServerRunning(), as a connection sees it: the node serves
// clients and has not closed every connection since this one was accepted
// (the listener bumps the generation before its close messages arrive, so a
// connection of an ended round never reaches the next round's actors).
bool serving(conn_ptr self) {
  auto& st = self->state;
  return st.nd->serving.load() && st.generation == st.nd->client_generation;
}

void publish_info(conn_ptr self) {
  auto& st = self->state;
  st.info.queued = st.sent_at_us.size();
  std::lock_guard<std::mutex> guard{st.nd->connections.mtx};
  st.nd->connections.conns[st.id] = st.info;
}

void unregister(conn_ptr self) {
  auto& st = self->state;
  std::lock_guard<std::mutex> guard{st.nd->connections.mtx};
  st.nd->connections.conns.erase(st.id);
}

void shutdown(conn_ptr self) {
  auto& st = self->state;
  if (st.closing)
    return;
  st.closing = true;
  if (st.established) {
    ZKD_TRACE(connection, self->id(), watch_dispatcher,
              tracer::id_of(st.nd->watch_dispatcher), "detach",
              {"session", tracer::hex{st.session}});
    self->send(st.nd->watch_dispatcher, local::detach_atom::value, st.session,
               caf::actor_cast<caf::actor>(self));
  }
  ZKD_TRACE(connection, self->id(), client, self->id(), "close",
            {"session", tracer::hex{st.session}});
  st.nd->metrics.outstanding -= static_cast<int64_t>(st.sent_at_us.size());
  st.sent_at_us.clear();
  unregister(self);
  self->flush(st.hdl);
  self->close(st.hdl);
  self->quit();
}

// Appends to CAF's write buffer; the caller flushes. Replies written
// directly after this wait until CAF has written it (see write_out).
void queue_to_caf(conn_ptr self, const char* p, size_t n) {
  auto& st = self->state;
  auto& out = self->wr_buf(st.hdl);
  out.insert(out.end(), p, p + n);
  st.caf_queued = true;
}

void write_bytes(conn_ptr self, const std::vector<char>& bytes) {
  self->state.nd->metrics.bytes_sent.add(bytes.size());
  queue_to_caf(self, bytes.data(), bytes.size());
}

// Writes replies straight to the socket while CAF holds none of ours. CAF
// 0.17 writes a stream only once epoll reports it writable: per reply an
// epoll_ctl to subscribe, a round of the event loop and an epoll_ctl to
// unsubscribe (9 syscalls per getData round trip; 5 this way). What the
// kernel does not take goes to CAF's buffer, and so does everything after it
// until CAF reports its buffer empty. A send error is left for CAF's own
// write to meet, so a broken connection closes the one way it always does.
// Returns the bytes left to CAF.
size_t write_out(conn_ptr self, const std::vector<char>& bytes) {
  auto& st = self->state;
  st.nd->metrics.bytes_sent.add(bytes.size());
  size_t done = 0;
  if (st.fd >= 0 && !st.caf_queued) {
    auto n =
        ::send(st.fd, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    done = n > 0 ? static_cast<size_t>(n) : 0;
    if (done == bytes.size())
      return 0;
  }
  queue_to_caf(self, bytes.data() + done, bytes.size() - done);
  self->flush(st.hdl);
  return bytes.size() - done;
}

// The socket behind `hdl`, if it can be written to directly. CAF 0.17's
// default multiplexer makes a connection handle's id its socket
// (conn_hdl_from_socket); that is checked against the peer CAF reports, and
// if it does not hold, CAF writes everything as before.
int direct_fd(caf::io::connection_handle hdl, uint16_t caf_port) {
  auto id = hdl.id();
  if (id < 0 || id > INT32_MAX)
    return -1;
  auto fd = static_cast<int>(id);
  sockaddr_storage sa{};
  socklen_t len = sizeof(sa);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0)
    return -1;
  uint16_t port = 0;
  if (sa.ss_family == AF_INET)
    port = ntohs(reinterpret_cast<sockaddr_in*>(&sa)->sin_port);
  else if (sa.ss_family == AF_INET6)
    port = ntohs(reinterpret_cast<sockaddr_in6*>(&sa)->sin6_port);
  return port != 0 && port == caf_port ? fd : -1;
}

// Counts the replies (not notifications) in a run of frames so the latency
// of each can be taken from the front of sent_at_us.
void account_replies(conn_ptr self, const std::vector<char>& bytes) {
  auto& st = self->state;
  auto now = mono_us();
  size_t off = 0;
  // Every frame we send starts with a ReplyHeader: xid, zxid, err.
  while (off + 20 <= bytes.size()) {
    const char* frame = bytes.data() + off;
    auto len = read_be32(frame);
    auto xid = static_cast<int32_t>(read_be32(frame + 4));
    auto zxid = static_cast<int64_t>((uint64_t{read_be32(frame + 8)} << 32) |
                                     read_be32(frame + 12));
    auto err = static_cast<int32_t>(read_be32(frame + 16));
    ZKD_TRACE(connection, self->id(), client, self->id(),
              xid == wire::xid::notification ? "watch_event" : "reply",
              {"session", tracer::hex{st.session}}, {"xid", xid},
              {"zxid", tracer::hex{zxid}}, {"err", err});
    off += 4 + len;
    ++st.info.sent;
    ++st.nd->metrics.packets_sent;
    if (xid == wire::xid::notification || st.sent_at_us.empty())
      continue;
    st.info.last_zxid = zxid;
    auto us = now - st.sent_at_us.front().at_us;
    st.nd->metrics.requests.record(st.sent_at_us.front().op, us, err != 0);
    st.sent_at_us.pop_front();
    --st.nd->metrics.outstanding;
    st.nd->metrics.record_latency(us);
    st.info.last_latency_us = us;
    st.info.total_latency_us += us;
    ++st.info.latency_count;
    if (st.info.latency_count == 1 || us < st.info.min_latency_us)
      st.info.min_latency_us = us;
    st.info.max_latency_us = std::max(st.info.max_latency_us, us);
    st.info.last_response_ms = wall_ms();
  }
}

void maybe_touch(conn_ptr self) {
  auto& st = self->state;
  // The tracker works in ticks; telling it more than a few times per tick
  // changes nothing but costs a message per request.
  auto now = mono_us();
  auto tick_us = int64_t{st.nd->cfg.c.tick_ms} * 1000;
  if (now - st.last_touch_us < tick_us / 4)
    return;
  st.last_touch_us = now;
  ZKD_TRACE(connection, self->id(), session_tracker,
            tracer::id_of(st.nd->session_tracker), "touch",
            {"session", tracer::hex{st.session}});
  self->send(st.nd->session_tracker, local::touch_atom::value, st.session,
             st.timeout_ms);
}

// Answers a four-letter word and closes, as ZooKeeper does. Most answers
// come from the shared counters; dump and wchc/wchp ask the actors that own
// the data.
void four_letter(conn_ptr self, connection::four_letter_word w) {
  using connection::four_letter_word;
  auto& st = self->state;
  st.four_letter = true;
  auto finish = [self](const std::string& text) {
    auto& out = self->wr_buf(self->state.hdl);
    out.insert(out.end(), text.begin(), text.end());
    shutdown(self);
  };
  auto allowed = four_letter_allowed(*st.nd);
  if (!allowed.enabled(w)) {
    finish(connection::not_in_whitelist(w));
    return;
  }
  auto stats =
      std::make_shared<connection::server_stats>(four_letter_snapshot(*st.nd));
  if (w == four_letter_word::crst)
    reset_connection_stats(*st.nd);
  else if (w == four_letter_word::srst)
    reset_server_stats(*st.nd);
  four_letter_gather(
      self, *st.nd, w, stats,
      [=] { finish(connection::answer(w, allowed, *stats)); },
      [=] { finish("zkd: the server did not answer in time\n"); });
}

void reply_inline(conn_ptr self, int32_t xid, wire::err e) {
  std::vector<char> out;
  wire::reply_header h{xid, self->state.nd->metrics.last_zxid.load(),
                       static_cast<int32_t>(e)};
  wire::append_reply_header(out, h);
  ++self->state.info.sent;
  ++self->state.nd->metrics.packets_sent;
  write_bytes(self, out);
}

// Stops reading the socket of a client that sends faster than it takes its
// replies, and starts again once it has caught up (with hysteresis, so a
// busy client is not toggled on every batch).
void update_throttle(conn_ptr self) {
  auto& st = self->state;
  auto outstanding = st.sent_at_us.size();
  if (!st.throttled &&
      (outstanding >= max_outstanding || st.unwritten >= max_unwritten_bytes)) {
    st.throttled = true;
    spdlog::debug("connection {}: {} requests outstanding, {} reply bytes "
                  "unread: pausing reads",
                  st.id, outstanding, st.unwritten);
    self->halt(st.hdl);
  } else if (st.throttled && outstanding <= max_outstanding / 2 &&
             st.unwritten <= max_unwritten_bytes / 4) {
    st.throttled = false;
    self->trigger(st.hdl);
  }
}

// Parses every complete frame in the buffer. Returns false when the
// connection has to close.
bool parse_frames(conn_ptr self) {
  auto& st = self->state;
  auto max_frame = st.nd->cfg.c.max_frame_bytes;
  local::request_batch batch;
  batch.session = st.session;
  // Every frame of this read arrived now.
  auto now = mono_us();
  size_t off = 0;
  bool ok = true;
  while (st.buf.size() - off >= 4) {
    auto len = read_be32(st.buf.data() + off);
    if (!st.connect_seen && off == 0) {
      // Four-letter words arrive instead of a ConnectRequest, as four ASCII
      // bytes where the length would be.
      if (auto w = connection::four_letter_from_code(len)) {
        st.buf.clear();
        four_letter(self, *w);
        return true;
      }
    }
    if (len > static_cast<uint32_t>(max_frame)) {
      spdlog::warn("connection {} from {}: frame of {} bytes exceeds "
                   "max_frame_bytes {}, closing",
                   st.id, st.remote, static_cast<int32_t>(len), max_frame);
      ok = false;
      break;
    }
    if (!serving(self)) {
      // ZooKeeper checks every frame (NIOServerCnxn.readLength): while its
      // server is not running (looking, syncing) it closes the connection
      // without an answer, and the client tries another server.
      spdlog::info("connection {} from {} (session 0x{:x}): the node is not "
                   "serving clients ({}), closing",
                   st.id, st.remote, st.session,
                   st.nd->mode.empty() ? "electing or syncing" : st.nd->mode);
      ok = false;
      break;
    }
    if (st.buf.size() - off - 4 < len)
      break;
    std::string_view payload{st.buf.data() + off + 4, len};
    if (!st.connect_seen) {
      local::connect_session cs;
      if (wire::decode_connect(payload, cs.req) != wire::decode_status::ok) {
        spdlog::warn("connection {} from {}: malformed ConnectRequest, "
                     "closing",
                     st.id, st.remote);
        ok = false;
        break;
      }
      off += 4 + len;
      auto last = st.nd->metrics.last_zxid.load();
      if (cs.req.last_zxid_seen > last) {
        // The client has seen a newer state than this server has: serving
        // it would let it go back in time. ZooKeeper refuses and closes so
        // the client tries another server.
        spdlog::info("connection {} from {}: refusing session request, the "
                     "client has seen zxid 0x{:x} and our last zxid is 0x{:x}",
                     st.id, st.remote, cs.req.last_zxid_seen, last);
        ok = false;
        break;
      }
      st.connect_seen = true;
      st.client_sends_read_only = cs.req.has_read_only;
      cs.remote = st.remote;
      ZKD_TRACE(client, self->id(), connection, self->id(), "connect_request",
                {"session", tracer::hex{cs.req.session_id}},
                {"timeout_ms", cs.req.timeout},
                {"last_zxid", tracer::hex{cs.req.last_zxid_seen}},
                {"remote", st.remote});
      ZKD_TRACE(connection, self->id(), session_tracker,
                tracer::id_of(st.nd->session_tracker), "connect_session",
                {"session", tracer::hex{cs.req.session_id}},
                {"timeout_ms", cs.req.timeout});
      self->send(st.nd->session_tracker, std::move(cs));
      // Later frames wait until the session exists.
      break;
    }
    if (!st.established)
      break;
    wire::request rq;
    auto status = wire::decode_request(payload, rq);
    off += 4 + len;
    ++st.info.received;
    ++st.nd->metrics.packets_received;
    if (status == wire::decode_status::malformed) {
      if (len < 8) {
        spdlog::warn("connection {} from {} (session 0x{:x}): frame of {} "
                     "bytes is too short for a request header, closing",
                     st.id, st.remote, st.session, len);
        ok = false;
        break;
      }
      if (rq.hdr.type == wire::op::auth || rq.hdr.type == wire::op::sasl) {
        // ZooKeeper decodes these itself in processPacket; the IOException
        // closes the connection.
        spdlog::info("connection {} (session 0x{:x}): malformed {} packet, "
                     "closing",
                     st.id, st.session, wire::op_name(rq.hdr.type));
        ok = false;
        break;
      }
      // The header is readable but the body is not: ZooKeeper answers
      // ZMARSHALLINGERROR for that request and keeps the session. The reply
      // goes through the datatree like any other, so it stays in order.
      spdlog::info("connection {} (session 0x{:x}): request xid {} op {} "
                   "does not decode",
                   st.id, st.session, rq.hdr.xid, rq.hdr.type);
      rq.body = std::monostate{};
      rq.hdr.type = local::undecodable_op;
      st.sent_at_us.push_back({now, rq.hdr.type});
      ++st.nd->metrics.outstanding;
      batch.requests.emplace_back(std::move(rq));
      continue;
    }
    ZKD_TRACE(client, self->id(), connection, self->id(),
              rq.hdr.type == wire::op::ping ? "ping" : "request",
              {"session", tracer::hex{st.session}}, {"xid", rq.hdr.xid},
              {"op", wire::op_name(rq.hdr.type)});
    if (rq.hdr.type == wire::op::ping) {
      reply_inline(self, wire::xid::ping, wire::err::ok);
      st.nd->metrics.requests.record(wire::op::ping, 0, false);
      continue;
    }
    if (status == wire::decode_status::unknown_op) {
      // ZooKeeper answers an op it does not know with an error header and
      // keeps the session.
      spdlog::info("connection {} (session 0x{:x}): unknown op code {}", st.id,
                   st.session, rq.hdr.type);
      st.sent_at_us.push_back({now, rq.hdr.type});
      ++st.nd->metrics.outstanding;
      batch.requests.emplace_back(std::move(rq));
      continue;
    }
    st.info.last_op = std::string{connection::last_operation_name(rq.hdr.type)};
    st.info.last_cxid = rq.hdr.xid;
    st.sent_at_us.push_back({now, rq.hdr.type});
    ++st.nd->metrics.outstanding;
    batch.requests.emplace_back(std::move(rq));
  }
  st.buf.erase(0, off);
  // A client that keeps sending without reading its replies must not grow
  // our queues without bound: like ZooKeeper's outstanding-request limit,
  // stop reading its socket until it has taken most replies.
  update_throttle(self);
  if (!batch.requests.empty()) {
    ZKD_TRACE(connection, self->id(), datatree, tracer::id_of(st.nd->datatree),
              "request_batch", {"session", tracer::hex{st.session}},
              {"n", batch.requests.size()},
              {"xid", batch.requests.front().hdr.xid},
              {"xid_last", batch.requests.back().hdr.xid});
    self->send(st.nd->datatree, std::move(batch));
    publish_info(self);
  }
  if (st.established)
    maybe_touch(self);
  return ok;
}

} // namespace

namespace {

caf::behavior
connection_impl(caf::stateful_actor<conn_state, caf::io::broker>* self,
                caf::io::connection_handle hdl, std::shared_ptr<node> nd,
                uint64_t conn_id) {
  auto& st = self->state;
  st.nd = std::move(nd);
  st.hdl = hdl;
  st.id = conn_id;
  st.generation = st.nd->client_generation;
  const auto remote_port = self->remote_port(hdl);
  st.remote = self->remote_addr(hdl) + ":" + std::to_string(remote_port);
  st.info.remote = st.remote;
  st.info.established_ms = wall_ms();
  publish_info(self);
  // CAF 0.17 refills the whole read buffer with zeros before every read
  // (prepare_next_read resizes it to this size): 64 KiB took 3% of the I/O
  // thread under many small requests. Larger bursts take more reads.
  self->configure_read(hdl, caf::io::receive_policy::at_most(16384));
  // Tells us how many reply bytes the client has not taken yet.
  self->ack_writes(hdl, true);
  st.fd = direct_fd(hdl, remote_port);
  if (st.fd < 0)
    spdlog::warn("connection {} from {}: no socket to write to directly; "
                 "replies go through CAF's write buffer",
                 st.id, st.remote);
  return {
      [=](const caf::io::new_data_msg& msg) {
        auto& st = self->state;
        if (st.closing || st.four_letter)
          return;
        st.nd->metrics.bytes_received.add(msg.buf.size());
        st.buf.append(msg.buf.data(), msg.buf.size());
        if (!parse_frames(self)) {
          shutdown(self);
          return;
        }
        self->flush(st.hdl);
      },
      [=](const caf::io::connection_closed_msg&) { shutdown(self); },
      [=](const caf::io::data_transferred_msg& msg) {
        auto& st = self->state;
        st.unwritten = msg.remaining;
        if (msg.remaining == 0 && self->wr_buf(st.hdl).empty())
          st.caf_queued = false;
        update_throttle(self);
      },
      [=](local::session_established& ok) {
        auto& st = self->state;
        if (st.closing)
          return;
        if (!serving(self)) {
          // The round ended while the session was being set up: the next
          // round's actors must not see this connection.
          shutdown(self);
          return;
        }
        st.session = ok.session;
        st.timeout_ms = ok.timeout_ms;
        st.established = true;
        st.last_touch_us = mono_us();
        st.info.session = ok.session;
        st.info.timeout_ms = ok.timeout_ms;
        publish_info(self);
        // Attach before sending anything else, so the dispatcher routes this
        // session's replies here.
        ZKD_TRACE(connection, self->id(), watch_dispatcher,
                  tracer::id_of(st.nd->watch_dispatcher), "attach",
                  {"session", tracer::hex{ok.session}});
        self->send(st.nd->watch_dispatcher, local::attach_atom::value,
                   ok.session, caf::actor_cast<caf::actor>(self));
        ZKD_TRACE(connection, self->id(), datatree,
                  tracer::id_of(st.nd->datatree), "session_attached",
                  {"session", tracer::hex{ok.session}});
        // Auth ids are per connection: the datatree starts this session's
        // over from our peer address before it sees our first request.
        self->send(st.nd->datatree, local::session_attached{
                                        ok.session, self->remote_addr(st.hdl)});
        wire::connect_response rsp;
        rsp.timeout = ok.timeout_ms;
        rsp.session_id = ok.session;
        rsp.passwd = ok.passwd;
        std::vector<char> out;
        wire::append_connect_response(out, rsp, st.client_sends_read_only);
        ZKD_TRACE(connection, self->id(), client, self->id(),
                  "connect_response", {"session", tracer::hex{ok.session}},
                  {"timeout_ms", ok.timeout_ms});
        write_bytes(self, out);
        if (!parse_frames(self)) {
          shutdown(self);
          return;
        }
        self->flush(st.hdl);
      },
      [=](local::session_refused& no) {
        // ZooKeeper's answer to an expired or unknown session: timeout 0,
        // session 0, a zero password; then it closes the connection.
        wire::connect_response rsp;
        rsp.passwd.assign(16, '\0');
        std::vector<char> out;
        wire::append_connect_response(out, rsp,
                                      self->state.client_sends_read_only);
        write_bytes(self, out);
        spdlog::info("connection {} from {}: session 0x{:x} expired or "
                     "unknown, closing",
                     self->state.id, self->state.remote, no.session);
        shutdown(self);
      },
      [=](local::outbound& out) {
        auto& st = self->state;
        if (st.closing)
          return;
        account_replies(self, out.bytes);
        publish_info(self);
        st.unwritten += write_out(self, out.bytes);
        update_throttle(self);
        if (out.close_after)
          shutdown(self);
      },
      [=](local::close_atom) { shutdown(self); },
  };
}

} // namespace

caf::actor fork_connection(caf::io::broker* listener,
                           caf::io::connection_handle hdl,
                           std::shared_ptr<node> nd, uint64_t conn_id) {
  return listener->fork(connection_impl, hdl, std::move(nd), conn_id);
}

} // namespace zkd
