#include "actors/tracer/writer.hpp"

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

namespace zkd::tracer {

namespace {

// How often the writer looks for lines when it found none, and the queue
// length at which a trace point wakes it early. Polling keeps the trace
// points free of system calls; lines reach the file within about a poll
// interval.
constexpr auto poll_interval = std::chrono::milliseconds(10);
constexpr int64_t wake_at_lines = 16384;

// The writer outlives every trace point: it is created once and never
// destroyed, so a trace point that loaded the sink pointer just before
// stop() still pushes into a live object.
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
    running_ = true;
    thread_ = std::thread([this] { run(); });
    return {};
  }

  void push(std::string&& line) noexcept override {
    auto queued = queued_.load(std::memory_order_relaxed);
    if (queued >= max_queued_lines) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      pending_drops_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    auto* n = new item{nullptr, std::move(line)};
    queued_.fetch_add(1, std::memory_order_relaxed);
    auto* old = head_.load(std::memory_order_relaxed);
    do {
      n->next = old;
    } while (!head_.compare_exchange_weak(old, n, std::memory_order_release,
                                          std::memory_order_relaxed));
    pushed_.fetch_add(1, std::memory_order_release);
    // The writer polls; a trace point wakes it (a system call) only when
    // the queue is filling up, not once per line or per batch.
    if (queued + 1 == wake_at_lines)
      wake_.notify_one();
  }

  void drain() override { flush(); }

  void flush() {
    auto target = pushed_.load(std::memory_order_acquire);
    std::unique_lock<std::mutex> lk{mtx_};
    if (!running_)
      return;
    wake_.notify_one();
    done_.wait(lk, [&] { return handled_ >= target || !running_; });
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
    s.queued = queued_.load(std::memory_order_relaxed);
    std::lock_guard<std::mutex> guard{mtx_};
    s.written = written_;
    s.error = error_;
    return s;
  }

private:
  struct item {
    item* next;
    std::string line;
  };

  void run() {
    std::string buf;
    for (;;) {
      auto* list = head_.exchange(nullptr, std::memory_order_acquire);
      if (list == nullptr) {
        std::unique_lock<std::mutex> lk{mtx_};
        // Lines queued before close() set stopping_ are visible now: take
        // them too before leaving, or they would go to the next file.
        if (stopping_) {
          if (head_.load(std::memory_order_acquire) == nullptr)
            return;
          continue;
        }
        wake_.wait_for(lk, poll_interval, [&] {
          return stopping_ || head_.load(std::memory_order_relaxed) != nullptr;
        });
        continue;
      }
      // The list is newest first.
      item* ordered = nullptr;
      uint64_t n = 0;
      while (list != nullptr) {
        auto* next = list->next;
        list->next = ordered;
        ordered = list;
        list = next;
        ++n;
      }
      buf.clear();
      while (ordered != nullptr) {
        buf += ordered->line;
        auto* next = ordered->next;
        delete ordered;
        ordered = next;
      }
      if (auto d = pending_drops_.exchange(0, std::memory_order_relaxed))
        append_drop_note(buf, d);
      queued_.fetch_sub(static_cast<int64_t>(n), std::memory_order_relaxed);
      auto err = write_all(buf);
      std::lock_guard<std::mutex> guard{mtx_};
      if (err.empty()) {
        written_ += n;
      } else {
        error_ = std::move(err);
        dropped_.fetch_add(n, std::memory_order_relaxed);
      }
      handled_ += n;
      done_.notify_all();
    }
  }

  static void append_drop_note(std::string& buf, uint64_t count) {
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
    encode(e, buf);
  }

  std::string write_all(const std::string& buf) {
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

  std::atomic<item*> head_{nullptr};
  std::atomic<int64_t> queued_{0};
  std::atomic<uint64_t> pushed_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> pending_drops_{0};
  std::mutex mtx_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::thread thread_;
  bool stopping_ = false; // guarded by mtx_
  bool running_ = false;  // a thread is started and not joined; mtx_
  uint64_t handled_ = 0;  // pushed lines written or lost, guarded by mtx_
  uint64_t written_ = 0;  // guarded by mtx_
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
