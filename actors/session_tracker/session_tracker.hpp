// Session table of one node: ids, passwords, negotiated timeouts and expiry
// in tick buckets, after ZooKeeper's SessionTrackerImpl and ExpiryQueue.
//
// Pure core: no CAF, no clock. Every method that needs the time takes
// `now_ms` (any monotonic millisecond clock the shell chooses, used
// consistently). The shell arms one timer for next_expiration_ms(), calls
// expire(now) when it fires and turns each returned id into a replicated
// closeSession txn.
//
// On a learner (follower or observer) the tracker runs in learner mode
// (follow()), after ZooKeeper's LearnerSessionTracker: the leader expires
// every session of the ensemble, so this one never does; it only collects
// the sessions its clients kept alive (take_touches()), which the learner
// reports to the leader with its next ping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace zkd::session_tracker {

// Key of the password PRF. Every node of an ensemble must use the same key:
// a client that reconnects to another server presents the password the
// first one handed out, and the new server recomputes it from the id.
struct password_key {
  uint64_t k0 = 0;
  uint64_t k1 = 0;
};

// SipHash-2-4 of the 16-byte message that is the little-endian encoding of
// (m0, m1); public so tests can check it against the reference vectors.
uint64_t sip_hash_2_4(const password_key& key, uint64_t m0, uint64_t m1);

enum class session_state : uint8_t {
  unknown, // never added, or removed
  active,  // counted by touch() and expire()
  closing, // closeSession under way (client close or expiry): not touchable
};

// One expiry bucket, for the `dump` four-letter word.
struct expiry_bucket {
  int64_t expires_at_ms = 0;
  std::vector<int64_t> sessions; // ascending
};

class tracker {
public:
  // next_expiration_ms() when no active session is left.
  static constexpr int64_t never = std::numeric_limits<int64_t>::max();

  // tick_ms: bucket width (ZooKeeper's tickTime), > 0.
  // server_id: goes into the top byte of every session id; ids of different
  //   servers never collide. ZooKeeper's standalone server uses 1.
  // id_base_ms: the time ZooKeeper reads in initializeNextSessionId; pass a
  //   wall-clock reading so ids stay unique across restarts of this server.
  // key: password PRF key, see password_key.
  tracker(int64_t tick_ms, uint64_t server_id, int64_t id_base_ms,
          password_key key);

  // ZooKeeper's initial id: server id in the top byte, the low 40 bits of
  // base_ms in the next five bytes, zero in the low two bytes. Never returns
  // Long.MIN_VALUE, which ZooKeeper reserves as the container "owner".
  static int64_t initial_session_id(uint64_t server_id, int64_t base_ms);

  // Hands out the next id (not yet tracked: call add() when the
  // createSession txn is applied).
  int64_t next_session_id();

  // Starts tracking `id` with `timeout_ms`, expiring in the bucket after
  // now + timeout. Tracking an id again refreshes its deadline and timeout
  // but keeps a closing session closing (ZooKeeper's trackSession). Returns
  // true if the session is new.
  bool add(int64_t id, int32_t timeout_ms, int64_t now_ms);

  // Moves the deadline of an active session to the bucket after
  // now + its timeout. False if the session is unknown or closing: the
  // caller must then treat it as expired. In learner mode it also records
  // the touch for take_touches().
  bool touch(int64_t id, int64_t now_ms);
  // The same with the deadline computed from `timeout_ms` instead of the
  // session's own timeout, which stays as it is: the timeout of the
  // connection that touched it (ZooKeeper's touchSession(id, timeout), used
  // for a learner's touches on the leader). Unknown or closing: false and
  // nothing changes (the leader ignores touches of sessions it does not
  // know).
  bool touch(int64_t id, int32_t timeout_ms, int64_t now_ms);

  // Marks the session closing (closeSession under way). It no longer
  // expires on its own and touch() refuses it; remove() forgets it.
  void set_closing(int64_t id);

  // Forgets the session (closeSession applied).
  void remove(int64_t id);

  // Every active session whose bucket time is <= now_ms, in deadline order
  // (ties by id), each marked closing so it is reported exactly once.
  std::vector<int64_t> expire(int64_t now_ms);

  // Time of the earliest bucket holding an active session, or `never`
  // (always `never` in learner mode).
  int64_t next_expiration_ms() const;

  // Enters learner mode for good: expire() reports nothing from now on; a
  // session added (createSession applied) or touched is recorded for the
  // next take_touches(), and one removed is dropped from the record.
  void follow();
  bool following() const { return following_; }

  // Learner mode: every session touched or added since the last call, as
  // (id, timeout) ascending by id, where the timeout is the one of the
  // last touch; clears the record.
  std::vector<std::pair<int64_t, int32_t>> take_touches();
  // Learner mode: sessions recorded and not yet taken.
  size_t pending_touches() const { return touched_.size(); }

  // Replaces the password key (a learner adopts its leader's): from now on
  // password() and check_password() use it.
  void set_password_key(password_key key) { key_ = key; }

  bool contains(int64_t id) const { return sessions_.count(id) != 0; }
  session_state state(int64_t id) const;
  std::optional<int32_t> timeout_ms(int64_t id) const;
  // Deadline (bucket time) of an active session.
  std::optional<int64_t> expires_at_ms(int64_t id) const;
  // Tracked sessions, closing ones included.
  size_t size() const { return sessions_.size(); }
  // Every tracked id, ascending.
  std::vector<int64_t> session_ids() const;
  // Every tracked session as (id, timeout), ascending by id: a learner's
  // `dump` ("Global Sessions").
  std::vector<std::pair<int64_t, int32_t>> sessions_with_timeouts() const;
  // Non-empty buckets in time order, for `dump`.
  std::vector<expiry_bucket> buckets() const;

  int64_t tick_ms() const { return tick_ms_; }

  // ZooKeeper's clamp of the timeout a client asks for to
  // [min_ms, max_ms] (ZooKeeperServer.processConnectRequest).
  static int32_t negotiate_timeout(int32_t requested_ms, int32_t min_ms,
                                   int32_t max_ms);
  // ZooKeeper's defaults when min/maxSessionTimeout are not configured.
  static int32_t default_min_timeout(int32_t tick_ms) { return 2 * tick_ms; }
  static int32_t default_max_timeout(int32_t tick_ms) { return 20 * tick_ms; }

  // The 16-byte password of `id`: SipHash-2-4 under the password key, of
  // (id, 0) for bytes 0..7 and (id, 1) for bytes 8..15, little-endian.
  // Deterministic, so it survives restarts and is the same on every node
  // (ZooKeeper seeds java.util.Random with id ^ a constant for the same
  // reason); unguessable without the key.
  std::string password(int64_t id) const;
  static std::string password(int64_t id, const password_key& key);

  // ZooKeeper's checkPasswd: id 0 never matches. Constant time.
  bool check_password(int64_t id, std::string_view pw) const;

  // Aborts if the session table and the buckets disagree.
  void check_invariants() const;

private:
  struct session {
    int32_t timeout_ms = 0;
    int64_t expires_at_ms = 0; // bucket time; meaningful when !closing
    bool closing = false;
  };

  // ExpiryQueue.roundToNextInterval: the end of the tick holding `time_ms`.
  int64_t round_to_next_tick(int64_t time_ms) const;
  bool touch_until(int64_t id, int32_t timeout_ms, int64_t now_ms);
  void unqueue(int64_t id, const session& s);
  void enqueue(int64_t id, session& s, int64_t expires_at_ms);

  int64_t tick_ms_;
  int64_t next_id_;
  password_key key_;
  std::unordered_map<int64_t, session> sessions_;
  // Bucket time -> active sessions due then. Empty buckets are erased at
  // once, so next_expiration_ms() is the first key.
  std::map<int64_t, std::unordered_set<int64_t>> buckets_;
  bool following_ = false;
  // Learner mode: sessions touched since the last take_touches(), with the
  // timeout to report (ordered, so reports are reproducible).
  std::map<int64_t, int32_t> touched_;
};

} // namespace zkd::session_tracker
