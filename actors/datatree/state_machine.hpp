// The node's state machine without its actor: the tree, prep (while this
// node leads), the per-session request order and the txns in flight.
//
// Inputs are method calls (a batch of a session's requests, a session write
// from the tracker, a commit, becoming leader); outputs pile up until the
// shell collects them with take_output(): proposals for the leader, replies
// and watch work for the watch dispatcher (in the order a client must see
// them), and applied createSession/closeSession txns for the session tracker.
// No clock, no I/O: the time a txn is stamped with is passed in.
//
// Per-session order is ZooKeeper's CommitProcessor rule: a request waits
// until every earlier write of its session is applied, so a read sees the
// session's own writes and replies leave in request order, including the
// error replies of writes that prep refused.
//
// In an ensemble a node is, per round, either the leader (lead(): prep,
// zxids, proposals, plus the requests learners forward) or a learner
// (follow(): reads served here, writes, sync and session writes forwarded
// to the leader; the leader's proposals arrive as learner_proposal and are
// applied on commit like the leader's own). A forwarded request holds its
// session's queue until its txn commits or the leader's answer arrives, as
// ZooKeeper's CommitProcessor holds a follower's session behind it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/datatree/prep.hpp"
#include "actors/datatree/tree.hpp"
#include "actors/txn_log/txn_log_messages.hpp"
#include "messages/local/local.hpp"
#include "messages/quorum/quorum.hpp"
#include "messages/txn/txn.hpp"
#include "messages/wire/protocol.hpp"
#include "messages/wire/request.hpp"

namespace zkd::datatree {

class state_machine {
public:
  // What the shell sends after a call, in this order: `session_applied` to
  // the session tracker, `proposals` to the leader, `forwards` to the
  // learner (follower actor), `forward_replies` to the leader, `dispatch` to
  // the watch dispatcher.
  struct output {
    std::vector<local::session_applied> session_applied;
    txn_log::log_append proposals; // in zxid order; only while leading
    // Learner: requests for the leader, in the order they must reach it.
    std::vector<quorum::request> forwards;
    // Leader: answers to learners' forwarded requests that made no txn.
    local::forward_replies forward_replies;
    local::dispatch_batch dispatch;
    // Broken internal expectations the shell logs at critical level; the
    // state machine carries on as ZooKeeper's server would (it replies).
    std::vector<std::string> faults;

    bool empty() const noexcept {
      return session_applied.empty() && proposals.entries.empty() &&
             forwards.empty() && forward_replies.items.empty() &&
             dispatch.items.empty() && faults.empty();
    }
  };

  // Takes ownership of the tree (restored from disk, or fresh).
  // `super_digest` is zookeeper.DigestAuthenticationProvider.superDigest
  // ("super:<base64>", "" for none): a digest auth yielding exactly this id
  // makes the connection super.
  explicit state_machine(std::unique_ptr<tree> t, prep_options opts = {},
                         std::string super_digest = {});

  state_machine(const state_machine&) = delete;
  state_machine& operator=(const state_machine&) = delete;

  // Requests one connection decoded for `session`, in arrival order. Writes
  // are stamped with `now_ms` (the leader's wall clock, replicated in the
  // txn). Before lead() or follow() every write is answered with
  // ZCONNECTIONLOSS, which clients retry. After follow(), writes (and
  // closeSession, createSession, deleteContainer as a client sends them) and
  // sync go to `forwards`; everything else is answered here.
  void requests(int64_t session, std::vector<wire::request>&& rqs,
                int64_t now_ms);

  // createSession / closeSession on behalf of the tracker. Returns ok when
  // proposed (or forwarded, after follow()), connection_loss when neither
  // leading nor following (the tracker retries an expiry on its next tick),
  // else the error prep refused it with. Never a reply: the tracker hears of
  // the outcome through session_applied.
  wire::err session_write(const local::session_write& w, int64_t now_ms);

  // Every txn in flight with a zxid <= `zxid` is committed: apply them in
  // zxid order, each one's watch triggers before its reply. A learner
  // answers the client whose forwarded request a txn is (same session, cxid
  // and op) exactly as a leader answers its own. A leader answers the
  // forwarded syncs every txn proposed before them is now committed for.
  void commit(int64_t zxid);

  // ZooKeeper's ContainerManager run: proposes a deleteContainer txn for
  // each container and TTL node due at `now_ms` (see reaper.hpp), at most
  // `limit` of them. No reply goes anywhere; the deletions fire watches
  // like any delete. Returns how many were proposed (0 unless leading).
  size_t reap(int64_t now_ms, size_t limit, int64_t max_never_used_ms = 0);

  // This node leads `epoch`: zxids continue at epoch << 32 | 1 and prep
  // forgets any change it held for an earlier epoch. Not after follow().
  void lead(int64_t epoch);

  // -- ensemble ---------------------------------------------------------------

  // This node is a learner (follower or observer) this round. Not after
  // lead(): a state machine lives for one round.
  void follow();

  // Learner: the leader proposed (or, to an observer, informed) the txn
  // `txn` (its log payload) as `zxid`. Held in flight until commit(). A
  // payload that does not decode, or a zxid not above everything held, is a
  // fault and dropped. Refused (a fault) while leading.
  void learner_proposal(int64_t zxid, std::string_view txn);

  // Learner: the leader's answer to the forwarded request `cxid` of
  // `session` that made no txn (an error prep refused it with; a sync's
  // reply). Resolves the front-most forwarded request of that cxid; the
  // reply leaves once everything before it in the session's queue has.
  // Ignored when no such request waits (the session is gone).
  void forward_reply(int64_t session, int32_t cxid, std::vector<char> frame);

  // Leader: learner `sid` forwarded `rq` for one of its clients. It is
  // prepared with rq.auth (the session's ids live on the learner): a write
  // prep accepts is proposed without a local reply (the learner answers on
  // commit), anything else is answered in `forward_replies` with the frame
  // a client of this node would get; a sync once every txn proposed before
  // it is committed. createSession (payload: the timeout, 4 bytes
  // big-endian) and closeSession without a payload are session writes.
  void forwarded(uint64_t sid, const quorum::request& rq, int64_t now_ms);

  // `session` is now served over a new connection from `remote_addr` (the
  // peer address as the socket layer prints it). ZooKeeper's auth ids belong
  // to the connection, so the session's start over as ip:<address>; auth
  // packets (handled in requests()) add to them. Call before the
  // connection's first requests(). Ignored for a session that is not live.
  void attach(int64_t session, std::string_view remote_addr);

  [[nodiscard]] output take_output();

  // -- read accessors (metrics, four-letter words, tests) --------------------

  const datatree::tree& data() const noexcept { return *tree_; }

  bool leading() const noexcept { return next_zxid_ != 0; }

  bool following() const noexcept { return following_; }

  // Leader: forwarded syncs waiting for commits.
  size_t pending_syncs() const noexcept { return syncs_.size(); }

  // The zxid the next write gets; 0 until lead().
  int64_t next_zxid() const noexcept { return next_zxid_; }

  size_t inflight_count() const noexcept { return inflight_.size(); }

  // Sessions with requests held behind an unapplied write (or, on a
  // learner, an unanswered forwarded request).
  size_t blocked_sessions() const noexcept { return queues_.size(); }

  // The auth ids requests of `session` are checked with now (empty for a
  // session no connection attached).
  const auth_ids& auth_of(int64_t session) const;

  // Sessions that own ephemerals and their paths, for `dump`.
  std::vector<std::pair<int64_t, std::vector<std::string>>>
  ephemerals_by_session() const;

  // Aborts unless: every queue is non-empty, belongs to a session with a
  // client write in flight and starts with such a write (on a learner: with
  // an unanswered forwarded request); queued writes of a session are in
  // flight, its own, and in zxid order; in-flight zxids strictly increase,
  // stay above the tree's last zxid and below next_zxid; pending syncs wait
  // for a txn in flight; forwards only on a learner, forward replies and
  // proposals only on a leader; plus the tree's and prep's own invariants.
  // O(state): tests and debug builds call it after every input.
  void check_invariants() const;

private:
  // A request held back because an earlier write of its session is not yet
  // applied.
  struct queued {
    enum kind_t { write, read, error, forwarded } kind;
    int64_t zxid = 0;        // write: the txn it waits for
    wire::request request;   // read: served when it reaches the front
    std::vector<char> frame; // error, resolved forwarded: the reply
    // read: the session's auth ids when it arrived (ZooKeeper's Request
    // takes a copy of them on receipt).
    std::shared_ptr<const auth_ids> who;
    // forwarded (learner): the request the leader was sent, and whether
    // its reply (in `frame`) is known.
    int32_t cxid = 0;
    int32_t opcode = 0;
    bool resolved = false;
  };

  // Leader: a learner's sync, answered once the tree reaches `after` (the
  // last zxid proposed when it arrived; ZooKeeper's Leader.processSync).
  struct pending_sync {
    int64_t after;
    uint64_t sid;
    int64_t session;
    wire::request request;
  };

  // A session's auth ids on its current connection.
  struct session_auth {
    auth_set ids;
    std::shared_ptr<const auth_ids> snapshot; // ids.ids(), shared by requests
    std::string ip;                           // ip id of the connection
    bool closed = false; // AUTHFAILED: the connection reads nothing more
  };

  struct inflight_txn {
    int64_t zxid;
    txn::record txn;
    int32_t opcode;
    bool from_client; // a connection of this node waits for the reply
    int32_t xid;
  };

  void handle_request(int64_t session, wire::request& rq, int64_t now_ms);
  // Learner: sends `rq` to the leader and holds the session behind it.
  void forward(int64_t session, const wire::request& rq, const auth_ids& who);
  // Learner: the front-most unanswered forwarded request of `session` with
  // `cxid` (and, unless `opcode` is 0, that op), or null.
  queued* find_forwarded(int64_t session, int32_t cxid, int32_t opcode);
  // Leader: an answer for a learner's client.
  void answer_learner(uint64_t sid, int64_t session, int32_t cxid,
                      std::vector<char> frame);
  // Leader: answers the pending syncs the tree has caught up with.
  void answer_syncs();
  // An AuthPacket, answered at once as ZooKeeper's processPacket does.
  void handle_auth(int64_t session, const wire::request& rq);
  // Answers at once, or behind the session's pending writes.
  void reply_or_queue(int64_t session, std::vector<char> frame);
  void serve(int64_t session, const wire::request& rq, const auth_ids& who);
  void drain(int64_t session);
  // Tells the watch dispatcher the session's ids, for the READ check on
  // the events it gets.
  void emit_auth(int64_t session, const auth_ids& ids);
  void propose(txn::record&& r, int32_t opcode, bool from_client, int32_t xid);
  void emit_reply(int64_t session, std::vector<char> frame,
                  local::watch_kind watch = local::watch_kind::none,
                  std::string watch_path = {}, bool close_after = false);

  std::unique_ptr<tree> tree_;
  std::unique_ptr<prep> prep_; // refers to *tree_
  int64_t next_zxid_ = 0;      // 0 until this node leads
  bool following_ = false;     // a learner this round
  std::unordered_map<int64_t, std::deque<queued>> queues_;
  std::deque<inflight_txn> inflight_; // in zxid order
  std::deque<pending_sync> syncs_;    // leader; in `after` order
  output out_;
  std::string super_digest_;
  std::unordered_map<int64_t, session_auth> auth_;
};

} // namespace zkd::datatree
