// The key fields of an encoded txn (ZooKeeper's log-entry layout, see
// messages/txn/txn.hpp), read straight from the bytes without decoding the
// whole record: what a trace line of a proposal shows.
#pragma once

#include <cstdint>
#include <string_view>

#include "actors/tracer/tracer.hpp"
#include "messages/wire/protocol.hpp"

namespace zkd::tracer {

struct txn_summary {
  bool ok = false; // false: too short for a TxnHeader
  int64_t session = 0;
  int32_t cxid = 0;
  int64_t zxid = 0;
  int32_t type = 0;      // op code (wire::op)
  std::string_view path; // first path of the body, "" if it has none
};

namespace detail {

inline uint64_t read_be(std::string_view s, size_t off, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i)
    v = (v << 8) | static_cast<unsigned char>(s[off + i]);
  return v;
}

} // namespace detail

inline txn_summary summarize_txn(std::string_view bytes) {
  // TxnHeader: clientId (8), cxid (4), zxid (8), time (8), type (4).
  constexpr size_t header_size = 32;
  txn_summary out;
  if (bytes.size() < header_size)
    return out;
  out.ok = true;
  out.session = static_cast<int64_t>(detail::read_be(bytes, 0, 8));
  out.cxid = static_cast<int32_t>(detail::read_be(bytes, 8, 4));
  out.zxid = static_cast<int64_t>(detail::read_be(bytes, 12, 8));
  out.type = static_cast<int32_t>(detail::read_be(bytes, 28, 4));
  switch (out.type) {
  // Bodies that start with the path as a jute string.
  case wire::op::create:
  case wire::op::create2:
  case wire::op::create_container:
  case wire::op::create_ttl:
  case wire::op::remove:
  case wire::op::delete_container:
  case wire::op::set_data:
  case wire::op::set_acl:
  case wire::op::check: {
    if (bytes.size() < header_size + 4)
      break;
    auto len = static_cast<int32_t>(detail::read_be(bytes, header_size, 4));
    if (len > 0 && header_size + 4 + static_cast<size_t>(len) <= bytes.size())
      out.path = bytes.substr(header_size + 4, static_cast<size_t>(len));
    break;
  }
  default:
    break;
  }
  return out;
}

// Emits one line for a message carrying encoded txns (a batch of
// proposals, a log append): the zxid range and count and, for a batch of
// one, the session, xid, op and path of the txn. `entries` is a vector of
// things with .zxid and .payload (txn_log::log_entry). Call it through
// ZKD_TRACE_TXNS, which tests the mask first.
template <class Entries>
[[gnu::noinline]] void emit_txns(actor_ref from, actor_ref to,
                                 std::string_view type,
                                 const Entries& entries) {
  if (entries.empty())
    return;
  auto n = entries.size();
  auto t = summarize_txn(entries.front().payload);
  bool one = n == 1 && t.ok;
  emit(from, to, type,
       {{"zxid", hex{entries.front().zxid}},
        {"zxid_last", n > 1 ? value{hex{entries.back().zxid}} : value{}},
        {"n", n},
        {"session", one ? value{hex{t.session}} : value{}},
        {"xid", one ? value{t.cxid} : value{}},
        {"op", one ? value{wire::op_name(t.type)} : value{}},
        {"path", one && !t.path.empty() ? value{t.path} : value{}}});
}

} // namespace zkd::tracer

// Traces a message carrying encoded txns (see emit_txns), e.g.
//   ZKD_TRACE_TXNS(leader, self->id(), txn_log, id_of(log), "log_append",
//                  batch.entries);
#define ZKD_TRACE_TXNS(from_kind, from_id, to_kind, to_id, type, entries)      \
  do {                                                                         \
    if (::zkd::tracer::trace_points &&                                         \
        __builtin_expect(                                                      \
            ::zkd::tracer::enabled(::zkd::tracer::kind::from_kind,             \
                                   ::zkd::tracer::kind::to_kind),              \
            0))                                                                \
      ::zkd::tracer::emit_txns(                                                \
          ::zkd::tracer::actor_ref{::zkd::tracer::kind::from_kind,             \
                                   static_cast<uint64_t>(from_id), 0},         \
          ::zkd::tracer::actor_ref{::zkd::tracer::kind::to_kind,               \
                                   static_cast<uint64_t>(to_id), 0},           \
          type, entries);                                                      \
  } while (false)
