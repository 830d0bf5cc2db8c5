#include "request.hpp"

#include <cstddef>
#include <cstring>
#include <type_traits>
#include <variant>

#include "jute.hpp"
#include "protocol.hpp"

namespace zkd::wire {

namespace {

// The alternative T of a variant, reusing the one already there so its
// strings and vectors keep their capacity across frames.
template <class T, class Variant>
T& reuse_as(Variant& v) {
  if (auto p = std::get_if<T>(&v))
    return *p;
  return v.template emplace<T>();
}

template <class T>
decode_status read_body(reader& r, request_body& body) {
  return read(r, reuse_as<T>(body)) ? decode_status::ok
                                    : decode_status::malformed;
}

// CreateMode.fromFlag(flags, PERSISTENT): what Op.create() types a create by.
int32_t op_type_of_create(int32_t flags) {
  switch (static_cast<create_mode>(flags)) {
  case create_mode::persistent_with_ttl:
  case create_mode::persistent_sequential_with_ttl:
    return op::create_ttl;
  case create_mode::container:
    return op::create_container;
  default:
    return op::create;
  }
}

enum class op_kind { none, read, write };

// One op of a MultiOperationRecord after its MultiHeader of type `type`.
// Returns the op's kind, or none if the op code is not allowed in a multi or
// the op cannot be what ZooKeeper's Op would make of it.
op_kind read_multi_op(reader& r, int32_t type, multi_op& out) {
  switch (type) {
  case op::create:
  case op::create2:
  case op::create_container: {
    auto& body = reuse_as<create_request>(out.body);
    if (!read(r, body))
      return op_kind::none;
    out.type = op_type_of_create(body.flags);
    // ZooKeeper types this op createTTL, then casts its CreateRequest to a
    // CreateTTLRequest while preparing the txn: ClassCastException, which
    // fails the whole multi with ZMARSHALLINGERROR.
    if (out.type == op::create_ttl)
      return op_kind::none;
    return op_kind::write;
  }
  case op::create_ttl: {
    auto& body = reuse_as<create_ttl_request>(out.body);
    if (!read(r, body))
      return op_kind::none;
    out.type = op_type_of_create(body.flags);
    if (out.type != op::create_ttl) {
      // Op.create(..., ttl) makes a plain Create: the ttl is dropped.
      create_request plain{std::move(body.path), std::move(body.data),
                           std::move(body.acl), body.flags};
      out.body = std::move(plain);
    }
    return op_kind::write;
  }
  case op::remove:
    out.type = type;
    return read(r, reuse_as<delete_request>(out.body)) ? op_kind::write
                                                       : op_kind::none;
  case op::set_data:
    out.type = type;
    return read(r, reuse_as<set_data_request>(out.body)) ? op_kind::write
                                                         : op_kind::none;
  case op::check:
    out.type = type;
    return read(r, reuse_as<check_version_request>(out.body)) ? op_kind::write
                                                              : op_kind::none;
  case op::get_children: {
    out.type = type;
    auto& body = reuse_as<get_children_request>(out.body);
    if (!read(r, body))
      return op_kind::none;
    body.watch = false; // Op.getChildren(path) keeps only the path
    return op_kind::read;
  }
  case op::get_data: {
    out.type = type;
    auto& body = reuse_as<get_data_request>(out.body);
    if (!read(r, body))
      return op_kind::none;
    body.watch = false; // Op.getData(path) keeps only the path
    return op_kind::read;
  }
  default:
    return op_kind::none;
  }
}

// MultiOperationRecord.deserialize: MultiHeader, op, MultiHeader, op, ...
// until a MultiHeader with done set (its type and err are not looked at).
bool read_multi(reader& r, bool multi_read, multi_request& m) {
  size_t used = 0;
  multi_header h;
  if (!read(r, h))
    return false;
  while (!h.done) {
    if (used == m.ops.size())
      m.ops.emplace_back();
    auto kind = read_multi_op(r, h.type, m.ops[used++]);
    // Mixing reads and writes fails in MultiOperationRecord.add(); reads in
    // a multi and writes in a multiRead fail later, in PrepRequestProcessor
    // and FinalRequestProcessor, with the same ZMARSHALLINGERROR. Requiring
    // every op to match the request's kind covers all three.
    if (kind == op_kind::none || (kind == op_kind::read) != multi_read) {
      r.fail();
      return false;
    }
    if (!read(r, h))
      return false;
  }
  m.ops.erase(m.ops.begin() + static_cast<std::ptrdiff_t>(used), m.ops.end());
  return true;
}

} // namespace

decode_status decode_request(std::string_view payload, request& out) {
  reader r{payload};
  if (!read(r, out.hdr))
    return decode_status::malformed;
  auto& body = out.body;
  // A null path (length -1) is not an empty one to ZooKeeper: create and
  // exists fail on it with a NullPointerException, which reaches the client
  // as ZMARSHALLINGERROR, while "" gets BadArguments or the root's Stat.
  // So do addWatch and checkWatches (their watch tables throw on null), but
  // "" is an ordinary path to them.
  switch (out.hdr.type) {
  case op::create:
  case op::create2:
  case op::create_container:
  case op::create_ttl:
  case op::exists:
  case op::add_watch:
  case op::check_watches:
    if (payload.size() >= 12 &&
        std::memcmp(payload.data() + 8, "\xff\xff\xff\xff", 4) == 0)
      return decode_status::malformed;
    break;
  default:
    break;
  }
  switch (out.hdr.type) {
  case op::create:
  case op::create2:
  case op::create_container:
    return read_body<create_request>(r, body);
  case op::create_ttl:
    return read_body<create_ttl_request>(r, body);
  case op::remove:
    return read_body<delete_request>(r, body);
  case op::exists:
    return read_body<exists_request>(r, body);
  case op::get_data:
    return read_body<get_data_request>(r, body);
  case op::set_data:
    return read_body<set_data_request>(r, body);
  case op::get_acl:
    return read_body<get_acl_request>(r, body);
  case op::set_acl:
    return read_body<set_acl_request>(r, body);
  case op::get_children:
    return read_body<get_children_request>(r, body);
  case op::sync:
    return read_body<sync_request>(r, body);
  case op::get_children2:
    return read_body<get_children2_request>(r, body);
  case op::check:
    return read_body<check_version_request>(r, body);
  case op::multi:
  case op::multi_read:
    return read_multi(r, out.hdr.type == op::multi_read,
                      reuse_as<multi_request>(body))
               ? decode_status::ok
               : decode_status::malformed;
  case op::reconfig:
    return read_body<reconfig_request>(r, body);
  case op::check_watches:
    return read_body<check_watches_request>(r, body);
  case op::remove_watches:
    return read_body<remove_watches_request>(r, body);
  case op::add_watch:
    return read_body<add_watch_request>(r, body);
  case op::get_ephemerals:
    return read_body<get_ephemerals_request>(r, body);
  case op::get_all_children_number:
    return read_body<get_all_children_number_request>(r, body);
  case op::set_watches:
    return read_body<set_watches>(r, body);
  case op::set_watches2:
    return read_body<set_watches2>(r, body);
  case op::auth:
    return read_body<auth_packet>(r, body);
  case op::sasl: {
    // GetSASLRequest{buffer token}: checked so a truncated one closes the
    // connection as in ZooKeeper, then dropped (zkd has no SASL).
    body.emplace<std::monostate>();
    std::string_view token;
    bool is_null;
    return r.read_view(token, is_null) ? decode_status::ok
                                       : decode_status::malformed;
  }
  case op::ping:
  case op::close_session:
  case op::whoami:
  case op::delete_container:
  case op::create_session:
    body.emplace<std::monostate>();
    return decode_status::ok;
  default:
    body.emplace<std::monostate>();
    return decode_status::unknown_op;
  }
}

decode_status decode_connect(std::string_view payload, connect_request& out) {
  reader r{payload};
  return read(r, out) ? decode_status::ok : decode_status::malformed;
}

void write(writer& w, const request& rq) {
  write(w, rq.hdr);
  std::visit(
      [&](const auto& body) {
        using body_t = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<body_t, multi_request>) {
          for (auto& op : body.ops) {
            write(w, multi_header{op.type, false, -1});
            std::visit([&](const auto& x) { write(w, x); }, op.body);
          }
          write(w, multi_header{-1, true, -1});
        } else if constexpr (!std::is_same_v<body_t, std::monostate>) {
          write(w, body);
        } else if (rq.hdr.type == op::sasl) {
          w.write_null(); // the decoder drops the token
        }
      },
      rq.body);
}

} // namespace zkd::wire
