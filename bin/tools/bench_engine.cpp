#include "bin/tools/bench_engine.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bin/tools/bench_proto.hpp"

namespace zkd::tools::bench {

std::string node_name(const std::string& dir, const std::string& token,
                      uint32_t session, uint64_t seq) {
  std::string s;
  s.reserve(dir.size() + token.size() + 24);
  s += dir;
  s += '/';
  s += token;
  s += '-';
  s += std::to_string(session);
  s += '-';
  s += std::to_string(seq);
  return s;
}

namespace {

constexpr int64_t ms = 1000000; // ns
// How long the run waits for replies after it stops issuing, and for
// closeSession replies after that.
constexpr int64_t drain_timeout_ns = 10000 * ms;
constexpr int64_t close_timeout_ns = 3000 * ms;
constexpr int64_t connect_timeout_ns = 20000 * ms;

constexpr auto err_ok = 0;
constexpr auto err_connection_loss =
    static_cast<int32_t>(wire::err::connection_loss);
constexpr auto err_operation_timeout =
    static_cast<int32_t>(wire::err::operation_timeout);
constexpr auto err_marshalling =
    static_cast<int32_t>(wire::err::marshalling_error);

enum class phase : int { connect, warmup, measure, drain, abort };

enum class op_kind : uint8_t {
  create,      // create or multi create: success leaves nodes
  plain,       // set, get, exists, multi set, ephemeral delete
  eph_create,  // ephemeral create: the slot deletes the node next
  watch_write, // the writer's setData of a watch round
  rearm,       // a watcher's getData with watch after a notification
  sync,        // connect phase: the first request of a session
  arm,         // connect phase: a watcher's first getData with watch
  close,       // closeSession
};

struct pending_op {
  int64_t sent_ns = 0;
  int32_t xid = 0;
  uint32_t slot = 0;
  op_kind kind = op_kind::plain;
  bool measured = false;
  bool is_multi = false;
};

enum class sess_state { connecting, syncing, arming, ready, closing, done };

struct slot_state {
  bool delete_next = false; // ephemeral: this slot's node exists
  std::string path;
};

struct session {
  uint32_t index = 0; // among all sessions
  uint32_t local = 0; // in its worker: the epoll tag
  int fd = -1;
  sess_state st = sess_state::connecting;
  bool connected = false; // the TCP connection is established
  std::vector<char> out;
  size_t out_sent = 0;
  std::vector<char> in;
  size_t in_begin = 0;
  size_t in_end = 0;
  std::deque<pending_op> pending;
  size_t unstamped = 0; // requests at the back of pending not yet sent
  int32_t next_xid = 1;
  int64_t ping_every_ns = 0;
  int64_t last_send_ns = 0;
  uint64_t next_seq = 0;
  std::vector<slot_state> slots;
  std::vector<uint32_t> free_slots;
  bool dirty = false;
  bool want_out = false;
  bool writer = false;
  bool watcher = false;
};

// State every worker reads; the watch round is coordinated through it.
struct shared {
  shared(const options& o, const plan& p) : o(o), p(p) {
    // nop
  }
  const options& o;
  const plan& p;
  std::atomic<int> ph{static_cast<int>(phase::connect)};
  std::atomic<uint64_t> budget{0}; // measured ops claimed (--ops)
  std::atomic<uint32_t> ready{0};
  std::atomic<uint32_t> failed{0};
  std::mutex error_mtx;
  std::string first_error;
  // watch
  uint32_t watchers = 0;
  std::atomic<uint32_t> armed{0};
  std::atomic<uint32_t> notified{0};
  std::atomic<int64_t> round_t0{0};
  std::atomic<bool> round_measured{false};
  std::atomic<bool> round_open{false};
  int wake_fd = -1; // eventfd in the writer's epoll set

  phase current() const {
    return static_cast<phase>(ph.load(std::memory_order_acquire));
  }

  void set_error(const std::string& e) {
    std::lock_guard<std::mutex> guard{error_mtx};
    if (first_error.empty())
      first_error = e;
  }

  void wake_writer() {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
  }
};

double thread_cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

class worker {
public:
  worker(shared& sh, std::vector<uint32_t> indices) : sh_(sh), o_(sh.o) {
    for (auto i : indices) {
      auto s = std::make_unique<session>();
      s->index = i;
      s->local = static_cast<uint32_t>(sessions_.size());
      s->writer = o_.load == workload::watch && i == 0;
      s->watcher = o_.load == workload::watch && i != 0;
      auto slots = o_.load == workload::watch ? 1u : o_.outstanding;
      s->slots.resize(slots);
      for (uint32_t k = slots; k > 0; --k)
        s->free_slots.push_back(k - 1);
      s->in.resize(16384);
      sessions_.push_back(std::move(s));
    }
    uint64_t x = o_.seed * 0x9E3779B97F4A7C15ull + indices.front() + 1;
    rng_ = x ? x : 1;
    create_req_.data = sh.p.data;
    create_req_.acl = open_acl();
    eph_req_.data = sh.p.data;
    eph_req_.acl = open_acl();
    eph_req_.flags = static_cast<int32_t>(wire::create_mode::ephemeral);
    set_req_.data = sh.p.data;
    if (o_.load == workload::multi) {
      multi_.hdr.type = wire::op::multi;
      wire::multi_request m;
      for (uint32_t k = 0; k < o_.multi_size; ++k) {
        if (o_.multi_op == multi_kind::set)
          m.ops.push_back(wire::multi_op{wire::op::set_data, set_req_});
        else
          m.ops.push_back(wire::multi_op{wire::op::create, create_req_});
      }
      multi_.body = std::move(m);
    }
  }

  void run();

  // Results, read after join.
  latency_histogram hist;
  latency_histogram fanout;
  latency_histogram write_hist;
  uint64_t successes = 0;
  uint64_t rounds = 0;
  uint64_t created = 0;
  std::map<int32_t, uint64_t> errors;
  int64_t last_completion_ns = 0;
  double cpu_s = 0;
  std::vector<std::unique_ptr<session>> sessions_;

private:
  bool alive(const session& s) const {
    return s.fd >= 0 && s.st != sess_state::done;
  }

  uint64_t next_random() noexcept {
    // xorshift64*: cheap and good enough to pick keys.
    rng_ ^= rng_ >> 12;
    rng_ ^= rng_ << 25;
    rng_ ^= rng_ >> 27;
    return rng_ * 0x2545F4914F6CDD1Dull;
  }

  const std::string& random_key() {
    return sh_.p.keys[next_random() % sh_.p.keys.size()];
  }

  void start_connect(session& s);
  void on_event(session& s, uint32_t events);
  void on_readable(session& s);
  void on_frame(session& s, std::string_view payload);
  void on_reply(session& s, const reply& rep);
  void on_notification(session& s, const reply& rep);
  void fail(session& s, const std::string& why);
  void mark_dirty(session& s);
  void flush(session& s);
  void set_want_out(session& s, bool on);
  void push(session& s, int32_t xid, uint32_t slot, op_kind kind, bool measured,
            bool is_multi = false);

  // Claims `n` measured ops of the budget, or says why not: false = stop.
  bool may_issue(uint32_t n, bool& measured);
  void issue(session& s, uint32_t slot, bool measured);
  void top_up(session& s);
  void maybe_start_round(session& s);
  void count_error(int32_t code, bool measured) {
    if (measured)
      ++errors[code];
  }
  void begin_close(int64_t now);
  bool workload_idle() const;

  shared& sh_;
  const options& o_;
  int epfd_ = -1;
  uint64_t rng_ = 1;
  std::vector<session*> dirty_;
  wire::create_request create_req_;
  wire::create_request eph_req_;
  wire::set_data_request set_req_;
  wire::get_data_request get_req_;
  wire::exists_request exists_req_;
  wire::delete_request del_req_;
  wire::request multi_;
  // watch writer
  bool round_open_ = false;
  bool round_reply_seen_ = false;
  bool this_round_measured_ = false;
  bool closing_ = false;
  int64_t close_deadline_ = 0;
  int64_t drain_deadline_ = 0;
};

void worker::set_want_out(session& s, bool on) {
  if (s.want_out == on || s.fd < 0)
    return;
  s.want_out = on;
  epoll_event ev{};
  ev.events = on ? EPOLLIN | EPOLLOUT : EPOLLIN;
  ev.data.u32 = s.local;
  epoll_ctl(epfd_, EPOLL_CTL_MOD, s.fd, &ev);
}

void worker::mark_dirty(session& s) {
  if (!s.dirty) {
    s.dirty = true;
    dirty_.push_back(&s);
  }
}

void worker::push(session& s, int32_t xid, uint32_t slot, op_kind kind,
                  bool measured, bool is_multi) {
  pending_op op;
  op.xid = xid;
  op.slot = slot;
  op.kind = kind;
  op.measured = measured;
  op.is_multi = is_multi;
  s.pending.push_back(op);
  ++s.unstamped;
  mark_dirty(s);
}

void worker::flush(session& s) {
  if (!alive(s) || !s.connected || s.out_sent >= s.out.size())
    return;
  auto now = now_ns();
  // A request's latency starts when it is handed to the kernel.
  for (size_t k = s.pending.size() - s.unstamped; k < s.pending.size(); ++k)
    s.pending[k].sent_ns = now;
  s.unstamped = 0;
  while (s.out_sent < s.out.size()) {
    auto n = ::send(s.fd, s.out.data() + s.out_sent, s.out.size() - s.out_sent,
                    MSG_NOSIGNAL);
    if (n > 0) {
      s.out_sent += static_cast<size_t>(n);
      s.last_send_ns = now;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      set_want_out(s, true);
      return;
    }
    fail(s, std::string("send: ") + std::strerror(errno));
    return;
  }
  s.out.clear();
  s.out_sent = 0;
  set_want_out(s, false);
}

void worker::fail(session& s, const std::string& why) {
  if (s.fd < 0)
    return;
  bool connecting = s.st == sess_state::connecting ||
                    s.st == sess_state::syncing || s.st == sess_state::arming;
  if (s.st != sess_state::closing && s.st != sess_state::done) {
    if (connecting) {
      sh_.failed.fetch_add(1);
      sh_.set_error("session " + std::to_string(s.index) + ": " + why);
    } else {
      std::cerr << "zkd bench: session " << s.index << " lost: " << why << "\n";
    }
    for (auto& op : s.pending)
      if (op.kind != op_kind::close)
        count_error(err_connection_loss, op.measured);
  }
  s.pending.clear();
  s.unstamped = 0;
  ::close(s.fd);
  s.fd = -1;
  s.st = sess_state::done;
}

void worker::start_connect(session& s) {
  std::string error;
  auto& ep = o_.hosts[s.index % o_.hosts.size()];
  s.fd = connect_tcp(ep, true, error);
  if (s.fd < 0) {
    s.st = sess_state::done;
    sh_.failed.fetch_add(1);
    sh_.set_error("session " + std::to_string(s.index) + ": " + error);
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT; // EPOLLOUT: the connection is established
  s.want_out = true;
  ev.data.u32 = s.local;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, s.fd, &ev);
  append_connect(s.out, o_.session_timeout_ms);
}

void worker::on_event(session& s, uint32_t events) {
  if (!alive(s))
    return;
  if (!s.connected && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      fail(s, std::string("connect: ") + std::strerror(err));
      return;
    }
    s.connected = true;
    mark_dirty(s);
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
    on_readable(s);
  if (alive(s) && (events & EPOLLOUT))
    mark_dirty(s);
}

void worker::on_readable(session& s) {
  for (int rounds = 0; rounds < 8 && alive(s); ++rounds) {
    if (s.in_end == s.in.size()) {
      if (s.in_begin > 0) {
        std::memmove(s.in.data(), s.in.data() + s.in_begin,
                     s.in_end - s.in_begin);
        s.in_end -= s.in_begin;
        s.in_begin = 0;
      } else {
        s.in.resize(s.in.size() * 2);
      }
    }
    auto space = s.in.size() - s.in_end;
    auto n = ::recv(s.fd, s.in.data() + s.in_end, space, 0);
    if (n == 0) {
      if (s.st == sess_state::closing)
        fail(s, "closed"); // the server closes after closeSession
      else
        fail(s, "the server closed the connection");
      return;
    }
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return;
      fail(s, std::string("recv: ") + std::strerror(errno));
      return;
    }
    s.in_end += static_cast<size_t>(n);
    while (alive(s) && s.in_end - s.in_begin >= 4) {
      auto* p =
          reinterpret_cast<const unsigned char*>(s.in.data() + s.in_begin);
      auto len =
          static_cast<int32_t>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
                               (uint32_t{p[2]} << 8) | uint32_t{p[3]});
      if (len < 0 || len > max_reply_frame) {
        fail(s, "bad frame length " + std::to_string(len));
        return;
      }
      auto total = 4 + static_cast<size_t>(len);
      if (s.in_end - s.in_begin < total) {
        if (total > s.in.size())
          s.in.resize(total);
        break;
      }
      on_frame(s, std::string_view{s.in.data() + s.in_begin + 4,
                                   static_cast<size_t>(len)});
      s.in_begin += total;
    }
    if (s.in_begin == s.in_end)
      s.in_begin = s.in_end = 0;
    if (static_cast<size_t>(n) < space)
      return; // the socket is drained
  }
}

void worker::on_frame(session& s, std::string_view payload) {
  if (s.st == sess_state::connecting) {
    wire::connect_response rsp;
    if (!wire::decode(payload, rsp) || rsp.timeout <= 0 ||
        rsp.session_id == 0) {
      fail(s, "the server refused the session");
      return;
    }
    s.ping_every_ns = int64_t{rsp.timeout} * ms / 3;
    // A sync first: with several servers, every session then sees what
    // setup created through server 0.
    s.st = sess_state::syncing;
    auto xid = s.next_xid++;
    append_request(s.out, xid, wire::op::sync, wire::sync_request{o_.prefix});
    push(s, xid, 0, op_kind::sync, false);
    return;
  }
  reply rep;
  if (!parse_reply(payload, rep)) {
    fail(s, "undecodable reply");
    return;
  }
  if (rep.xid == wire::xid::notification) {
    on_notification(s, rep);
    return;
  }
  if (rep.xid == wire::xid::ping)
    return;
  if (s.pending.empty() || s.pending.front().xid != rep.xid) {
    fail(s, "reply for xid " + std::to_string(rep.xid) + " out of order");
    return;
  }
  on_reply(s, rep);
}

void worker::on_reply(session& s, const reply& rep) {
  auto op = s.pending.front();
  s.pending.pop_front();
  if (s.unstamped > s.pending.size())
    s.unstamped = s.pending.size();
  auto now = now_ns();
  auto latency = static_cast<uint64_t>(std::max<int64_t>(0, now - op.sent_ns));
  switch (op.kind) {
  case op_kind::sync:
    if (rep.err != err_ok) {
      fail(s, "sync failed: " + code_name(rep.err));
      return;
    }
    if (s.watcher) {
      s.st = sess_state::arming;
      auto xid = s.next_xid++;
      get_req_.path = sh_.p.watch_path;
      get_req_.watch = true;
      append_request(s.out, xid, wire::op::get_data, get_req_);
      push(s, xid, 0, op_kind::arm, false);
      return;
    }
    s.st = sess_state::ready;
    sh_.ready.fetch_add(1);
    return;
  case op_kind::arm:
    if (rep.err != err_ok) {
      fail(s, "getData with watch failed: " + code_name(rep.err));
      return;
    }
    s.st = sess_state::ready;
    sh_.armed.fetch_add(1);
    sh_.ready.fetch_add(1);
    return;
  case op_kind::close:
    ::close(s.fd);
    s.fd = -1;
    s.st = sess_state::done;
    return;
  case op_kind::rearm:
    if (rep.err != err_ok)
      count_error(rep.err, op.measured);
    if (sh_.armed.fetch_add(1) + 1 == sh_.watchers)
      sh_.wake_writer();
    return;
  case op_kind::watch_write:
    round_reply_seen_ = true;
    if (op.measured)
      write_hist.record(latency);
    if (rep.err != err_ok) {
      count_error(rep.err, op.measured);
      // No watch fired: every watcher is still armed.
      sh_.armed.store(sh_.watchers);
    }
    return;
  default:
    break;
  }
  int32_t outcome = rep.err;
  if (outcome == err_ok && op.is_multi)
    outcome = multi_outcome(rep.body);
  if (outcome == err_ok) {
    if (op.kind == op_kind::create)
      created += op.is_multi ? o_.multi_size : 1;
    if (op.measured) {
      ++successes;
      hist.record(latency);
    }
  } else {
    count_error(outcome, op.measured);
  }
  if (op.measured)
    last_completion_ns = now;
  auto& slot = s.slots[op.slot];
  slot.delete_next = op.kind == op_kind::eph_create && outcome == err_ok;
  bool measured = false;
  if (s.st == sess_state::ready && may_issue(1, measured))
    issue(s, op.slot, measured);
  else
    s.free_slots.push_back(op.slot);
}

void worker::on_notification(session& s, const reply& rep) {
  wire::watcher_event ev;
  if (!wire::decode(rep.body, ev)) {
    fail(s, "undecodable watch event");
    return;
  }
  if (!s.watcher ||
      ev.type != static_cast<int32_t>(wire::event_type::node_data_changed) ||
      ev.path != sh_.p.watch_path)
    return; // state events and the like
  auto now = now_ns();
  auto latency =
      static_cast<uint64_t>(std::max<int64_t>(0, now - sh_.round_t0.load()));
  bool measured = sh_.round_measured.load();
  auto n = sh_.notified.fetch_add(1) + 1;
  if (measured) {
    ++successes;
    hist.record(latency);
    last_completion_ns = now;
    if (n == sh_.watchers)
      fanout.record(latency);
  }
  auto xid = s.next_xid++;
  get_req_.path = sh_.p.watch_path;
  get_req_.watch = true;
  append_request(s.out, xid, wire::op::get_data, get_req_);
  push(s, xid, 0, op_kind::rearm, measured);
}

bool worker::may_issue(uint32_t n, bool& measured) {
  switch (sh_.current()) {
  case phase::warmup:
    measured = false;
    return true;
  case phase::measure:
    measured = true;
    if (o_.ops == 0)
      return true;
    return sh_.budget.fetch_add(n) < o_.ops;
  default:
    return false;
  }
}

void worker::issue(session& s, uint32_t slot, bool measured) {
  auto xid = s.next_xid++;
  auto& p = sh_.p;
  auto set_or_get = [&](bool read) {
    if (read) {
      get_req_.path = random_key();
      get_req_.watch = false;
      append_request(s.out, xid, wire::op::get_data, get_req_);
    } else {
      set_req_.path = random_key();
      append_request(s.out, xid, wire::op::set_data, set_req_);
    }
    push(s, xid, slot, op_kind::plain, measured);
  };
  switch (o_.load) {
  case workload::create:
    create_req_.path = node_name(p.create_dir, p.token, s.index, s.next_seq++);
    append_request(s.out, xid, wire::op::create, create_req_);
    push(s, xid, slot, op_kind::create, measured);
    return;
  case workload::set:
    set_or_get(false);
    return;
  case workload::get:
    set_or_get(true);
    return;
  case workload::mixed:
    set_or_get(next_random() % 100 < o_.read_pct);
    return;
  case workload::exists:
    exists_req_.path = random_key();
    append_request(s.out, xid, wire::op::exists, exists_req_);
    push(s, xid, slot, op_kind::plain, measured);
    return;
  case workload::ephemeral: {
    auto& st = s.slots[slot];
    if (st.delete_next) {
      del_req_.path = st.path;
      append_request(s.out, xid, wire::op::remove, del_req_);
      push(s, xid, slot, op_kind::plain, measured);
    } else {
      st.path = node_name(p.eph_dir, p.token, s.index, s.next_seq++);
      eph_req_.path = st.path;
      append_request(s.out, xid, wire::op::create, eph_req_);
      push(s, xid, slot, op_kind::eph_create, measured);
    }
    return;
  }
  case workload::multi: {
    multi_.hdr.xid = xid;
    auto& m = std::get<wire::multi_request>(multi_.body);
    for (auto& op : m.ops) {
      if (auto* set = std::get_if<wire::set_data_request>(&op.body))
        set->path = random_key();
      else if (auto* cr = std::get_if<wire::create_request>(&op.body))
        cr->path = node_name(p.create_dir, p.token, s.index, s.next_seq++);
    }
    append_request(s.out, multi_);
    push(s, xid, slot,
         o_.multi_op == multi_kind::create ? op_kind::create : op_kind::plain,
         measured, true);
    return;
  }
  case workload::watch:
    return; // rounds are driven by maybe_start_round
  }
}

void worker::top_up(session& s) {
  if (s.st != sess_state::ready || o_.load == workload::watch)
    return;
  while (!s.free_slots.empty()) {
    bool measured = false;
    if (!may_issue(1, measured))
      return;
    auto slot = s.free_slots.back();
    s.free_slots.pop_back();
    issue(s, slot, measured);
  }
}

void worker::maybe_start_round(session& s) {
  if (!alive(s) || s.st != sess_state::ready)
    return;
  if (round_open_) {
    if (!round_reply_seen_ || sh_.armed.load() < sh_.watchers)
      return;
    // Every watcher was notified and has its watch back.
    if (this_round_measured_)
      ++rounds;
    round_open_ = false;
    sh_.round_open.store(false);
  }
  if (sh_.armed.load() < sh_.watchers)
    return;
  bool measured = false;
  if (!may_issue(sh_.watchers, measured))
    return;
  sh_.armed.store(0);
  sh_.notified.store(0);
  sh_.round_measured.store(measured);
  sh_.round_open.store(true);
  round_open_ = true;
  round_reply_seen_ = false;
  this_round_measured_ = measured;
  auto xid = s.next_xid++;
  set_req_.path = sh_.p.watch_path;
  append_request(s.out, xid, wire::op::set_data, set_req_);
  push(s, xid, 0, op_kind::watch_write, measured);
  // The round's clock starts when the write goes out; flush at once so the
  // watchers cannot hear of it first.
  sh_.round_t0.store(now_ns());
  flush(s);
}

bool worker::workload_idle() const {
  for (auto& s : sessions_)
    if (alive(*s) && !s->pending.empty())
      return false;
  if (o_.load == workload::watch && sh_.round_open.load())
    return false;
  return true;
}

void worker::begin_close(int64_t now) {
  closing_ = true;
  close_deadline_ = now + close_timeout_ns;
  for (auto& sp : sessions_) {
    auto& s = *sp;
    if (!alive(s))
      continue;
    // Whatever is still unanswered will not be waited for.
    for (auto& op : s.pending)
      count_error(err_operation_timeout, op.measured);
    if (!s.pending.empty()) {
      // Replies may still come in for those; a session with a muddled reply
      // stream is not worth a closeSession.
      s.pending.clear();
      s.unstamped = 0;
      ::close(s.fd);
      s.fd = -1;
      s.st = sess_state::done;
      continue;
    }
    s.st = sess_state::closing;
    auto xid = s.next_xid++;
    append_request(s.out, xid, wire::op::close_session);
    push(s, xid, 0, op_kind::close, false);
  }
}

void worker::run() {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  constexpr uint32_t wake_tag = UINT32_MAX;
  session* writer = nullptr;
  for (auto& s : sessions_)
    if (s->writer)
      writer = s.get();
  if (writer != nullptr) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = wake_tag;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, sh_.wake_fd, &ev);
  }
  for (auto& s : sessions_)
    start_connect(*s);
  auto connect_deadline = now_ns() + connect_timeout_ns;
  auto last = phase::connect;
  double cpu_start = 0;
  bool cpu_started = false;
  std::vector<epoll_event> events(256);
  for (;;) {
    int n =
        epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), 5);
    for (int k = 0; k < n; ++k) {
      if (events[k].data.u32 == wake_tag) {
        uint64_t v;
        [[maybe_unused]] auto r = ::read(sh_.wake_fd, &v, sizeof v);
        continue;
      }
      on_event(*sessions_[events[k].data.u32], events[k].events);
    }
    auto now = now_ns();
    auto ph = sh_.current();
    if (ph == phase::abort)
      break;
    if (ph == phase::connect && now > connect_deadline) {
      for (auto& s : sessions_)
        if (alive(*s) && s->st != sess_state::ready)
          fail(*s, "no session within the connect timeout");
    }
    if (ph != last) {
      if (ph == phase::measure || (ph == phase::drain && !cpu_started)) {
        cpu_start = thread_cpu_s();
        cpu_started = true;
      }
      last = ph;
      for (auto& s : sessions_)
        top_up(*s);
    }
    if (writer != nullptr && !closing_)
      maybe_start_round(*writer);
    for (auto& sp : sessions_) {
      auto& s = *sp;
      if (alive(s) && s.st == sess_state::ready && s.ping_every_ns > 0 &&
          now - s.last_send_ns > s.ping_every_ns && s.out.empty()) {
        append_request(s.out, wire::xid::ping, wire::op::ping);
        mark_dirty(s);
      }
    }
    for (auto* s : dirty_) {
      s->dirty = false;
      flush(*s);
    }
    dirty_.clear();
    bool any_alive = false;
    for (auto& s : sessions_)
      any_alive = any_alive || alive(*s);
    if (!any_alive && ph != phase::connect)
      break;
    if (closing_) {
      if (now > close_deadline_)
        break;
      continue;
    }
    bool stopped = ph == phase::drain || (ph == phase::measure && o_.ops != 0 &&
                                          sh_.budget.load() >= o_.ops);
    if (!stopped)
      continue;
    if (drain_deadline_ == 0)
      drain_deadline_ = now + drain_timeout_ns;
    if (workload_idle()) {
      begin_close(now);
    } else if (now > drain_deadline_) {
      if (writer != nullptr && round_open_ && this_round_measured_) {
        auto got = sh_.notified.load();
        if (got < sh_.watchers)
          errors[err_operation_timeout] += sh_.watchers - got;
      }
      sh_.round_open.store(false);
      begin_close(now);
    }
  }
  if (cpu_started)
    cpu_s = thread_cpu_s() - cpu_start;
  for (auto& s : sessions_)
    if (s->fd >= 0) {
      ::close(s->fd);
      s->fd = -1;
    }
  ::close(epfd_);
}

} // namespace

bool run_load(const options& o, const plan& p, report& r, run_output& out,
              std::string& error) {
  shared sh{o, p};
  sh.watchers = o.load == workload::watch ? o.sessions - 1 : 0;
  sh.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  std::vector<std::unique_ptr<worker>> workers;
  for (uint32_t t = 0; t < o.threads; ++t) {
    std::vector<uint32_t> mine;
    for (uint32_t i = t; i < o.sessions; i += o.threads)
      mine.push_back(i);
    workers.push_back(std::make_unique<worker>(sh, std::move(mine)));
  }
  std::vector<std::thread> threads;
  for (auto& w : workers)
    threads.emplace_back([&w] { w->run(); });
  auto join = [&] {
    for (auto& t : threads)
      t.join();
    ::close(sh.wake_fd);
  };
  auto sleep_s = [](double s) {
    std::this_thread::sleep_for(std::chrono::duration<double>(s));
  };
  // Connect phase: every session answered (or failed).
  while (sh.ready.load() + sh.failed.load() < o.sessions)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (sh.failed.load() > 0) {
    sh.ph.store(static_cast<int>(phase::abort));
    join();
    error =
        sh.first_error.empty() ? "sessions failed to connect" : sh.first_error;
    return false;
  }
  // The progress lines on stderr double as markers: compare.py samples the
  // servers' CPU time when it reads them.
  if (o.warmup_seconds > 0) {
    std::cerr << "zkd bench: warming up" << std::endl;
    sh.ph.store(static_cast<int>(phase::warmup));
    sleep_s(o.warmup_seconds);
  }
  std::cerr << "zkd bench: measuring" << std::endl;
  auto start = now_ns();
  sh.ph.store(static_cast<int>(phase::measure));
  if (o.ops == 0) {
    sleep_s(o.seconds);
    sh.ph.store(static_cast<int>(phase::drain));
  }
  join();
  std::cerr << "zkd bench: measured" << std::endl;
  int64_t last = 0;
  for (auto& w : workers) {
    r.latency.merge(w->hist);
    r.fanout.merge(w->fanout);
    r.write.merge(w->write_hist);
    r.successes += w->successes;
    r.rounds += w->rounds;
    r.created += w->created;
    r.client_cpu_s += w->cpu_s;
    for (auto& [code, count] : w->errors)
      r.errors[code_name(code)] += count;
    last = std::max(last, w->last_completion_ns);
  }
  r.elapsed_s = last > start ? static_cast<double>(last - start) / 1e9
                             : (o.ops == 0 ? o.seconds : 0.0);
  out.names_used.assign(o.sessions, 0);
  for (auto& w : workers)
    for (auto& s : w->sessions_)
      out.names_used[s->index] = s->next_seq;
  return true;
}

} // namespace zkd::tools::bench
