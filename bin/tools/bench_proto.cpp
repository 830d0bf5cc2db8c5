#include "bin/tools/bench_proto.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <deque>

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace zkd::tools::bench {

int64_t now_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

void append_request(std::vector<char>& out, int32_t xid, int32_t type) {
  wire::writer w{out};
  auto frame = w.begin_frame();
  wire::write(w, wire::request_header{xid, type});
  w.end_frame(frame);
}

void append_request(std::vector<char>& out, const wire::request& rq) {
  wire::writer w{out};
  auto frame = w.begin_frame();
  wire::write(w, rq);
  w.end_frame(frame);
}

void append_connect(std::vector<char>& out, int32_t timeout_ms) {
  wire::connect_request rq;
  rq.timeout = timeout_ms;
  rq.passwd.assign(16, '\0');
  rq.has_read_only = true;
  wire::writer w{out};
  auto frame = w.begin_frame();
  wire::write(w, rq);
  w.end_frame(frame);
}

const std::vector<wire::acl>& open_acl() {
  static const std::vector<wire::acl> acl{
      wire::acl{wire::perm::all, wire::id{"world", "anyone"}}};
  return acl;
}

bool parse_reply(std::string_view payload, reply& out) {
  wire::reader r{payload};
  wire::reply_header hdr;
  if (!wire::read(r, hdr))
    return false;
  out.xid = hdr.xid;
  out.zxid = hdr.zxid;
  out.err = hdr.err;
  out.body = payload.substr(payload.size() - r.remaining());
  return true;
}

int32_t multi_outcome(std::string_view body) {
  constexpr auto bad = static_cast<int32_t>(wire::err::marshalling_error);
  constexpr auto inconsistent =
      static_cast<int32_t>(wire::err::runtime_inconsistency);
  wire::reader r{body};
  int32_t outcome = 0;
  for (;;) {
    wire::multi_header h;
    if (!wire::read(r, h))
      return bad;
    if (h.done)
      return outcome;
    bool ok = true;
    switch (h.type) {
    case wire::op::create: {
      wire::create_response x;
      ok = wire::read(r, x);
      break;
    }
    case wire::op::create2:
    case wire::op::create_container:
    case wire::op::create_ttl: {
      wire::create2_response x;
      ok = wire::read(r, x);
      break;
    }
    case wire::op::remove:
    case wire::op::check:
      break;
    case wire::op::set_data: {
      wire::set_data_response x;
      ok = wire::read(r, x);
      break;
    }
    case wire::op::error: {
      wire::error_response x;
      ok = wire::read(r, x);
      // The op that failed carries its code; the others OK (before it) or
      // RUNTIMEINCONSISTENCY (after it).
      if (ok && x.err != 0 && (outcome == 0 || outcome == inconsistent))
        outcome = x.err;
      break;
    }
    default:
      return bad;
    }
    if (!ok)
      return bad;
  }
}

int connect_tcp(const endpoint& ep, bool nonblocking, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  auto port = std::to_string(ep.port);
  if (int rc = getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &res);
      rc != 0) {
    error = ep.host + ": " + gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (auto* ai = res; ai != nullptr; ai = ai->ai_next) {
    fd = socket(ai->ai_family,
                ai->ai_socktype | SOCK_CLOEXEC |
                    (nonblocking ? SOCK_NONBLOCK : 0),
                ai->ai_protocol);
    if (fd < 0)
      continue;
    // Requests are small and latency is what we measure.
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
        (nonblocking && errno == EINPROGRESS))
      break;
    error = ep.host + ":" + port + ": " + std::strerror(errno);
    ::close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  return fd;
}

sync_client::~sync_client() {
  if (fd_ >= 0)
    ::close(fd_);
}

bool sync_client::connect(const endpoint& ep, int32_t session_timeout_ms,
                          std::string& error) {
  fd_ = connect_tcp(ep, false, error);
  if (fd_ < 0)
    return false;
  // Setup talks to a live server; a stuck one should not hang the bench.
  timeval tv{30, 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::vector<char> out;
  append_connect(out, session_timeout_ms);
  if (!send_all(out, error) || !read_frame(error))
    return false;
  wire::connect_response rsp;
  if (!wire::decode(frame_, rsp) || rsp.timeout <= 0 || rsp.session_id == 0) {
    error = "the server refused the session";
    return false;
  }
  return true;
}

bool sync_client::send_all(const std::vector<char>& buf, std::string& error) {
  size_t off = 0;
  while (off < buf.size()) {
    auto n = ::send(fd_, buf.data() + off, buf.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      error = std::string("send: ") + std::strerror(errno);
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

bool sync_client::read_frame(std::string& error) {
  auto need = [&](size_t n) {
    while (in_end_ - in_begin_ < n) {
      if (in_begin_ > 0) {
        std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
        in_end_ -= in_begin_;
        in_begin_ = 0;
      }
      if (in_.size() < std::max<size_t>(n, 65536))
        in_.resize(std::max<size_t>(n, 65536));
      auto got = ::recv(fd_, in_.data() + in_end_, in_.size() - in_end_, 0);
      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0) {
        error = got == 0 ? "the server closed the connection"
                         : std::string("recv: ") + std::strerror(errno);
        return false;
      }
      in_end_ += static_cast<size_t>(got);
    }
    return true;
  };
  if (!need(4))
    return false;
  auto* p = reinterpret_cast<const unsigned char*>(in_.data() + in_begin_);
  auto len =
      static_cast<int32_t>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
                           (uint32_t{p[2]} << 8) | uint32_t{p[3]});
  if (len < 0 || len > max_reply_frame) {
    error = "bad frame length " + std::to_string(len);
    return false;
  }
  if (!need(4 + static_cast<size_t>(len)))
    return false;
  frame_.assign(in_.data() + in_begin_ + 4, static_cast<size_t>(len));
  in_begin_ += 4 + static_cast<size_t>(len);
  return true;
}

bool sync_client::pipeline(
    size_t n, size_t window,
    const std::function<void(size_t, int32_t, std::vector<char>&)>& encode,
    const std::function<void(size_t, const reply&)>& on_reply,
    std::string& error) {
  if (window == 0)
    window = 1;
  std::deque<std::pair<size_t, int32_t>> in_flight; // (index, xid)
  std::vector<char> out;
  size_t next = 0;
  while (next < n || !in_flight.empty()) {
    // Refill the window in one write; the window is small enough that the
    // replies fit in the socket buffers, so a blocking send cannot deadlock.
    out.clear();
    while (next < n && in_flight.size() < window) {
      auto xid = next_xid_++;
      encode(next, xid, out);
      in_flight.emplace_back(next, xid);
      ++next;
    }
    if (!out.empty() && !send_all(out, error))
      return false;
    // Then take replies until half the window is free (or all of them at
    // the end), so requests go out in batches.
    do {
      if (!read_frame(error))
        return false;
      reply rep;
      if (!parse_reply(frame_, rep)) {
        error = "undecodable reply";
        return false;
      }
      if (rep.xid == wire::xid::notification || rep.xid == wire::xid::ping)
        continue;
      if (in_flight.empty() || rep.xid != in_flight.front().second) {
        error = "reply out of order (xid " + std::to_string(rep.xid) + ")";
        return false;
      }
      on_reply(in_flight.front().first, rep);
      in_flight.pop_front();
    } while (!in_flight.empty() &&
             (next >= n || in_flight.size() > window / 2));
  }
  return true;
}

int32_t sync_client::call(
    const std::function<void(int32_t, std::vector<char>&)>& encode,
    std::string& error) {
  int32_t result = static_cast<int32_t>(wire::err::connection_loss);
  bool ok = pipeline(
      1, 1,
      [&](size_t, int32_t xid, std::vector<char>& out) { encode(xid, out); },
      [&](size_t, const reply& r) { result = r.err; }, error);
  return ok ? result : static_cast<int32_t>(wire::err::connection_loss);
}

void sync_client::close() {
  if (fd_ < 0)
    return;
  std::vector<char> out;
  append_request(out, next_xid_++, wire::op::close_session);
  std::string ignored;
  if (send_all(out, ignored))
    read_frame(ignored); // the reply, or the server closing first
  ::close(fd_);
  fd_ = -1;
}

} // namespace zkd::tools::bench
