#include "actors/datatree/serve.hpp"

#include "actors/datatree/serve_watches.hpp"
#include "messages/wire/reply.hpp"

namespace zkd::datatree {

namespace {

template <class T>
std::vector<char> frame_of(int32_t xid, int64_t zxid, wire::err e,
                           const T* body) {
  std::vector<char> out;
  wire::reply_header h{xid, zxid, static_cast<int32_t>(e)};
  if (e == wire::err::ok && body != nullptr)
    wire::append_reply(out, h, body);
  else
    wire::append_reply(out, h);
  return out;
}

std::vector<char> header_only(int32_t xid, int64_t zxid, wire::err e) {
  std::vector<char> out;
  wire::append_reply(out,
                     wire::reply_header{xid, zxid, static_cast<int32_t>(e)});
  return out;
}

} // namespace

bool goes_through_log(int32_t opcode) {
  switch (opcode) {
  case wire::op::create:
  case wire::op::create2:
  case wire::op::create_container:
  case wire::op::create_ttl:
  case wire::op::remove:
  case wire::op::delete_container:
  case wire::op::set_data:
  case wire::op::set_acl:
  case wire::op::check:
  case wire::op::multi:
  case wire::op::close_session:
  case wire::op::create_session:
    return true;
  default:
    return false;
  }
}

namespace {

// multiRead (FinalRequestProcessor): every op is answered on its own, a
// failed one (NoNode, NoAuth) by an ErrorResult, without affecting the others.
// Watches are never set (the decoder cleared the flags, as Op does).
std::vector<wire::multi_result>
multi_read(const tree& t, const wire::multi_request& m, const auth_ids& who) {
  std::vector<wire::multi_result> out;
  out.reserve(m.ops.size());
  for (auto& o : m.ops) {
    if (auto* gd = std::get_if<wire::get_data_request>(&o.body)) {
      auto res = t.get_data(gd->path, who);
      if (res.err != wire::err::ok)
        out.push_back(wire::multi_error_result(static_cast<int32_t>(res.err)));
      else
        out.push_back(wire::multi_result{
            wire::op::get_data, 0,
            wire::get_data_response{std::move(res.data), res.stat}});
    } else if (auto* gc = std::get_if<wire::get_children_request>(&o.body)) {
      auto res = t.get_children(gc->path, who);
      if (res.err != wire::err::ok)
        out.push_back(wire::multi_error_result(static_cast<int32_t>(res.err)));
      else
        out.push_back(wire::multi_result{
            wire::op::get_children, 0,
            wire::get_children_response{std::move(res.children)}});
    }
  }
  return out;
}

} // namespace

read_reply serve_read(const tree& t, int64_t session, const wire::request& rq,
                      const auth_ids& who) {
  read_reply out;
  auto xid = rq.hdr.xid;
  auto zxid = t.last_zxid();
  switch (rq.hdr.type) {
  case wire::op::exists: {
    auto& r = std::get<wire::exists_request>(rq.body);
    auto res = t.exists(r.path);
    wire::exists_response body{res.stat};
    out.frame = frame_of(xid, zxid, res.err, &body);
    // ZooKeeper keeps a watch set by exists() even when the node is
    // missing: that is how NodeCreated reaches the client.
    if (r.watch &&
        (res.err == wire::err::ok || res.err == wire::err::no_node)) {
      out.watch = local::watch_kind::exist;
      out.watch_path = r.path;
    }
    break;
  }
  case wire::op::get_data: {
    auto& r = std::get<wire::get_data_request>(rq.body);
    auto res = t.get_data(r.path, who);
    wire::get_data_response body{std::move(res.data), res.stat};
    out.frame = frame_of(xid, zxid, res.err, &body);
    if (r.watch && res.err == wire::err::ok) {
      out.watch = local::watch_kind::data;
      out.watch_path = r.path;
    }
    break;
  }
  case wire::op::get_children: {
    auto& r = std::get<wire::get_children_request>(rq.body);
    auto res = t.get_children(r.path, who);
    wire::get_children_response body{std::move(res.children)};
    out.frame = frame_of(xid, zxid, res.err, &body);
    if (r.watch && res.err == wire::err::ok) {
      out.watch = local::watch_kind::child;
      out.watch_path = r.path;
    }
    break;
  }
  case wire::op::get_children2: {
    auto& r = std::get<wire::get_children2_request>(rq.body);
    auto res = t.get_children(r.path, who);
    wire::get_children2_response body{std::move(res.children), res.stat};
    out.frame = frame_of(xid, zxid, res.err, &body);
    if (r.watch && res.err == wire::err::ok) {
      out.watch = local::watch_kind::child;
      out.watch_path = r.path;
    }
    break;
  }
  case wire::op::get_acl: {
    auto& r = std::get<wire::get_acl_request>(rq.body);
    auto res = t.get_acl(r.path, who);
    wire::get_acl_response body{std::move(res.acl), res.stat};
    out.frame = frame_of(xid, zxid, res.err, &body);
    break;
  }
  case wire::op::get_all_children_number: {
    auto& r = std::get<wire::get_all_children_number_request>(rq.body);
    auto res = t.get_all_children_number(r.path, who);
    wire::get_all_children_number_response body{res.count};
    out.frame = frame_of(xid, zxid, res.err, &body);
    break;
  }
  case wire::op::get_ephemerals: {
    auto& r = std::get<wire::get_ephemerals_request>(rq.body);
    wire::get_ephemerals_response body{
        t.get_ephemerals(session, r.prefix_path)};
    out.frame = frame_of(xid, zxid, wire::err::ok, &body);
    break;
  }
  case wire::op::sync: {
    // A single node is always in sync with itself; the reply only has to
    // come after the session's earlier requests, which the queue ensures.
    auto& r = std::get<wire::sync_request>(rq.body);
    wire::sync_response body{r.path};
    out.frame = frame_of(xid, zxid, wire::err::ok, &body);
    break;
  }
  case wire::op::set_watches:
  case wire::op::set_watches2:
  case wire::op::add_watch:
  case wire::op::check_watches:
  case wire::op::remove_watches:
    serve_watch_request(t, session, rq, out);
    break;
  case wire::op::whoami: {
    wire::whoami_response body{client_infos(who)};
    out.frame = frame_of(xid, zxid, wire::err::ok, &body);
    break;
  }
  case wire::op::multi_read: {
    // A multiRead mixing reads and writes, or of writes, does not decode
    // and is answered ZMARSHALLINGERROR before it gets here.
    auto results = multi_read(t, std::get<wire::multi_request>(rq.body), who);
    wire::append_multi_reply(out.frame, wire::reply_header{xid, zxid, 0},
                             results);
    break;
  }
  case local::undecodable_op:
    out.frame = header_only(xid, zxid, wire::err::marshalling_error);
    break;
  default:
    // ZooKeeper answers an op code it does not know with ZUNIMPLEMENTED.
    out.frame = header_only(xid, zxid, wire::err::unimplemented);
    break;
  }
  return out;
}

applied apply_committed(tree& t, const txn::record& r, int32_t opcode,
                        const int32_t* xid) {
  applied out;
  auto res = t.apply(r);
  auto session = r.hdr.session_id;
  for (auto& tr : res.triggers) {
    local::dispatch_item item;
    item.kind = local::dispatch_item::trigger;
    item.session = session;
    item.type = static_cast<int32_t>(tr.type);
    item.path = std::move(tr.path);
    if (tr.acl)
      item.acl = *tr.acl;
    out.triggers.emplace_back(std::move(item));
  }
  if (xid == nullptr)
    return out;
  auto zxid = r.hdr.zxid;
  if (res.err != wire::err::ok && opcode != wire::op::multi) {
    out.frame = header_only(*xid, zxid, res.err);
    return out;
  }
  switch (opcode) {
  case wire::op::create: {
    wire::create_response body{res.path};
    out.frame = frame_of(*xid, zxid, res.err, &body);
    break;
  }
  case wire::op::create2:
  case wire::op::create_container:
  case wire::op::create_ttl: {
    wire::create2_response body{res.path, res.stat.value_or(wire::stat{})};
    out.frame = frame_of(*xid, zxid, res.err, &body);
    break;
  }
  case wire::op::set_data: {
    wire::set_data_response body{res.stat.value_or(wire::stat{})};
    out.frame = frame_of(*xid, zxid, res.err, &body);
    break;
  }
  case wire::op::set_acl: {
    wire::set_acl_response body{res.stat.value_or(wire::stat{})};
    out.frame = frame_of(*xid, zxid, res.err, &body);
    break;
  }
  case wire::op::multi: {
    std::vector<wire::multi_result> results;
    for (auto& op : res.multi) {
      if (op.err != wire::err::ok) {
        results.push_back(
            wire::multi_error_result(static_cast<int32_t>(op.err)));
        continue;
      }
      switch (op.type) {
      case wire::op::create:
        results.push_back(wire::multi_create_result(op.path));
        break;
      case wire::op::create2:
      case wire::op::create_container:
      case wire::op::create_ttl:
        results.push_back(wire::multi_create2_result(op.path, op.stat));
        break;
      case wire::op::set_data:
        results.push_back(wire::multi_set_data_result(op.stat));
        break;
      default:
        results.push_back(wire::multi_empty_result(op.type));
        break;
      }
    }
    wire::append_multi_reply(out.frame, wire::reply_header{*xid, zxid, 0},
                             results);
    break;
  }
  default: // delete, check, closeSession: the header says it all
    out.frame = header_only(*xid, zxid, res.err);
    break;
  }
  return out;
}

std::vector<char> error_reply(int32_t xid, int64_t zxid, wire::err e) {
  return header_only(xid, zxid, e);
}

} // namespace zkd::datatree

namespace zkd::datatree {

namespace {

prepared from_result(prep_result&& r) {
  if (r.ok() && r.txn)
    return std::move(*r.txn);
  return r.err;
}

} // namespace

prepared prepare_write(prep& p, int64_t session, const wire::request& rq,
                       int64_t zxid, int64_t time_ms, const auth_ids& who) {
  auto r = p.prepare(session, rq.hdr.xid, rq, zxid, time_ms, who);
  if (r.ok() || rq.hdr.type != wire::op::multi || r.multi_errors.empty())
    return from_result(std::move(r));
  // A multi that fails in prep is still a txn in ZooKeeper: it takes a zxid
  // and its reply lists a result per op (ok before the failed op, its code,
  // ZRUNTIMEINCONSISTENCY after), so clients see it in order with the
  // session's other writes.
  txn::record failed;
  failed.hdr = txn::header{session, rq.hdr.xid, zxid, time_ms, wire::op::multi};
  txn::multi m;
  bool seen = false;
  for (auto e : r.multi_errors) {
    int32_t code = 0;
    if (seen)
      code = static_cast<int32_t>(wire::err::runtime_inconsistency);
    else if (e != wire::err::ok) {
      code = static_cast<int32_t>(e);
      seen = true;
    }
    m.ops.push_back(txn::multi_op{wire::op::error, txn::error{code}});
  }
  failed.b = std::move(m);
  return failed;
}

prepared prepare_session_write(prep& p, const local::session_write& w,
                               int64_t zxid, int64_t time_ms) {
  if (w.opcode == wire::op::create_session)
    return from_result(
        p.create_session(w.session, w.timeout_ms, zxid, time_ms));
  return from_result(p.close_session(w.session, 0, zxid, time_ms));
}

} // namespace zkd::datatree
