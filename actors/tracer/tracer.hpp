// Actor tracing: one JSON line per message between actors, written to the
// trace file by a thread of its own (writer.hpp).
//
// A trace point sits where a shell sends a message, so each message is
// traced once, by its sender. Inputs no actor of ours sent (client bytes,
// CAF's down and accept messages) are traced where they are received, with
// the outside party as the sender ("client#12" is the peer of connection#12).
//
//   ZKD_TRACE(leader, self->id(), txn_log, st.nd->txn_log.id(), "log_append",
//             {"zxid", tracer::hex{z}}, {"n", batch.entries.size()});
//
// The first four arguments are the sender's kind (an enumerator of
// tracer::kind, unqualified) and actor id, then the receiver's. The line is
// written when either kind is enabled. A disabled trace point costs one
// relaxed atomic load and a branch: the ids and fields are expressions
// inside the branch and are not evaluated, let alone formatted. The fields
// are listed as separate macro arguments because a braced list of pairs
// would be split at its commas by the preprocessor.
//
// ZKD_TRACE_TO_NODE names a receiver on another node, ZKD_TRACE_REFS takes
// kinds known only at run time, and ZKD_TRACE_TXNS (txn_summary.hpp) traces
// a batch of encoded txns by its zxids.
//
// Everything a shell calls is in this header (inline), so a shell compiled
// into a unit test without the tracer library still links: with no writer
// started, nothing is enabled and nothing is written.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace zkd::tracer {

// The actor kinds of config::actor_kinds(), in that order, and `client`: the
// other end of a client connection, which has no switch of its own (it is
// traced with the connection it talks to).
enum class kind : uint8_t {
  admin,
  client_listener,
  connection,
  datatree,
  election,
  follower,
  leader,
  learner_handler,
  observer,
  peer,
  session_tracker,
  snapshotter,
  txn_log,
  watch_dispatcher,
  client,
};

constexpr size_t kind_count = 15;
constexpr size_t switchable_kind_count = 14; // all but client

constexpr std::string_view kind_names[kind_count] = {
    "admin",    "client_listener",  "connection",
    "datatree", "election",         "follower",
    "leader",   "learner_handler",  "observer",
    "peer",     "session_tracker",  "snapshotter",
    "txn_log",  "watch_dispatcher", "client",
};

constexpr std::string_view name(kind k) {
  return kind_names[static_cast<size_t>(k)];
}

constexpr std::optional<kind> kind_from_name(std::string_view s) {
  for (size_t i = 0; i < kind_count; ++i)
    if (kind_names[i] == s)
      return static_cast<kind>(i);
  return std::nullopt;
}

using mask_t = uint32_t;

constexpr mask_t bit(kind k) {
  return k == kind::client ? 0 : mask_t{1} << static_cast<unsigned>(k);
}

constexpr mask_t all_kinds = (mask_t{1} << switchable_kind_count) - 1;

class sink;

namespace detail {

inline std::atomic<mask_t> mask{0};
inline std::atomic<sink*> current_sink{nullptr};
inline std::atomic<uint64_t> node_id{0};

} // namespace detail

// False in a build configured with -DZKD_TRACE_POINTS=OFF, which compiles
// every trace point away: the baseline against which the cost of a
// disabled trace point is measured (tests/bench/trace_cost.py).
#ifdef ZKD_NO_TRACE_POINTS
inline constexpr bool trace_points = false;
#else
inline constexpr bool trace_points = true;
#endif

// True if a message between kinds `a` and `b` is traced.
inline bool enabled(kind a, kind b) noexcept {
  return (detail::mask.load(std::memory_order_relaxed) & (bit(a) | bit(b))) !=
         0;
}

inline mask_t enabled_mask() noexcept {
  return detail::mask.load(std::memory_order_relaxed);
}

// An integer written as a JSON string "0x...", as ZooKeeper prints zxids and
// session ids (a session id does not fit a JavaScript number).
struct hex {
  uint64_t v = 0;
  hex() = default;
  template <class T, class = std::enable_if_t<std::is_integral_v<T>>>
  hex(T x) : v(static_cast<uint64_t>(x)) {}
};

// One field value. Strings are views: the trace point's arguments live until
// the line is encoded, at the end of the same statement.
class value {
public:
  enum class type : uint8_t { none, i64, u64, boolean, str, hex };

  value() = default; // none: the field is left out of the line
  value(std::nullopt_t) {}
  value(bool b) : type_(type::boolean), u_(b ? 1 : 0) {}
  template <class T, class = std::enable_if_t<std::is_integral_v<T> &&
                                              !std::is_same_v<T, bool>>>
  value(T x) {
    if constexpr (std::is_signed_v<T>) {
      type_ = type::i64;
      i_ = static_cast<int64_t>(x);
    } else {
      type_ = type::u64;
      u_ = static_cast<uint64_t>(x);
    }
  }
  value(struct hex h) : type_(type::hex), u_(h.v) {}
  value(std::string_view s) : type_(type::str), s_(s) {}
  value(const char* s) : type_(type::str), s_(s ? s : "") {}
  value(const std::string& s) : type_(type::str), s_(s) {}
  template <class T>
  value(const std::optional<T>& x) {
    if (x)
      *this = value(*x);
  }

  type kind() const { return type_; }
  int64_t i64() const { return i_; }
  uint64_t u64() const { return u_; }
  std::string_view str() const { return s_; }

private:
  type type_ = type::none;
  union {
    int64_t i_;
    uint64_t u_ = 0;
  };
  std::string_view s_;
};

struct field {
  std::string_view name;
  value v;
};

// An actor in a trace: kind and CAF actor id, plus the node it lives on when
// that is not the tracing node (0 = this node).
struct actor_ref {
  kind k = kind::peer;
  uint64_t id = 0;
  uint64_t node = 0;
};

// The id of a CAF handle (caf::actor, caf::actor_addr) for a trace line, 0
// for an invalid handle.
template <class Handle>
uint64_t id_of(const Handle& h) {
  return h ? static_cast<uint64_t>(h.id()) : 0;
}

// What one trace point produced.
struct event {
  int64_t mono_ns = 0; // steady clock (CLOCK_MONOTONIC)
  int64_t wall_ns = 0; // system clock, since the Unix epoch
  uint64_t node = 0;
  actor_ref from;
  actor_ref to;
  std::string_view type;
  const field* fields = nullptr;
  size_t field_count = 0;
};

// The encoders below write through a raw pointer into room reserved up
// front (a bound on what they can write), because the trace writer runs
// them for every line at hundreds of thousands of lines a second.
namespace detail {

constexpr char hex_digits[] = "0123456789abcdef";

inline char* put(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

// "00" "01" ... "99": two digits per division.
struct digit_pairs {
  char text[200];
  constexpr digit_pairs() : text{} {
    for (int i = 0; i < 100; ++i) {
      text[2 * i] = static_cast<char>('0' + i / 10);
      text[2 * i + 1] = static_cast<char>('0' + i % 10);
    }
  }
};

inline constexpr digit_pairs pairs{};

inline char* put_u64(char* p, uint64_t v) {
  char buf[20];
  char* end = buf + sizeof buf;
  char* q = end;
  while (v >= 100) {
    q -= 2;
    std::memcpy(q, pairs.text + 2 * (v % 100), 2);
    v /= 100;
  }
  if (v >= 10) {
    q -= 2;
    std::memcpy(q, pairs.text + 2 * v, 2);
  } else {
    *--q = static_cast<char>('0' + v);
  }
  auto n = static_cast<size_t>(end - q);
  std::memcpy(p, q, n);
  return p + n;
}

inline char* put_i64(char* p, int64_t v) {
  if (v >= 0)
    return put_u64(p, static_cast<uint64_t>(v));
  *p++ = '-';
  return put_u64(p, uint64_t{0} - static_cast<uint64_t>(v));
}

inline char* put_hex(char* p, uint64_t v) {
  *p++ = '0';
  *p++ = 'x';
  int shift = 60;
  while (shift > 0 && ((v >> shift) & 0xf) == 0)
    shift -= 4;
  for (; shift >= 0; shift -= 4)
    *p++ = hex_digits[(v >> shift) & 0xf];
  return p;
}

// The bytes a JSON string holds as they are: printable ASCII but the
// quote and the backslash.
struct plain_bytes {
  bool yes[256];
  constexpr plain_bytes() : yes{} {
    for (int c = 0x20; c < 0x7f; ++c)
      yes[c] = c != '"' && c != '\\';
  }
};

inline constexpr plain_bytes plain{};

// Room put_json_string may need for `s`: \u00XX is six bytes for one.
constexpr size_t json_string_bound(size_t n) {
  return 2 + 6 * n;
}

// `s` as a JSON string (quotes included). Control characters are escaped;
// a byte that is not part of valid UTF-8 becomes the four characters \xNN,
// so the line stays valid JSON and the byte stays visible.
inline char* put_json_string(char* p, std::string_view s) {
  *p++ = '"';
  size_t i = 0;
  while (i < s.size()) {
    // Plain printable ASCII (all of most paths and names) goes in runs.
    size_t run = i;
    while (run < s.size() && plain.yes[static_cast<unsigned char>(s[run])])
      ++run;
    if (run != i) {
      p = put(p, s.substr(i, run - i));
      i = run;
      continue;
    }
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
      case '"':
        p = put(p, "\\\"");
        break;
      case '\\':
        p = put(p, "\\\\");
        break;
      case '\b':
        p = put(p, "\\b");
        break;
      case '\f':
        p = put(p, "\\f");
        break;
      case '\n':
        p = put(p, "\\n");
        break;
      case '\r':
        p = put(p, "\\r");
        break;
      case '\t':
        p = put(p, "\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          p = put(p, "\\u00");
          *p++ = hex_digits[c >> 4];
          *p++ = hex_digits[c & 0xf];
        } else {
          *p++ = static_cast<char>(c);
        }
      }
      ++i;
      continue;
    }
    // A multi-byte sequence: copy it if it is well-formed UTF-8 (no
    // overlongs, no surrogates, nothing above U+10FFFF).
    size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    bool ok = len != 0 && c <= 0xf4 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k)
      ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    if (ok && len >= 3) {
      auto c1 = static_cast<unsigned char>(s[i + 1]);
      if (c == 0xe0 && c1 < 0xa0)
        ok = false; // overlong
      else if (c == 0xed && c1 >= 0xa0)
        ok = false; // surrogate
      else if (c == 0xf0 && c1 < 0x90)
        ok = false; // overlong
      else if (c == 0xf4 && c1 >= 0x90)
        ok = false; // above U+10FFFF
    }
    if (ok) {
      p = put(p, s.substr(i, len));
      i += len;
    } else {
      p = put(p, "\\\\x");
      *p++ = hex_digits[c >> 4];
      *p++ = hex_digits[c & 0xf];
      ++i;
    }
  }
  *p++ = '"';
  return p;
}

inline char* put_actor(char* p, const actor_ref& a) {
  *p++ = '"';
  p = put(p, name(a.k));
  *p++ = '#';
  p = put_u64(p, a.id);
  *p++ = '"';
  return p;
}

// Runs `write(char*) -> char*` into room for `bound` more bytes of `out`.
template <class Write>
void append_bounded(std::string& out, size_t bound, Write write) {
  auto at = out.size();
  out.resize(at + bound);
  char* end = write(out.data() + at);
  out.resize(static_cast<size_t>(end - out.data()));
}

} // namespace detail

// Appends `s` as a JSON string (see detail::put_json_string).
inline void append_json_string(std::string& out, std::string_view s) {
  detail::append_bounded(
      out, detail::json_string_bound(s.size()),
      [&](char* p) { return detail::put_json_string(p, s); });
}

// Room encode_to may need for `e`.
inline size_t encoded_size_bound(const event& e) {
  // The members' names, punctuation, five numbers and two actors of at
  // most 16 + 1 + 20 characters come to less than 384.
  size_t n = 384 + detail::json_string_bound(e.type.size());
  for (size_t i = 0; i < e.field_count; ++i) {
    const auto& f = e.fields[i];
    n += 2 + detail::json_string_bound(f.name.size());
    n += f.v.kind() == value::type::str
             ? detail::json_string_bound(f.v.str().size())
             : 24;
  }
  return n;
}

namespace detail {

// One field as "name":value, without a separating comma.
inline char* put_field(char* p, std::string_view name, value::type t,
                       uint64_t num, std::string_view str) {
  p = put_json_string(p, name);
  *p++ = ':';
  switch (t) {
  case value::type::i64:
    return put_i64(p, static_cast<int64_t>(num));
  case value::type::u64:
    return put_u64(p, num);
  case value::type::boolean:
    return put(p, num != 0 ? "true" : "false");
  case value::type::str:
    return put_json_string(p, str);
  case value::type::hex:
    *p++ = '"';
    p = put_hex(p, num);
    *p++ = '"';
    return p;
  case value::type::none:
    break;
  }
  return p;
}

// A trace line from its parts; `for_each_field(put)` calls
// put(name, type, number, string) for each field present, in order. The
// trace writer formats its queued events through this without building an
// event first.
template <class ForEachField>
char* put_line(char* p, int64_t mono_ns, int64_t wall_ns, uint64_t node,
               const actor_ref& from, const actor_ref& to,
               std::string_view type, ForEachField&& for_each_field) {
  p = put(p, "{\"mono_ns\":");
  p = put_i64(p, mono_ns);
  p = put(p, ",\"wall_ns\":");
  p = put_i64(p, wall_ns);
  p = put(p, ",\"node\":");
  p = put_u64(p, node);
  p = put(p, ",\"from\":");
  p = put_actor(p, from);
  p = put(p, ",\"to\":");
  p = put_actor(p, to);
  if (from.node != 0) {
    p = put(p, ",\"from_node\":");
    p = put_u64(p, from.node);
  }
  if (to.node != 0) {
    p = put(p, ",\"to_node\":");
    p = put_u64(p, to.node);
  }
  p = put(p, ",\"type\":");
  p = put_json_string(p, type);
  p = put(p, ",\"fields\":{");
  bool first = true;
  for_each_field([&](std::string_view name, value::type t, uint64_t num,
                     std::string_view str) {
    if (!first)
      *p++ = ',';
    first = false;
    p = put_field(p, name, t, num, str);
  });
  return put(p, "}}\n");
}

} // namespace detail

// Writes the trace line of `e`, newline included, at `p` (which has room for
// encoded_size_bound(e) bytes) and returns its end:
// {"mono_ns":..,"wall_ns":..,"node":1,"from":"leader#7","to":"txn_log#3",
//  ["to_node":2,]"type":"log_append","fields":{"zxid":"0x100000001","n":1}}
inline char* encode_to(const event& e, char* p) {
  return detail::put_line(
      p, e.mono_ns, e.wall_ns, e.node, e.from, e.to, e.type, [&](auto&& put) {
        for (size_t i = 0; i < e.field_count; ++i) {
          const auto& v = e.fields[i].v;
          switch (v.kind()) {
          case value::type::none:
            break;
          case value::type::str:
            put(e.fields[i].name, v.kind(), 0, v.str());
            break;
          case value::type::i64:
            put(e.fields[i].name, v.kind(), static_cast<uint64_t>(v.i64()),
                std::string_view{});
            break;
          default:
            put(e.fields[i].name, v.kind(), v.u64(), std::string_view{});
          }
        }
      });
}

// Appends the trace line of `e` (see encode_to) to `out`.
inline void encode(const event& e, std::string& out) {
  detail::append_bounded(out, encoded_size_bound(e),
                         [&](char* p) { return encode_to(e, p); });
}

// Where trace points put their events: the writer (writer.hpp), which
// stamps each with the time, keeps it in a buffer of the calling thread and
// formats it as a JSON line on a thread of its own. Must not block.
class sink {
public:
  virtual ~sink() = default;
  // Copies what `e` refers to; sets its time first (e.mono_ns, e.wall_ns
  // are ignored).
  virtual void record(const event& e) noexcept = 0;
  // Blocks until every event recorded so far is written.
  virtual void drain() = 0;
};

// Writes out what is queued, for a node about to exit (std::_Exit skips
// every destructor). Blocks: only for such last moments.
inline void drain() {
  if (auto* s = detail::current_sink.load(std::memory_order_acquire))
    s->drain();
}

inline int64_t mono_now_ns() {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(steady_clock::now().time_since_epoch())
      .count();
}

inline int64_t wall_now_ns() {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(system_clock::now().time_since_epoch())
      .count();
}

// Hands one event to the sink. Out of line so that a trace point inlines to
// the mask test and a call.
[[gnu::noinline]] inline void emit(actor_ref from, actor_ref to,
                                   std::string_view type,
                                   std::initializer_list<field> fields) {
  auto* s = detail::current_sink.load(std::memory_order_acquire);
  if (s == nullptr)
    return;
  event e;
  e.from = from;
  e.to = to;
  e.type = type;
  e.fields = fields.begin();
  e.field_count = fields.size();
  s->record(e);
}

} // namespace zkd::tracer

// Traces a message from (from_kind, from_id) to (to_kind, to_id) on this
// node. Kinds are tracer::kind enumerators, unqualified.
#define ZKD_TRACE(from_kind, from_id, to_kind, to_id, type, ...)               \
  ZKD_TRACE_TO_NODE(from_kind, from_id, to_kind, to_id, 0, type, __VA_ARGS__)

// As ZKD_TRACE, to an actor on node `to_node` (a server id).
#define ZKD_TRACE_TO_NODE(from_kind, from_id, to_kind, to_id, to_node, type,   \
                          ...)                                                 \
  do {                                                                         \
    if (::zkd::tracer::trace_points &&                                         \
        __builtin_expect(                                                      \
            ::zkd::tracer::enabled(::zkd::tracer::kind::from_kind,             \
                                   ::zkd::tracer::kind::to_kind),              \
            0))                                                                \
      ::zkd::tracer::emit(                                                     \
          ::zkd::tracer::actor_ref{::zkd::tracer::kind::from_kind,             \
                                   static_cast<uint64_t>(from_id), 0},         \
          ::zkd::tracer::actor_ref{::zkd::tracer::kind::to_kind,               \
                                   static_cast<uint64_t>(to_id),               \
                                   static_cast<uint64_t>(to_node)},            \
          type, {__VA_ARGS__});                                                \
  } while (false)

// For a sender or receiver whose kind is only known at run time: `from` and
// `to` are tracer::actor_ref expressions, evaluated only while some kind is
// traced.
#define ZKD_TRACE_REFS(from, to, type, ...)                                    \
  do {                                                                         \
    if (::zkd::tracer::trace_points &&                                         \
        __builtin_expect(::zkd::tracer::enabled_mask() != 0, 0)) {             \
      ::zkd::tracer::actor_ref zkd_trace_from_ = (from);                       \
      ::zkd::tracer::actor_ref zkd_trace_to_ = (to);                           \
      if (::zkd::tracer::enabled(zkd_trace_from_.k, zkd_trace_to_.k))          \
        ::zkd::tracer::emit(zkd_trace_from_, zkd_trace_to_, type,              \
                            {__VA_ARGS__});                                    \
    }                                                                          \
  } while (false)
