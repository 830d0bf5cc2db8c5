#include "actors/datatree/serve_watches.hpp"

#include <string>
#include <vector>

#include "messages/wire/reply.hpp"

namespace zkd::datatree {

namespace {

std::vector<char> header_only(int32_t xid, int64_t zxid, wire::err e) {
  std::vector<char> out;
  wire::append_reply(out,
                     wire::reply_header{xid, zxid, static_cast<int32_t>(e)});
  return out;
}

// A notification delivered at once (setWatches), in order with the reply.
local::dispatch_item event_item(int64_t session, wire::event_type type,
                                const std::string& path) {
  local::dispatch_item item;
  item.kind = local::dispatch_item::reply;
  item.session = session;
  wire::watcher_event ev;
  ev.type = static_cast<int32_t>(type);
  ev.state = static_cast<int32_t>(wire::keeper_state::sync_connected);
  ev.path = path;
  wire::append_watcher_event(item.frame, ev);
  return item;
}

// A registration without bytes to send.
local::dispatch_item watch_item(int64_t session, local::watch_kind kind,
                                const std::string& path) {
  local::dispatch_item item;
  item.kind = local::dispatch_item::reply;
  item.session = session;
  item.type = static_cast<int32_t>(kind);
  item.path = path;
  return item;
}

// DataTree.setWatches: the lists in this order, each watch either firing
// at once (its node changed after the client's last zxid, or is gone, or
// now exists) or registered again. Persistent watches are registered
// whatever happened: the client learns nothing of what it missed.
void set_watches(const tree& t, int64_t session, int64_t rel,
                 const std::vector<std::string>& data,
                 const std::vector<std::string>& exist,
                 const std::vector<std::string>& child,
                 const std::vector<std::string>* persistent,
                 const std::vector<std::string>* recursive,
                 std::vector<local::dispatch_item>& out) {
  for (auto& p : data) {
    auto n = t.lookup(p);
    if (!n)
      out.push_back(event_item(session, wire::event_type::node_deleted, p));
    else if (n->stat.mzxid > rel)
      out.push_back(
          event_item(session, wire::event_type::node_data_changed, p));
    else
      out.push_back(watch_item(session, local::watch_kind::data, p));
  }
  for (auto& p : exist) {
    if (t.lookup(p))
      out.push_back(event_item(session, wire::event_type::node_created, p));
    else
      out.push_back(watch_item(session, local::watch_kind::exist, p));
  }
  for (auto& p : child) {
    auto n = t.lookup(p);
    if (!n)
      out.push_back(event_item(session, wire::event_type::node_deleted, p));
    else if (n->stat.pzxid > rel)
      out.push_back(
          event_item(session, wire::event_type::node_children_changed, p));
    else
      out.push_back(watch_item(session, local::watch_kind::child, p));
  }
  if (persistent != nullptr)
    for (auto& p : *persistent)
      out.push_back(watch_item(session, local::watch_kind::persistent, p));
  if (recursive != nullptr)
    for (auto& p : *recursive)
      out.push_back(
          watch_item(session, local::watch_kind::persistent_recursive, p));
}

// WatcherType.fromInt throws on anything else, which FinalRequestProcessor
// answers with ZMARSHALLINGERROR.
bool valid_watcher_type(int32_t type) {
  return type == static_cast<int32_t>(wire::watcher_type::children) ||
         type == static_cast<int32_t>(wire::watcher_type::data) ||
         type == static_cast<int32_t>(wire::watcher_type::any);
}

void watch_op(int32_t kind, int64_t session, const wire::request& rq,
              int64_t zxid, const std::string& path, int32_t type,
              read_reply& out) {
  if (!valid_watcher_type(type)) {
    out.frame = header_only(rq.hdr.xid, zxid, wire::err::marshalling_error);
    return;
  }
  local::dispatch_item item;
  item.kind = kind;
  item.session = session;
  item.type = type;
  item.path = path;
  item.xid = rq.hdr.xid;
  item.zxid = zxid;
  out.events_before.push_back(std::move(item));
}

} // namespace

bool is_watch_request(int32_t opcode) {
  switch (opcode) {
  case wire::op::set_watches:
  case wire::op::set_watches2:
  case wire::op::add_watch:
  case wire::op::check_watches:
  case wire::op::remove_watches:
    return true;
  default:
    return false;
  }
}

void serve_watch_request(const tree& t, int64_t session,
                         const wire::request& rq, read_reply& out) {
  auto zxid = t.last_zxid();
  switch (rq.hdr.type) {
  case wire::op::set_watches: {
    auto& sw = std::get<wire::set_watches>(rq.body);
    set_watches(t, session, sw.relative_zxid, sw.data_watches, sw.exist_watches,
                sw.child_watches, nullptr, nullptr, out.events_before);
    out.frame = header_only(rq.hdr.xid, zxid, wire::err::ok);
    break;
  }
  case wire::op::set_watches2: {
    auto& sw = std::get<wire::set_watches2>(rq.body);
    set_watches(t, session, sw.relative_zxid, sw.data_watches, sw.exist_watches,
                sw.child_watches, &sw.persistent_watches,
                &sw.persistent_recursive_watches, out.events_before);
    out.frame = header_only(rq.hdr.xid, zxid, wire::err::ok);
    break;
  }
  case wire::op::add_watch: {
    auto& r = std::get<wire::add_watch_request>(rq.body);
    // WatcherMode.fromZooDef throws before anything is registered. The path
    // is not checked at all: a watch on "abc" is kept (and never fires).
    if (r.mode == static_cast<int32_t>(wire::add_watch_mode::persistent))
      out.watch = local::watch_kind::persistent;
    else if (r.mode ==
             static_cast<int32_t>(wire::add_watch_mode::persistent_recursive))
      out.watch = local::watch_kind::persistent_recursive;
    else {
      out.frame = header_only(rq.hdr.xid, zxid, wire::err::marshalling_error);
      break;
    }
    out.watch_path = r.path;
    wire::error_response body{0};
    wire::append_reply(out.frame, wire::reply_header{rq.hdr.xid, zxid, 0},
                       &body);
    break;
  }
  case wire::op::check_watches: {
    auto& r = std::get<wire::check_watches_request>(rq.body);
    watch_op(local::dispatch_item::check_watches, session, rq, zxid, r.path,
             r.type, out);
    break;
  }
  case wire::op::remove_watches: {
    auto& r = std::get<wire::remove_watches_request>(rq.body);
    watch_op(local::dispatch_item::remove_watches, session, rq, zxid, r.path,
             r.type, out);
    break;
  }
  default:
    out.frame = header_only(rq.hdr.xid, zxid, wire::err::unimplemented);
    break;
  }
}

} // namespace zkd::datatree
