// Messages between the actors of one node. Plain structs; the ones that carry
// a std::variant (decoded requests) are local-only and whitelisted as unsafe
// message types, because CAF 0.17 cannot serialize std::variant and they never
// leave the process.
#pragma once

#include <climits>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
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

// --- the ensemble (see the peer, leader and follower actors)
// ------------------

// peer -> datatree: this round the node is a learner (follower or observer):
// writes are forwarded to the leader, txns arrive as learner_proposal.
using follow_atom = caf::atom_constant<caf::atom("follow")>;
// role actor -> peer: discovery and sync are done, clients may be served.
using serving_atom = caf::atom_constant<caf::atom("serving")>;
// peer -> client_listener: close every client connection (the round ended).
using close_all_atom = caf::atom_constant<caf::atom("closeall")>;

// follower actor -> datatree: a PROPOSAL (or an INFORM, then a commit_atom).
struct learner_proposal {
  int64_t zxid = 0;
  std::string txn; // the log payload bytes (messages/txn encoding)
};

template <class I>
typename I::result_type inspect(I& f, learner_proposal& x) {
  return f(caf::meta::type_name("zkd::learner_proposal"), x.zxid, x.txn);
}

// follower actor -> datatree: the leader's answer to a forwarded request of
// a local session that produced no txn (a write prep refused; a sync).
struct forward_reply {
  int64_t session = 0;
  int32_t cxid = 0;
  std::vector<char> frame; // the encoded reply, length prefix included
};

template <class I>
typename I::result_type inspect(I& f, forward_reply& x) {
  return f(caf::meta::type_name("zkd::forward_reply"), x.session, x.cxid,
           x.frame);
}

// datatree (leader) -> leader actor: answers for learners' sessions, in the
// order they must reach the learners.
struct forward_replies {
  std::vector<std::pair<uint64_t, forward_reply>> items; // learner sid, reply
};

template <class I>
typename I::result_type inspect(I& f, forward_replies& x) {
  return f(caf::meta::type_name("zkd::forward_replies"), x.items);
}

// datatree -> leader actor: a snapshot of the tree at `zxid` is on disk.
struct snapshot_taken {
  int64_t zxid = 0;
  std::string path;
};

template <class I>
typename I::result_type inspect(I& f, snapshot_taken& x) {
  return f(caf::meta::type_name("zkd::snapshot_taken"), x.zxid, x.path);
}

// role actor -> peer: the role is over (quorum lost, leader lost, a reload
// needed after TRUNC/SNAP). rejoin: follow the same leader again without an
// election.
struct role_ended {
  std::string reason;
  bool rejoin = false;
  // Done by the peer once the round's log writer has stopped, before the
  // files are read again: drop log records above this zxid (TRUNC) ...
  int64_t truncate_to = -1;
  // ... or install this snapshot and drop the log (SNAP).
  int64_t snapshot_zxid = 0;
  std::string snapshot;
};

template <class I>
typename I::result_type inspect(I& f, role_ended& x) {
  return f(caf::meta::type_name("zkd::role_ended"), x.reason, x.rejoin,
           x.truncate_to, x.snapshot_zxid, x.snapshot);
}

// learner -> the leader node's peer (published on the quorum port): which
// actor leads this round? Answered with a caf::actor, or an error while the
// node does not lead.
using leader_atom = caf::atom_constant<caf::atom("leader")>;

// --- session_tracker (plumbing) ---------------------------------------------

// follower actor -> session_tracker: (password_key_atom, uint64_t k0,
// uint64_t k1), the leader's session password key, so a password handed
// out by any node of the ensemble checks here too.
using password_key_atom = caf::atom_constant<caf::atom("pwkey")>;

} // namespace zkd::local

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(zkd::local::request_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(zkd::local::connect_session)

// --- leader actor -> datatree (leader): a learner's forwarded request --------

#include "messages/quorum/quorum.hpp"

namespace zkd::local {

struct forwarded_request {
  uint64_t sid = 0;   // the learner that forwarded it
  quorum::request rq; // as its datatree sent it
};

template <class I>
typename I::result_type inspect(I& f, forwarded_request& x) {
  return f(caf::meta::type_name("zkd::forwarded_request"), x.sid, x.rq);
}

} // namespace zkd::local
