// Messages between the actors of one node. Plain structs; the ones that carry
// a std::variant (decoded requests) are local-only and whitelisted as unsafe
// message types, because CAF 0.17 cannot serialize std::variant and they never
// leave the process.
#pragma once

#include <climits>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

#include "messages/wire/records.hpp"
#include "messages/wire/request.hpp"

namespace zkd::wire {

// For dispatch items (local only, but inspectable like every message).
template <class I>
typename I::result_type inspect(I& f, id& x) {
  return f(caf::meta::type_name("zkd::wire::id"), x.scheme, x.ident);
}

template <class I>
typename I::result_type inspect(I& f, acl& x) {
  return f(caf::meta::type_name("zkd::wire::acl"), x.perms, x.id);
}

} // namespace zkd::wire

namespace zkd::local {

// --- atoms -------------------------------------------------------------------
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using touch_atom = caf::atom_constant<caf::atom("touch")>;
using close_atom = caf::atom_constant<caf::atom("close")>;
using commit_atom = caf::atom_constant<caf::atom("commit")>;
using lead_atom = caf::atom_constant<caf::atom("lead")>;
using dump_atom = caf::atom_constant<caf::atom("dump")>;
using wchc_atom = caf::atom_constant<caf::atom("wchc")>;
using wchp_atom = caf::atom_constant<caf::atom("wchp")>;
using attach_atom = caf::atom_constant<caf::atom("attach")>;
using detach_atom = caf::atom_constant<caf::atom("detach")>;
using reap_atom = caf::atom_constant<caf::atom("reap")>;

// --- connection -> datatree

// Stands in for the op code of a request whose header decoded but whose body
// did not; it is answered with ZMARSHALLINGERROR in its turn.
constexpr int32_t undecodable_op = INT32_MIN;
// ----------------------------------------------------

// Every request a connection decoded from one read of its socket, in arrival
// order. Batching keeps the per-request actor hops off the hot path.
struct request_batch {
  int64_t session = 0;
  std::vector<wire::request> requests;
};

// --- session_tracker <-> connection ------------------------------------------

// A ConnectRequest, handed to the tracker with the connection that sent it.
struct connect_session {
  wire::connect_request req;
  std::string remote; // "ip:port", for logs and cons
};

// The tracker's answer: the session exists (new or resumed) with these
// parameters; the connection replies with ConnectResponse and starts serving.
struct session_established {
  int64_t session = 0;
  int32_t timeout_ms = 0;
  std::string passwd;
};

template <class I>
typename I::result_type inspect(I& f, session_established& x) {
  return f(caf::meta::type_name("zkd::session_established"), x.session,
           x.timeout_ms, x.passwd);
}

// The tracker refuses the session (unknown, expired, or wrong password):
// ZooKeeper answers with a ConnectResponse of timeout 0 and closes.
struct session_refused {
  int64_t session = 0;
};

template <class I>
typename I::result_type inspect(I& f, session_refused& x) {
  return f(caf::meta::type_name("zkd::session_refused"), x.session);
}

// --- session_tracker -> datatree (writes on behalf of a session) -------------

// createSession / closeSession as txns through the write path.
struct session_write {
  int64_t session = 0;
  int32_t opcode = 0; // wire::op::create_session or close_session
  int32_t timeout_ms = 0;
};

template <class I>
typename I::result_type inspect(I& f, session_write& x) {
  return f(caf::meta::type_name("zkd::session_write"), x.session, x.opcode,
           x.timeout_ms);
}

// --- datatree -> session_tracker
// ----------------------------------------------

// A createSession or closeSession txn was applied.
struct session_applied {
  int64_t session = 0;
  int32_t opcode = 0;
  int32_t timeout_ms = 0;
};

template <class I>
typename I::result_type inspect(I& f, session_applied& x) {
  return f(caf::meta::type_name("zkd::session_applied"), x.session, x.opcode,
           x.timeout_ms);
}

// --- datatree -> watch_dispatcher
// -------------------------------------------------

// One thing for the dispatcher to do, in order. Everything a session sees
// (replies, watch events) passes through the dispatcher in the order the
// datatree produced it, which is what guarantees a client sees an event before
// the reply to any later request of its session.
struct dispatch_item {
  enum kind_t : int32_t {
    reply = 0,        // send frame to session; register watch if watch_kind
    trigger = 1,      // fire watches on path with event type `type`
    session_gone = 2, // drop the session's watches; close its connection
    // removeWatches / checkWatches: the dispatcher owns the watches, so it
    // answers: {xid, zxid, ZOK or ZNOWATCHER (or ZMARSHALLINGERROR for a
    // path checkWatches cannot walk)}. `type` is the wire::watcher_type.
    remove_watches = 3,
    check_watches = 4,
    // The session's auth ids changed (`ids`): events of nodes it may not
    // READ are withheld from it from now on.
    session_auth = 5,
  };
  int32_t kind = reply;
  int64_t session = 0;
  int32_t type = 0;         // event type (trigger) or watch kind (reply)
  std::string path;         // trigger path or watch path
  std::vector<char> frame;  // encoded reply frame, length prefix included
  bool close_after = false; // close the connection once sent (closeSession)
  int32_t xid = 0;          // remove_watches / check_watches: the request's
  int64_t zxid = 0;         // xid, and the zxid its reply carries
  // trigger: watchers need READ on this ACL (empty: anyone may read).
  std::vector<wire::acl> acl;
  std::vector<wire::id> ids; // session_auth
};

// Asks the watch dispatcher for wchs' figures, which come from the data-watch
// table alone: (connections, paths, total watches) as three uint64_t.
using wchs_atom = caf::atom_constant<caf::atom("wchs")>;

// Watch kinds a reply may register (addWatch: the two persistent ones).
enum class watch_kind : int32_t {
  none = 0,
  data = 1,
  exist = 2,
  child = 3,
  persistent = 4,
  persistent_recursive = 5,
};

template <class I>
typename I::result_type inspect(I& f, dispatch_item& x) {
  return f(caf::meta::type_name("zkd::dispatch_item"), x.kind, x.session,
           x.type, x.path, x.frame, x.close_after, x.xid, x.zxid, x.acl, x.ids);
}

struct dispatch_batch {
  std::vector<dispatch_item> items;
};

template <class I>
typename I::result_type inspect(I& f, dispatch_batch& x) {
  return f(caf::meta::type_name("zkd::dispatch_batch"), x.items);
}

// --- watch_dispatcher <-> connection
// ------------------------------------------

// Bytes for a connection to write: whole frames, concatenated.
struct outbound {
  std::vector<char> bytes;
  bool close_after = false;
};

template <class I>
typename I::result_type inspect(I& f, outbound& x) {
  return f(caf::meta::type_name("zkd::outbound"), x.bytes, x.close_after);
}

// --- connection -> datatree: authentication ---------------------------------

// The session is now served over a new connection from `remote_addr` (the
// peer address as the socket layer prints it). Auth ids belong to a
// connection in ZooKeeper, so the session's start over as ip:<address>; the
// client sends its addauth packets again. Sent before any request_batch of
// that connection.
struct session_attached {
  int64_t session = 0;
  std::string remote_addr;
};

template <class I>
typename I::result_type inspect(I& f, session_attached& x) {
  return f(caf::meta::type_name("zkd::session_attached"), x.session,
           x.remote_addr);
}

} // namespace zkd::local

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(zkd::local::request_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(zkd::local::connect_session)
