// Messages between the nodes of an ensemble: Fast Leader Election votes and
// the Zab phases (discovery, sync, broadcast). Plain structs with ZooKeeper's
// own names so code, traces and the papers line up; each has an `inspect`
// so it crosses caf::io (BASP). The only CAF header here is the header-only
// type_name annotation, so the protocol cores can use these structs without
// linking CAF. Every type must also be announced to the actor system: see
// add_message_types below (a type that is not announced is silently dropped
// by BASP, the receiver sees an empty message).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace caf {
class actor_system_config;
} // namespace caf

namespace zkd::quorum {

using server_id = uint64_t;

// --- zxids -------------------------------------------------------------------
// ZooKeeper's 64-bit layout: the leader epoch in the high 32 bits, a counter
// that restarts at 0 with each epoch in the low 32 bits.

constexpr uint32_t epoch_of(int64_t zxid) {
  return static_cast<uint32_t>(static_cast<uint64_t>(zxid) >> 32);
}

constexpr uint32_t counter_of(int64_t zxid) {
  return static_cast<uint32_t>(static_cast<uint64_t>(zxid) & 0xffffffffu);
}

constexpr int64_t make_zxid(uint32_t epoch, uint32_t counter) {
  return static_cast<int64_t>((static_cast<uint64_t>(epoch) << 32) | counter);
}

// --- Fast Leader Election ----------------------------------------------------

// ServerState of the sender, with ZooKeeper's wire values.
enum class peer_state : uint8_t {
  looking = 0,
  following = 1,
  leading = 2,
  observing = 3,
};

constexpr std::string_view to_string(peer_state s) {
  switch (s) {
  case peer_state::looking:
    return "LOOKING";
  case peer_state::following:
    return "FOLLOWING";
  case peer_state::leading:
    return "LEADING";
  case peer_state::observing:
    return "OBSERVING";
  }
  return "?";
}

// A vote: whom the sender proposes (or follows) and why.
struct vote {
  server_id leader = 0;        // proposed leader
  int64_t zxid = 0;            // last logged zxid of the proposed leader
  uint64_t election_epoch = 0; // the round (logical clock) it was cast in
  uint64_t peer_epoch = 0;     // current epoch of the proposed leader
};

inline bool operator==(const vote& x, const vote& y) {
  return x.leader == y.leader && x.zxid == y.zxid &&
         x.election_epoch == y.election_epoch && x.peer_epoch == y.peer_epoch;
}

inline bool operator!=(const vote& x, const vote& y) {
  return !(x == y);
}

// ZooKeeper's totalOrderPredicate: does `x` beat `y`? Peer epoch first (a
// node that saw a later leader knows more), then zxid, then server id. The
// election epoch takes no part: it orders rounds, not candidates.
inline bool beats(const vote& x, const vote& y) {
  return std::tie(x.peer_epoch, x.zxid, x.leader) >
         std::tie(y.peer_epoch, y.zxid, y.leader);
}

// ZooKeeper's Notification: sent on every change of the sender's vote, after
// a silence, and as the answer to a LOOKING peer.
struct notification {
  server_id sender = 0;                   // who sends it
  peer_state state = peer_state::looking; // the sender's state
  vote v;                                 // its current vote
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, vote& x) {
  return f(caf::meta::type_name("zkd::quorum::vote"), x.leader, x.zxid,
           x.election_epoch, x.peer_epoch);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, notification& x) {
  return f(caf::meta::type_name("zkd::quorum::notification"), x.sender, x.state,
           x.v);
}

// --- Zab phase 1: discovery --------------------------------------------------

// Version of these messages; a learner and a leader with different versions
// do not talk (LEADERINFO answers with the leader's).
constexpr uint32_t protocol_version = 1;

// FOLLOWERINFO: a follower connects to the leader it elected.
struct follower_info {
  server_id sid = 0;                   // the follower
  uint32_t accepted_epoch = 0;         // its acceptedEpoch
  uint32_t version = protocol_version; // message protocol version
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, follower_info& x) {
  return f(caf::meta::type_name("zkd::quorum::follower_info"), x.sid,
           x.accepted_epoch, x.version);
}

// OBSERVERINFO: the same for an observer; its accepted epoch takes no part in
// choosing the new epoch.
struct observer_info {
  server_id sid = 0;
  uint32_t accepted_epoch = 0;
  uint32_t version = protocol_version;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, observer_info& x) {
  return f(caf::meta::type_name("zkd::quorum::observer_info"), x.sid,
           x.accepted_epoch, x.version);
}

// LEADERINFO: the epoch the leader proposes, above every accepted epoch of a
// quorum of followers.
struct leader_info {
  uint32_t new_epoch = 0;
  uint32_t version = protocol_version;
  // The key session passwords are derived from: every node of the
  // ensemble takes the leader's, so a client's password is valid on any
  // server it moves to.
  uint64_t session_key0 = 0;
  uint64_t session_key1 = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, leader_info& x) {
  return f(caf::meta::type_name("zkd::quorum::leader_info"), x.new_epoch,
           x.version, x.session_key0, x.session_key1);
}

// ACKEPOCH: the learner accepted the new epoch and tells the leader what it
// holds, which is everything the leader's sync plan needs.
struct ack_epoch {
  server_id sid = 0;
  // The learner's currentEpoch; -1 when it had already accepted this epoch
  // (ZooKeeper's convention: the leader then skips the "ahead of me" check).
  int64_t current_epoch = -1;
  int64_t last_zxid = 0;     // newest txn it holds (log or snapshot)
  int64_t snapshot_zxid = 0; // its newest snapshot: all txns <= it committed
  // The last zxid it holds of each epoch, ascending: lets the leader find
  // where their histories part (see actors/leader/sync_plan.hpp).
  std::vector<int64_t> epoch_ends;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ack_epoch& x) {
  return f(caf::meta::type_name("zkd::quorum::ack_epoch"), x.sid,
           x.current_epoch, x.last_zxid, x.snapshot_zxid, x.epoch_ends);
}

// --- Zab phase 2: sync -------------------------------------------------------

// DIFF: proposal/commit pairs for every txn after the learner's zxid follow.
struct diff {
  int64_t last_committed = 0; // the leader's last committed zxid
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, diff& x) {
  return f(caf::meta::type_name("zkd::quorum::diff"), x.last_committed);
}

// TRUNC: drop every txn above `zxid` (they were never committed); a DIFF
// follows.
struct trunc {
  int64_t zxid = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, trunc& x) {
  return f(caf::meta::type_name("zkd::quorum::trunc"), x.zxid);
}

// SNAP: the leader's whole tree as of `zxid` follows in snap_chunks.
struct snap {
  int64_t zxid = 0;
  uint64_t size_bytes = 0; // of the serialized tree
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snap& x) {
  return f(caf::meta::type_name("zkd::quorum::snap"), x.zxid, x.size_bytes);
}

// One piece of a snapshot. BASP has no backpressure: the leader keeps a
// window of chunks in flight and the learner acks each.
struct snap_chunk {
  uint64_t seq = 0;  // 0, 1, 2, ...
  std::string bytes; // at most 64 KiB
  bool last = false; // the final chunk
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snap_chunk& x) {
  return f(caf::meta::type_name("zkd::quorum::snap_chunk"), x.seq, x.bytes,
           x.last);
}

struct snap_chunk_ack {
  uint64_t seq = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snap_chunk_ack& x) {
  return f(caf::meta::type_name("zkd::quorum::snap_chunk_ack"), x.seq);
}

// NEWLEADER: the sync is complete; the learner makes the new epoch its
// currentEpoch and ACKs with this zxid.
struct new_leader {
  int64_t zxid = 0; // make_zxid(new epoch, 0)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, new_leader& x) {
  return f(caf::meta::type_name("zkd::quorum::new_leader"), x.zxid);
}

// UPTODATE: a quorum acked NEWLEADER; the learner starts serving clients.
struct up_to_date {
  uint32_t epoch = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, up_to_date& x) {
  return f(caf::meta::type_name("zkd::quorum::up_to_date"), x.epoch);
}

// --- Zab phase 3: broadcast --------------------------------------------------

// PROPOSAL: a txn to log; the follower ACKs once it is durable.
struct proposal {
  int64_t zxid = 0;
  std::string txn; // the txn record as the log stores it (messages/txn)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, proposal& x) {
  return f(caf::meta::type_name("zkd::quorum::proposal"), x.zxid, x.txn);
}

// ACK: the sender has logged every proposal up to `zxid` (acks are
// cumulative, a follower logs in order). Also the answer to NEWLEADER.
struct ack {
  server_id sid = 0;
  int64_t zxid = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ack& x) {
  return f(caf::meta::type_name("zkd::quorum::ack"), x.sid, x.zxid);
}

// COMMIT: apply every proposal up to `zxid`.
struct commit {
  int64_t zxid = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, commit& x) {
  return f(caf::meta::type_name("zkd::quorum::commit"), x.zxid);
}

// INFORM: a committed txn for an observer, which sees no proposals.
struct inform {
  int64_t zxid = 0;
  std::string txn;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, inform& x) {
  return f(caf::meta::type_name("zkd::quorum::inform"), x.zxid, x.txn);
}

// A session the learner's clients kept alive since the last ping.
struct session_touch {
  int64_t session = 0;
  int32_t timeout_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_touch& x) {
  return f(caf::meta::type_name("zkd::quorum::session_touch"), x.session,
           x.timeout_ms);
}

// PING: leader -> learner carries the leader's last proposed zxid and no
// sessions; the learner's answer carries the sessions its clients touched,
// so the leader's session tracker sees every live session.
struct ping {
  int64_t zxid = 0;
  std::vector<session_touch> sessions;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ping& x) {
  return f(caf::meta::type_name("zkd::quorum::ping"), x.zxid, x.sessions);
}

// One authenticated identity of a session (ZooKeeper's Id).
struct auth_id {
  std::string scheme;
  std::string id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, auth_id& x) {
  return f(caf::meta::type_name("zkd::quorum::auth_id"), x.scheme, x.id);
}

// REQUEST: a write (or sync, or createSession/closeSession) a learner's
// client sent, forwarded to the leader, which validates it with the
// session's identities.
struct request {
  int64_t session = 0;
  int32_t cxid = 0;    // the client's xid
  int32_t type = 0;    // ZooKeeper op code
  std::string payload; // the request record, jute-encoded
  std::vector<auth_id> auth;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, request& x) {
  return f(caf::meta::type_name("zkd::quorum::request"), x.session, x.cxid,
           x.type, x.payload, x.auth);
}

// The leader's answer to a forwarded request that produced no txn: the
// error reply of a write its prep refused, or the reply to a sync once
// everything before it is committed. Travels in order with the proposals.
struct reply {
  int64_t session = 0;
  int32_t cxid = 0;
  std::string frame; // the encoded reply, length prefix included
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reply& x) {
  return f(caf::meta::type_name("zkd::quorum::reply"), x.session, x.cxid,
           x.frame);
}

// ZooKeeper's packet names, for logs and traces.
constexpr const char* message_name(const notification&) {
  return "NOTIFICATION";
}
constexpr const char* message_name(const follower_info&) {
  return "FOLLOWERINFO";
}
constexpr const char* message_name(const observer_info&) {
  return "OBSERVERINFO";
}
constexpr const char* message_name(const leader_info&) {
  return "LEADERINFO";
}
constexpr const char* message_name(const ack_epoch&) {
  return "ACKEPOCH";
}
constexpr const char* message_name(const diff&) {
  return "DIFF";
}
constexpr const char* message_name(const trunc&) {
  return "TRUNC";
}
constexpr const char* message_name(const snap&) {
  return "SNAP";
}
constexpr const char* message_name(const snap_chunk&) {
  return "SNAP_CHUNK";
}
constexpr const char* message_name(const snap_chunk_ack&) {
  return "SNAP_CHUNK_ACK";
}
constexpr const char* message_name(const new_leader&) {
  return "NEWLEADER";
}
constexpr const char* message_name(const up_to_date&) {
  return "UPTODATE";
}
constexpr const char* message_name(const proposal&) {
  return "PROPOSAL";
}
constexpr const char* message_name(const ack&) {
  return "ACK";
}
constexpr const char* message_name(const commit&) {
  return "COMMIT";
}
constexpr const char* message_name(const inform&) {
  return "INFORM";
}
constexpr const char* message_name(const ping&) {
  return "PING";
}
constexpr const char* message_name(const request&) {
  return "REQUEST";
}
constexpr const char* message_name(const reply&) {
  return "REPLY";
}

// The zxid a message is about, for traces (0: none).
inline int64_t message_zxid(const ack_epoch& m) {
  return m.last_zxid;
}
inline int64_t message_zxid(const diff& m) {
  return m.last_committed;
}
inline int64_t message_zxid(const trunc& m) {
  return m.zxid;
}
inline int64_t message_zxid(const snap& m) {
  return m.zxid;
}
inline int64_t message_zxid(const new_leader& m) {
  return m.zxid;
}
inline int64_t message_zxid(const proposal& m) {
  return m.zxid;
}
inline int64_t message_zxid(const ack& m) {
  return m.zxid;
}
inline int64_t message_zxid(const commit& m) {
  return m.zxid;
}
inline int64_t message_zxid(const inform& m) {
  return m.zxid;
}
inline int64_t message_zxid(const ping& m) {
  return m.zxid;
}
template <class T>
int64_t message_zxid(const T&) {
  return 0;
}

// --- registration ------------------------------------------------------------

template <class T>
struct type_tag {
  using type = T;
};

// Calls f(type_tag<T>{}, name) for every type that crosses the wire, nested
// field types included. add_message_types registers exactly these; tests
// use the same list to check each one round-trips.
template <class F>
void for_each_message_type(F&& f) {
  f(type_tag<vote>{}, "zkd::quorum::vote");
  f(type_tag<notification>{}, "zkd::quorum::notification");
  f(type_tag<follower_info>{}, "zkd::quorum::follower_info");
  f(type_tag<observer_info>{}, "zkd::quorum::observer_info");
  f(type_tag<leader_info>{}, "zkd::quorum::leader_info");
  f(type_tag<ack_epoch>{}, "zkd::quorum::ack_epoch");
  f(type_tag<diff>{}, "zkd::quorum::diff");
  f(type_tag<trunc>{}, "zkd::quorum::trunc");
  f(type_tag<snap>{}, "zkd::quorum::snap");
  f(type_tag<snap_chunk>{}, "zkd::quorum::snap_chunk");
  f(type_tag<snap_chunk_ack>{}, "zkd::quorum::snap_chunk_ack");
  f(type_tag<new_leader>{}, "zkd::quorum::new_leader");
  f(type_tag<up_to_date>{}, "zkd::quorum::up_to_date");
  f(type_tag<proposal>{}, "zkd::quorum::proposal");
  f(type_tag<ack>{}, "zkd::quorum::ack");
  f(type_tag<commit>{}, "zkd::quorum::commit");
  f(type_tag<inform>{}, "zkd::quorum::inform");
  f(type_tag<session_touch>{}, "zkd::quorum::session_touch");
  f(type_tag<ping>{}, "zkd::quorum::ping");
  f(type_tag<auth_id>{}, "zkd::quorum::auth_id");
  f(type_tag<request>{}, "zkd::quorum::request");
  f(type_tag<reply>{}, "zkd::quorum::reply");
}

// Announces every type above to CAF, so BASP can carry them. Call it in the
// actor_system_config's constructor of every node.
void add_message_types(caf::actor_system_config& cfg);

} // namespace zkd::quorum
