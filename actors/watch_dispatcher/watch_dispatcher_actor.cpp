#include "actors/watch_dispatcher/watch_dispatcher_actor.hpp"

#include <cstdint>
#include <tuple>
#include <unordered_map>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/datatree/acl.hpp"
#include "actors/tracer/tracer.hpp"
#include "actors/watch_dispatcher/watch_manager.hpp"
#include "messages/local/local.hpp"
#include "messages/wire/reply.hpp"

namespace zkd {

namespace {

struct dispatcher_state {
  std::shared_ptr<node> nd;
  watch_dispatcher::watch_manager watches;
  std::unordered_map<int64_t, caf::actor> conn_of;
  // Bytes per connection collected while handling one batch, so each
  // connection gets one message (and one socket write) per batch.
  std::unordered_map<int64_t, local::outbound> pending;
  // Each session's auth ids, as the datatree last told us: an event about a
  // node the session may not READ is withheld (its one-shot watch is used up
  // all the same), as in ZooKeeper 3.8.0 with the ZOOKEEPER-4799 fix.
  std::unordered_map<int64_t, datatree::auth_ids> auth_of;
  static inline const char* name = "watch_dispatcher";
};

using dispatcher_ptr = caf::stateful_actor<dispatcher_state, caf::io::broker>*;

void publish_counts(dispatcher_ptr self) {
  auto& st = self->state;
  auto sum = st.watches.summary();
  // mntr's zk_watch_count counts both tables (DataTree.getWatchCount); wchs
  // asks for its data-table figures with wchs_atom.
  st.nd->metrics.watches = st.watches.watch_count();
  st.nd->metrics.watch_paths = sum.paths;
  st.nd->metrics.watch_sessions = sum.connections;
}

watch_dispatcher::watch_kind to_core_kind(int32_t k) {
  switch (static_cast<local::watch_kind>(k)) {
  case local::watch_kind::exist:
    return watch_dispatcher::watch_kind::exist;
  case local::watch_kind::child:
    return watch_dispatcher::watch_kind::child;
  case local::watch_kind::persistent:
    return watch_dispatcher::watch_kind::persistent;
  case local::watch_kind::persistent_recursive:
    return watch_dispatcher::watch_kind::persistent_recursive;
  default:
    return watch_dispatcher::watch_kind::data;
  }
}

void queue_frame(dispatcher_ptr self, int64_t session,
                 const std::vector<char>& frame, bool close_after) {
  auto& st = self->state;
  if (frame.empty() && !close_after)
    return; // a registration only (setWatches, the item before a watch op)
  if (st.conn_of.count(session) == 0)
    return; // disconnected: ZooKeeper drops what it cannot send
  auto& out = st.pending[session];
  out.bytes.insert(out.bytes.end(), frame.begin(), frame.end());
  out.close_after = out.close_after || close_after;
}

void flush_pending(dispatcher_ptr self) {
  auto& st = self->state;
  for (auto& [session, out] : st.pending) {
    auto i = st.conn_of.find(session);
    if (i == st.conn_of.end())
      continue;
    bool close_after = out.close_after;
    ZKD_TRACE(watch_dispatcher, self->id(), connection,
              tracer::id_of(i->second), "outbound",
              {"session", tracer::hex{session}}, {"bytes", out.bytes.size()},
              {"close_after", close_after});
    self->send(i->second, std::move(out));
    if (close_after)
      st.conn_of.erase(i);
  }
  st.pending.clear();
}

// removeWatches / checkWatches, answered here because the watches are here.
void watch_op(dispatcher_ptr self, const local::dispatch_item& item) {
  auto& watches = self->state.watches;
  auto type = static_cast<wire::watcher_type>(item.type);
  auto e = wire::err::ok;
  if (item.kind == local::dispatch_item::remove_watches) {
    if (!watches.remove(item.session, item.path, type))
      e = wire::err::no_watcher;
  } else {
    switch (watches.check(item.path, type)) {
    case watch_dispatcher::check_result::found:
      break;
    case watch_dispatcher::check_result::not_found:
      e = wire::err::no_watcher;
      break;
    case watch_dispatcher::check_result::bad_path:
      e = wire::err::marshalling_error;
      break;
    }
  }
  std::vector<char> frame;
  wire::append_reply(
      frame, wire::reply_header{item.xid, item.zxid, static_cast<int32_t>(e)});
  queue_frame(self, item.session, frame, false);
}

void fire(dispatcher_ptr self, const std::string& path, int32_t type,
          const std::vector<wire::acl>& acl) {
  auto& st = self->state;
  auto fired = st.watches.trigger(path, static_cast<wire::event_type>(type));
  static const datatree::auth_ids nobody;
  for (auto& f : fired) {
    if (!acl.empty()) {
      auto a = st.auth_of.find(f.session);
      if (!datatree::acl_permits(acl, wire::perm::read,
                                 a == st.auth_of.end() ? nobody : a->second))
        continue;
    }
    std::vector<char> frame;
    wire::append_watcher_event(frame, f.event);
    queue_frame(self, f.session, frame, false);
  }
}

caf::behavior dispatcher_impl(dispatcher_ptr self, std::shared_ptr<node> nd) {
  self->state.nd = std::move(nd);
  return {
      [=](local::dispatch_batch& batch) {
        auto& st = self->state;
        for (auto& item : batch.items) {
          switch (item.kind) {
          case local::dispatch_item::reply:
            if (item.type != 0 && st.conn_of.count(item.session) != 0)
              st.watches.add(item.session, item.path, to_core_kind(item.type));
            queue_frame(self, item.session, item.frame, item.close_after);
            break;
          case local::dispatch_item::trigger:
            fire(self, item.path, item.type, item.acl);
            break;
          case local::dispatch_item::remove_watches:
          case local::dispatch_item::check_watches:
            watch_op(self, item);
            break;
          case local::dispatch_item::session_auth:
            st.auth_of[item.session] = std::move(item.ids);
            break;
          case local::dispatch_item::session_gone:
            st.auth_of.erase(item.session);
            st.watches.remove_session(item.session);
            if (auto i = st.conn_of.find(item.session); i != st.conn_of.end()) {
              // An expired session's connection is closed, as ZooKeeper does;
              // the client learns of the expiry when it reconnects.
              ZKD_TRACE(watch_dispatcher, self->id(), connection,
                        tracer::id_of(i->second), "close",
                        {"session", tracer::hex{item.session}},
                        {"reason", "session_gone"});
              if (st.pending.count(item.session) == 0)
                self->send(i->second, local::close_atom::value);
              else
                st.pending[item.session].close_after = true;
            }
            break;
          }
        }
        flush_pending(self);
        publish_counts(self);
      },
      [=](local::attach_atom, int64_t session, caf::actor conn) {
        auto& st = self->state;
        auto i = st.conn_of.find(session);
        if (i != st.conn_of.end() && i->second != conn) {
          // The session moved to a new connection: ZooKeeper closes the old
          // one. Watches were the old connection's; the client re-registers
          // them with setWatches.
          ZKD_TRACE(watch_dispatcher, self->id(), connection,
                    tracer::id_of(i->second), "close",
                    {"session", tracer::hex{session}}, {"reason", "moved"});
          self->send(i->second, local::close_atom::value);
          st.watches.remove_session(session);
        }
        st.conn_of[session] = std::move(conn);
        publish_counts(self);
      },
      [=](local::detach_atom, int64_t session, caf::actor conn) {
        auto& st = self->state;
        auto i = st.conn_of.find(session);
        if (i == st.conn_of.end() || i->second != conn)
          return;
        // ZooKeeper's watches belong to the connection: they go with it.
        st.conn_of.erase(i);
        st.watches.remove_session(session);
        publish_counts(self);
      },
      [=](local::wchs_atom) {
        auto sum = self->state.watches.summary();
        return std::make_tuple(static_cast<uint64_t>(sum.connections),
                               static_cast<uint64_t>(sum.paths),
                               static_cast<uint64_t>(sum.total));
      },
      [=](local::wchc_atom) { return self->state.watches.by_session(); },
      [=](local::wchp_atom) { return self->state.watches.by_path(); },
  };
}

} // namespace

caf::actor spawn_watch_dispatcher(caf::actor_system& sys,
                                  std::shared_ptr<node> nd) {
  // On the I/O thread, like the connections: see start_node().
  return sys.middleman().spawn_broker(dispatcher_impl, std::move(nd));
}

} // namespace zkd
