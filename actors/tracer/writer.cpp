#include "actors/tracer/writer.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace zkd::tracer {

namespace {

// How often the writer collects events when nobody asked it to, and the size
// of a thread's queue at which a trace point wakes it early. Polling keeps
// the trace points free of system calls; lines reach the file within about
// a poll interval.
constexpr auto poll_interval = std::chrono::milliseconds(10);
constexpr size_t wake_at_bytes = size_t{4} << 20;
constexpr int writer_nice = 10;
constexpr size_t write_chunk_bytes = size_t{64} << 10;

// A growable byte array that, unlike std::string, does not zero what it
// grows by only to have it overwritten.
class byte_buffer {
public:
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const char* data() const { return data_.get(); }
  void clear() { size_ = 0; }

  // Room for `n` more bytes; commit(end) keeps what was written up to end.
  char* reserve_more(size_t n) {
    if (cap_ - size_ < n) {
      auto cap = std::max(cap_ * 2, size_ + n);
      std::unique_ptr<char[]> bigger{new char[cap]}; // not zeroed
      if (size_ != 0)
        std::memcpy(bigger.get(), data_.get(), size_);
      data_ = std::move(bigger);
      cap_ = cap;
    }
    return data_.get() + size_;
  }

  void commit(const char* end) {
    size_ = static_cast<size_t>(end - data_.get());
  }

  void append(const char* p, size_t n) {
    commit(detail::put(reserve_more(n), std::string_view{p, n}));
  }

  void swap(byte_buffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(cap_, other.cap_);
  }

private:
  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t cap_ = 0;
};

// An event as a trace point's thread queues it: a fixed header, the type,
// then each field. Copying bytes is all a trace point does; the writer
// formats the JSON on its own thread, so tracing takes little time from the
// actors' threads (the I/O thread serves every client).
struct packed_event {
  int64_t mono_ns;
  uint64_t from_id;
  uint64_t from_node;
  uint64_t to_id;
  uint64_t to_node;
  uint32_t size; // of the whole record
  uint8_t from_kind;
  uint8_t to_kind;
  uint8_t field_count;
  uint8_t pad = 0;
  uint32_t type_len;
};

struct packed_field {
  uint64_t num; // or the length of the string that follows
  uint8_t type;
  uint8_t name_len;
};

template <class T>
void store(char* at, T v) {
  std::memcpy(at, &v, sizeof(T));
}

// Appends `e` to `out`, stamped `mono_ns`. Field names longer than 255
// bytes are cut (names are identifiers in the source).
void pack(const event& e, int64_t mono_ns, byte_buffer& out) {
  size_t size = sizeof(packed_event) + e.type.size();
  uint8_t count = 0;
  for (size_t i = 0; i < e.field_count && count < 255; ++i) {
    auto& f = e.fields[i];
    if (f.v.kind() == value::type::none)
      continue;
    ++count;
    size += sizeof(packed_field) + std::min<size_t>(f.name.size(), 255);
    if (f.v.kind() == value::type::str)
      size += f.v.str().size();
  }
  // Member by member straight into the buffer: a header built on the
  // stack and copied whole stalls on store forwarding.
  char* p = out.reserve_more(size);
  store(p + offsetof(packed_event, mono_ns), mono_ns);
  store(p + offsetof(packed_event, from_id), e.from.id);
  store(p + offsetof(packed_event, from_node), e.from.node);
  store(p + offsetof(packed_event, to_id), e.to.id);
  store(p + offsetof(packed_event, to_node), e.to.node);
  store(p + offsetof(packed_event, size), static_cast<uint32_t>(size));
  store(p + offsetof(packed_event, from_kind), static_cast<uint8_t>(e.from.k));
  store(p + offsetof(packed_event, to_kind), static_cast<uint8_t>(e.to.k));
  store(p + offsetof(packed_event, field_count), count);
  store(p + offsetof(packed_event, type_len),
        static_cast<uint32_t>(e.type.size()));
  p = detail::put(p + sizeof(packed_event), e.type);
  uint8_t done = 0;
  for (size_t i = 0; i < e.field_count && done < count; ++i) {
    auto& f = e.fields[i];
    if (f.v.kind() == value::type::none)
      continue;
    ++done;
    auto name = f.name.substr(0, 255);
    uint64_t num;
    switch (f.v.kind()) {
    case value::type::i64:
      num = static_cast<uint64_t>(f.v.i64());
      break;
    case value::type::str:
      num = f.v.str().size();
      break;
    default:
      num = f.v.u64();
    }
    store(p + offsetof(packed_field, num), num);
    store(p + offsetof(packed_field, type), static_cast<uint8_t>(f.v.kind()));
    store(p + offsetof(packed_field, name_len),
          static_cast<uint8_t>(name.size()));
    p = detail::put(p + sizeof(packed_field), name);
    if (f.v.kind() == value::type::str)
      p = detail::put(p, f.v.str());
  }
  out.commit(p);
}

template <class T>
T load(const char* at) {
  T v;
  std::memcpy(&v, at, sizeof(T));
  return v;
}

// Room format_packed may need for the record at `rec` of `size` bytes: every
// byte escaped to six, plus the line's fixed part and each field's quotes,
// colon, comma and up to 20 digits (see encoded_size_bound).
size_t formatted_size_bound(size_t size) {
  return 384 + 8 * size;
}

// The trace line of the record at `rec`, written at `p` (room for
// formatted_size_bound bytes) straight from the packed bytes.
char* format_packed(const char* rec, int64_t wall_offset, uint64_t node,
                    char* p) {
  using ev = packed_event;
  auto mono_ns = load<int64_t>(rec + offsetof(ev, mono_ns));
  actor_ref from{
      static_cast<kind>(load<uint8_t>(rec + offsetof(ev, from_kind))),
      load<uint64_t>(rec + offsetof(ev, from_id)),
      load<uint64_t>(rec + offsetof(ev, from_node))};
  actor_ref to{static_cast<kind>(load<uint8_t>(rec + offsetof(ev, to_kind))),
               load<uint64_t>(rec + offsetof(ev, to_id)),
               load<uint64_t>(rec + offsetof(ev, to_node))};
  auto type_len = load<uint32_t>(rec + offsetof(ev, type_len));
  auto count = load<uint8_t>(rec + offsetof(ev, field_count));
  const char* q = rec + sizeof(ev);
  std::string_view type{q, type_len};
  q += type_len;
  return detail::put_line(
      p, mono_ns, mono_ns + wall_offset, node, from, to, type, [&](auto&& put) {
        for (uint8_t i = 0; i < count; ++i) {
          auto num = load<uint64_t>(q + offsetof(packed_field, num));
          auto t = static_cast<value::type>(
              load<uint8_t>(q + offsetof(packed_field, type)));
          auto name_len = load<uint8_t>(q + offsetof(packed_field, name_len));
          q += sizeof(packed_field);
          std::string_view name{q, name_len};
          q += name_len;
          std::string_view str;
          if (t == value::type::str) {
            str = std::string_view{q, static_cast<size_t>(num)};
            q += num;
          }
          put(name, t, num, str);
        }
      });
}

int64_t record_time(const char* p) {
  return load<int64_t>(p + offsetof(packed_event, mono_ns));
}

uint32_t record_size(const char* p) {
  return load<uint32_t>(p + offsetof(packed_event, size));
}

// A lock held for a few instructions at a time: a thread appending one
// event, or the writer swapping a queue out. Cheaper than a mutex when, as
// nearly always, nobody else holds it.
class spin_lock {
public:
  void lock() noexcept {
    int spins = 0;
    while (held_.exchange(true, std::memory_order_acquire)) {
      // The holder may have been preempted: let it run.
      if (++spins > 64)
        std::this_thread::yield();
    }
  }
  void unlock() noexcept { held_.store(false, std::memory_order_release); }

private:
  std::atomic<bool> held_{false};
};

// The events one thread recorded and the writer has not taken yet.
struct thread_queue {
  spin_lock mtx;
  byte_buffer bytes;  // packed events, oldest first; guarded by mtx
  uint64_t lines = 0; // events in bytes; guarded by mtx
  byte_buffer taken;  // the writer's: what it took last, kept for its capacity
  std::atomic<bool> orphaned{false}; // its thread has exited
};

// The writer outlives every trace point: it is created once and never
// destroyed, so a trace point that loaded the sink pointer just before
// stop() still records into a live object.
class file_writer final : public sink {
public:
  std::string open(const std::string& path) {
    int fd =
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
      return "cannot open trace file " + path + ": " + std::strerror(errno);
    close();
    std::lock_guard<std::mutex> guard{mtx_};
    fd_ = fd;
    path_ = path;
    error_.clear();
    stopping_ = false;
    flush_wanted_ = false;
    cutoff_done_ = std::numeric_limits<int64_t>::min();
    running_ = true;
    thread_ = std::thread([this] { run(); });
    return {};
  }

  void record(const event& e) noexcept override {
    auto& q = local_queue();
    std::unique_lock<spin_lock> guard{q.mtx};
    if (q.bytes.size() >= max_queued_bytes_per_thread) {
      guard.unlock();
      dropped_.fetch_add(1, std::memory_order_relaxed);
      pending_drops_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    // Stamped under the lock: the writer's cutoff relies on it (run()).
    auto before = q.bytes.size();
    pack(e, mono_now_ns(), q.bytes);
    ++q.lines;
    bool wake = before < wake_at_bytes && q.bytes.size() >= wake_at_bytes;
    guard.unlock();
    if (wake) {
      hurry_.store(true, std::memory_order_relaxed);
      wake_.notify_one();
    }
  }

  void drain() override { flush(); }

  void flush() {
    // Every event recorded before this call is stamped before `target`, so
    // it is written by the first round whose cutoff is later.
    auto target = mono_now_ns();
    std::unique_lock<std::mutex> lk{mtx_};
    if (!running_)
      return;
    flush_wanted_ = true;
    wake_.notify_one();
    done_.wait(lk, [&] { return cutoff_done_ > target || !running_; });
  }

  void close() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (!running_)
        return;
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
    std::lock_guard<std::mutex> guard{mtx_};
    running_ = false;
    ::close(fd_);
    fd_ = -1;
    path_.clear();
    done_.notify_all();
  }

  std::string path() {
    std::lock_guard<std::mutex> guard{mtx_};
    return path_;
  }

  writer_stats stats() {
    writer_stats s;
    s.dropped = dropped_.load(std::memory_order_relaxed);
    int64_t queued = 0;
    for (auto& q : queues()) {
      std::lock_guard<spin_lock> guard{q->mtx};
      queued += static_cast<int64_t>(q->lines);
    }
    std::lock_guard<std::mutex> guard{mtx_};
    s.queued = queued + static_cast<int64_t>(carried_lines_);
    s.written = written_;
    s.error = error_;
    return s;
  }

private:
  // One queue per thread that ever traced, registered on its first event.
  thread_queue& local_queue() {
    struct holder {
      std::shared_ptr<thread_queue> q;
      ~holder() {
        if (q)
          q->orphaned.store(true, std::memory_order_release);
      }
    };
    thread_local holder h;
    if (!h.q) {
      h.q = std::make_shared<thread_queue>();
      std::lock_guard<std::mutex> guard{registry_mtx_};
      registry_.push_back(h.q);
    }
    return *h.q;
  }

  std::vector<std::shared_ptr<thread_queue>> queues() {
    std::lock_guard<std::mutex> guard{registry_mtx_};
    return registry_;
  }

  // A round: take every thread's events stamped before a cutoff, merge them
  // by time and append them to the file as JSON lines. An event that lands
  // in a queue after the round read the cutoff can still be stamped before
  // it (the queues are taken one by one), which is why events are stamped
  // under their queue's lock: any event stamped before the cutoff is then
  // already queued when its queue is taken. Events stamped later wait in
  // `carry` for the next round, so the file is in time order.
  void run() {
    // Formatting is the bulk of tracing's cost; at a lower priority it
    // takes the time the actors leave over rather than theirs (queues
    // absorb a burst; a sustained shortfall drops events, counted).
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)),
                  writer_nice);
    byte_buffer out;
    byte_buffer carry;
    byte_buffer next_carry;
    struct ref {
      int64_t mono_ns;
      const char* p;
    };
    std::vector<ref> refs;
    for (;;) {
      bool last;
      {
        std::unique_lock<std::mutex> lk{mtx_};
        wake_.wait_for(lk, poll_interval, [&] {
          return stopping_ || flush_wanted_ ||
                 hurry_.load(std::memory_order_relaxed);
        });
        flush_wanted_ = false;
        hurry_.store(false, std::memory_order_relaxed);
        last = stopping_;
      }
      auto cutoff = last ? std::numeric_limits<int64_t>::max() : mono_now_ns();
      // Wall time from the monotonic stamp: one clock read per event
      // instead of two. Off by at most a clock step within one poll.
      auto wall_offset = wall_now_ns() - mono_now_ns();
      auto qs = queues();
      uint64_t taken_lines = carried_lines_;
      refs.clear();
      auto collect = [&](const byte_buffer& chunk) {
        for (size_t off = 0; off < chunk.size();
             off += record_size(chunk.data() + off))
          refs.push_back(
              ref{record_time(chunk.data() + off), chunk.data() + off});
      };
      collect(carry);
      for (auto& q : qs) {
        q->taken.clear();
        {
          std::lock_guard<spin_lock> guard{q->mtx};
          q->bytes.swap(q->taken);
          taken_lines += q->lines;
          q->lines = 0;
        }
        collect(q->taken);
      }
      // Each queue is in time order already; a stable sort keeps a
      // thread's events of equal stamps in the order it recorded them.
      std::stable_sort(
          refs.begin(), refs.end(),
          [](const ref& a, const ref& b) { return a.mono_ns < b.mono_ns; });
      // Written in pieces small enough to stay in the cache between
      // formatting and the kernel's copy.
      uint64_t written = 0;
      uint64_t lost = 0;
      uint64_t pending = 0; // lines in out
      std::string err;
      auto write_out = [&] {
        if (out.empty())
          return;
        if (err.empty())
          err = write_all(out);
        (err.empty() ? written : lost) += pending;
        pending = 0;
        out.clear();
      };
      next_carry.clear();
      auto node = detail::node_id.load(std::memory_order_relaxed);
      for (auto& r : refs) {
        auto size = record_size(r.p);
        if (r.mono_ns >= cutoff) {
          next_carry.append(r.p, size);
          continue;
        }
        out.commit(format_packed(r.p, wall_offset, node,
                                 out.reserve_more(formatted_size_bound(size))));
        ++pending;
        if (out.size() >= write_chunk_bytes)
          write_out();
      }
      carry.swap(next_carry);
      carried_lines_ = taken_lines - written - lost;
      if (auto d = pending_drops_.exchange(0, std::memory_order_relaxed))
        append_drop_note(out, d);
      write_out();
      drop_orphans();
      std::lock_guard<std::mutex> guard{mtx_};
      written_ += written;
      if (!err.empty())
        error_ = std::move(err);
      dropped_.fetch_add(lost, std::memory_order_relaxed);
      cutoff_done_ = cutoff;
      done_.notify_all();
      if (last)
        return;
    }
  }

  // Forgets the queues of threads that have exited once they are empty.
  void drop_orphans() {
    std::lock_guard<std::mutex> guard{registry_mtx_};
    registry_.erase(
        std::remove_if(registry_.begin(), registry_.end(),
                       [](const std::shared_ptr<thread_queue>& q) {
                         if (!q->orphaned.load(std::memory_order_acquire))
                           return false;
                         std::lock_guard<spin_lock> g{q->mtx};
                         return q->bytes.empty();
                       }),
        registry_.end());
  }

  static void append_drop_note(byte_buffer& buf, uint64_t count) {
    field f{"count", count};
    event e;
    e.mono_ns = mono_now_ns();
    e.wall_ns = wall_now_ns();
    e.node = detail::node_id.load(std::memory_order_relaxed);
    e.from = actor_ref{kind::peer, 0, 0};
    e.to = e.from;
    e.type = "trace_dropped";
    e.fields = &f;
    e.field_count = 1;
    buf.commit(encode_to(e, buf.reserve_more(encoded_size_bound(e))));
  }

  std::string write_all(const byte_buffer& buf) {
    size_t off = 0;
    while (off < buf.size()) {
      auto n = ::write(fd_, buf.data() + off, buf.size() - off);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        return "writing " + path_ + ": " + std::strerror(errno);
      }
      off += static_cast<size_t>(n);
    }
    return {};
  }

  std::mutex registry_mtx_;
  std::vector<std::shared_ptr<thread_queue>> registry_;
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> pending_drops_{0};
  // A queue is filling up. Set without the mutex: a wake-up lost to the
  // race costs at most one poll interval.
  std::atomic<bool> hurry_{false};
  uint64_t carried_lines_ = 0; // the writer thread's
  std::mutex mtx_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::thread thread_;
  bool stopping_ = false;     // guarded by mtx_
  bool flush_wanted_ = false; // guarded by mtx_
  bool running_ = false;      // a thread is started and not joined; mtx_
  int64_t cutoff_done_ = std::numeric_limits<int64_t>::min(); // mtx_
  uint64_t written_ = 0;                                      // guarded by mtx_
  int fd_ = -1;
  std::string path_;
  std::string error_;
};

file_writer& the_writer() {
  static auto* w = new file_writer;
  return *w;
}

// Serializes start / set_enabled / stop against each other.
std::mutex& control_mutex() {
  static auto* m = new std::mutex;
  return *m;
}

} // namespace

std::optional<mask_t> mask_of(const std::vector<std::string>& kinds,
                              std::string* unknown) {
  mask_t m = 0;
  for (auto& k : kinds) {
    if (k == "all" || k == "*") {
      m |= all_kinds;
      continue;
    }
    auto parsed = kind_from_name(k);
    if (!parsed || *parsed == kind::client) {
      if (unknown)
        *unknown = k;
      return std::nullopt;
    }
    m |= bit(*parsed);
  }
  return m;
}

std::vector<std::string> kinds_of(mask_t mask) {
  std::vector<std::string> out;
  for (size_t i = 0; i < switchable_kind_count; ++i)
    if (mask & bit(static_cast<kind>(i)))
      out.emplace_back(kind_names[i]);
  return out;
}

std::string start(uint64_t node, const std::string& file,
                  const std::vector<std::string>& kinds) {
  std::string unknown;
  auto m = mask_of(kinds, &unknown);
  if (!m)
    return "trace.actors: unknown actor kind '" + unknown + "'";
  std::lock_guard<std::mutex> guard{control_mutex()};
  detail::mask.store(0, std::memory_order_relaxed);
  if (file.empty()) {
    detail::current_sink.store(nullptr, std::memory_order_release);
    the_writer().close();
    if (*m != 0)
      return "trace.actors is set but trace.file is empty: there is nowhere "
             "to write the trace";
    return {};
  }
  detail::node_id.store(node, std::memory_order_relaxed);
  if (auto err = the_writer().open(file); !err.empty())
    return err;
  detail::current_sink.store(&the_writer(), std::memory_order_release);
  detail::mask.store(*m, std::memory_order_relaxed);
  return {};
}

std::string set_enabled(const std::vector<std::string>& kinds) {
  std::string unknown;
  auto m = mask_of(kinds, &unknown);
  if (!m)
    return "unknown actor kind '" + unknown + "'";
  std::lock_guard<std::mutex> guard{control_mutex()};
  if (*m != 0 && detail::current_sink.load() == nullptr)
    return "no trace file is open (set trace.file in the configuration)";
  detail::mask.store(*m, std::memory_order_relaxed);
  return {};
}

std::vector<std::string> enabled_kinds() {
  return kinds_of(enabled_mask());
}

std::string current_file() {
  return the_writer().path();
}

void flush() {
  the_writer().flush();
}

void stop() {
  std::lock_guard<std::mutex> guard{control_mutex()};
  detail::mask.store(0, std::memory_order_relaxed);
  detail::current_sink.store(nullptr, std::memory_order_release);
  the_writer().close();
}

writer_stats stats() {
  return the_writer().stats();
}

} // namespace zkd::tracer
