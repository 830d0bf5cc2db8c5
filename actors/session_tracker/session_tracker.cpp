#include "session_tracker.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace zkd::session_tracker {

namespace {

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "session_tracker invariant violated: %s\n", what);
    std::abort();
  }
}

uint64_t rotl(uint64_t x, int b) {
  return (x << b) | (x >> (64 - b));
}

struct sip_state {
  uint64_t v0, v1, v2, v3;

  void round() {
    v0 += v1;
    v1 = rotl(v1, 13);
    v1 ^= v0;
    v0 = rotl(v0, 32);
    v2 += v3;
    v3 = rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = rotl(v1, 17);
    v1 ^= v2;
    v2 = rotl(v2, 32);
  }

  void compress(uint64_t m) {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
};

void put_le64(std::string& out, uint64_t x) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xff));
}

} // namespace

// SipHash-2-4 (Aumasson & Bernstein), word-level: the 16-byte message is
// two full blocks, and its length goes into the top byte of the last one.
uint64_t sip_hash_2_4(const password_key& key, uint64_t m0, uint64_t m1) {
  sip_state s{key.k0 ^ 0x736f6d6570736575ULL, key.k1 ^ 0x646f72616e646f6dULL,
              key.k0 ^ 0x6c7967656e657261ULL, key.k1 ^ 0x7465646279746573ULL};
  s.compress(m0);
  s.compress(m1);
  s.compress(uint64_t{16} << 56);
  s.v2 ^= 0xff;
  for (int i = 0; i < 4; ++i)
    s.round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

tracker::tracker(int64_t tick_ms, uint64_t server_id, int64_t id_base_ms,
                 password_key key)
    : tick_ms_(tick_ms), next_id_(initial_session_id(server_id, id_base_ms)),
      key_(key) {
  require(tick_ms > 0, "tick_ms > 0");
  require(server_id <= 0xff, "server id fits in the top byte of a session id");
}

int64_t tracker::initial_session_id(uint64_t server_id, int64_t base_ms) {
  // (base << 24) >>> 8 keeps the low 40 bits of the time in bits 16..55.
  uint64_t sid = (static_cast<uint64_t>(base_ms) << 24) >> 8;
  sid |= server_id << 56;
  // Long.MIN_VALUE marks container nodes in ephemeralOwner
  // (EphemeralType.CONTAINER_EPHEMERAL_OWNER); no session may own it.
  if (sid == (uint64_t{1} << 63))
    ++sid;
  return static_cast<int64_t>(sid);
}

int64_t tracker::next_session_id() {
  auto id = next_id_;
  next_id_ = static_cast<int64_t>(static_cast<uint64_t>(next_id_) + 1);
  return id;
}

int64_t tracker::round_to_next_tick(int64_t time_ms) const {
  return (time_ms / tick_ms_ + 1) * tick_ms_;
}

void tracker::unqueue(int64_t id, const session& s) {
  if (s.closing)
    return;
  auto i = buckets_.find(s.expires_at_ms);
  if (i == buckets_.end())
    return;
  i->second.erase(id);
  if (i->second.empty())
    buckets_.erase(i);
}

void tracker::enqueue(int64_t id, session& s, int64_t expires_at_ms) {
  s.expires_at_ms = expires_at_ms;
  buckets_[expires_at_ms].insert(id);
}

bool tracker::add(int64_t id, int32_t timeout_ms, int64_t now_ms) {
  auto [i, added] = sessions_.try_emplace(id);
  auto& s = i->second;
  s.timeout_ms = timeout_ms;
  // LearnerSessionTracker.commitSession: a session the ensemble just
  // created is reported to the leader with the next ping.
  if (following_)
    touched_[id] = timeout_ms;
  if (s.closing)
    return added;
  auto due = round_to_next_tick(now_ms + timeout_ms);
  if (!added) {
    if (s.expires_at_ms == due)
      return false;
    unqueue(id, s);
  }
  enqueue(id, s, due);
  return added;
}

bool tracker::touch(int64_t id, int64_t now_ms) {
  auto i = sessions_.find(id);
  if (i == sessions_.end() || i->second.closing)
    return false;
  return touch_until(id, i->second.timeout_ms, now_ms);
}

bool tracker::touch(int64_t id, int32_t timeout_ms, int64_t now_ms) {
  auto i = sessions_.find(id);
  if (i == sessions_.end() || i->second.closing)
    return false;
  return touch_until(id, timeout_ms, now_ms);
}

bool tracker::touch_until(int64_t id, int32_t timeout_ms, int64_t now_ms) {
  auto& s = sessions_.find(id)->second;
  if (following_)
    touched_[id] = timeout_ms;
  auto due = round_to_next_tick(now_ms + timeout_ms);
  // Most pings land in the bucket the session already sits in: the cheap
  // case ExpiryQueue.update also short-cuts.
  if (due != s.expires_at_ms) {
    unqueue(id, s);
    enqueue(id, s, due);
  }
  return true;
}

void tracker::set_closing(int64_t id) {
  auto i = sessions_.find(id);
  if (i == sessions_.end() || i->second.closing)
    return;
  unqueue(id, i->second);
  i->second.closing = true;
}

void tracker::remove(int64_t id) {
  touched_.erase(id);
  auto i = sessions_.find(id);
  if (i == sessions_.end())
    return;
  unqueue(id, i->second);
  sessions_.erase(i);
}

std::vector<int64_t> tracker::expire(int64_t now_ms) {
  std::vector<int64_t> result;
  if (following_)
    return result;
  while (!buckets_.empty() && buckets_.begin()->first <= now_ms) {
    auto first = result.size();
    for (auto id : buckets_.begin()->second) {
      auto i = sessions_.find(id);
      require(i != sessions_.end(), "queued session is tracked");
      i->second.closing = true;
      result.push_back(id);
    }
    // Hash-set order would make the simulator's runs depend on the
    // standard library; sort each bucket so expiry order is reproducible.
    std::sort(result.begin() + static_cast<std::ptrdiff_t>(first),
              result.end());
    buckets_.erase(buckets_.begin());
  }
  return result;
}

int64_t tracker::next_expiration_ms() const {
  return following_ || buckets_.empty() ? never : buckets_.begin()->first;
}

void tracker::follow() {
  following_ = true;
}

std::vector<std::pair<int64_t, int32_t>> tracker::take_touches() {
  std::vector<std::pair<int64_t, int32_t>> out(touched_.begin(),
                                               touched_.end());
  touched_.clear();
  return out;
}

session_state tracker::state(int64_t id) const {
  auto i = sessions_.find(id);
  if (i == sessions_.end())
    return session_state::unknown;
  return i->second.closing ? session_state::closing : session_state::active;
}

std::optional<int32_t> tracker::timeout_ms(int64_t id) const {
  auto i = sessions_.find(id);
  if (i == sessions_.end())
    return std::nullopt;
  return i->second.timeout_ms;
}

std::optional<int64_t> tracker::expires_at_ms(int64_t id) const {
  auto i = sessions_.find(id);
  if (i == sessions_.end() || i->second.closing)
    return std::nullopt;
  return i->second.expires_at_ms;
}

std::vector<int64_t> tracker::session_ids() const {
  std::vector<int64_t> ids;
  ids.reserve(sessions_.size());
  for (auto& kv : sessions_)
    ids.push_back(kv.first);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<std::pair<int64_t, int32_t>>
tracker::sessions_with_timeouts() const {
  std::vector<std::pair<int64_t, int32_t>> out;
  out.reserve(sessions_.size());
  for (auto& [id, s] : sessions_)
    out.emplace_back(id, s.timeout_ms);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<expiry_bucket> tracker::buckets() const {
  std::vector<expiry_bucket> result;
  result.reserve(buckets_.size());
  for (auto& [when, ids] : buckets_) {
    expiry_bucket b;
    b.expires_at_ms = when;
    b.sessions.assign(ids.begin(), ids.end());
    std::sort(b.sessions.begin(), b.sessions.end());
    result.push_back(std::move(b));
  }
  return result;
}

int32_t tracker::negotiate_timeout(int32_t requested_ms, int32_t min_ms,
                                   int32_t max_ms) {
  // Same order as ZooKeeper: raise to the minimum first, then cap at the
  // maximum, so a misconfigured min > max yields max.
  auto t = requested_ms;
  if (t < min_ms)
    t = min_ms;
  if (t > max_ms)
    t = max_ms;
  return t;
}

std::string tracker::password(int64_t id, const password_key& key) {
  std::string out;
  out.reserve(16);
  auto uid = static_cast<uint64_t>(id);
  put_le64(out, sip_hash_2_4(key, uid, 0));
  put_le64(out, sip_hash_2_4(key, uid, 1));
  return out;
}

std::string tracker::password(int64_t id) const {
  return password(id, key_);
}

bool tracker::check_password(int64_t id, std::string_view pw) const {
  if (id == 0)
    return false;
  auto expected = password(id);
  if (pw.size() != expected.size())
    return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < pw.size(); ++i)
    diff |= static_cast<unsigned char>(pw[i] ^ expected[i]);
  return diff == 0;
}

void tracker::check_invariants() const {
  size_t queued = 0;
  for (auto& [when, ids] : buckets_) {
    require(!ids.empty(), "no empty bucket is kept");
    require(when % tick_ms_ == 0, "bucket times are tick multiples");
    for (auto id : ids) {
      auto i = sessions_.find(id);
      require(i != sessions_.end(), "queued session is tracked");
      require(!i->second.closing, "closing session is not queued");
      require(i->second.expires_at_ms == when,
              "session sits in the bucket of its deadline");
    }
    queued += ids.size();
  }
  size_t active = 0;
  for (auto& [id, s] : sessions_) {
    if (s.closing)
      continue;
    ++active;
    auto i = buckets_.find(s.expires_at_ms);
    require(i != buckets_.end() && i->second.count(id) != 0,
            "active session is queued");
  }
  require(queued == active, "each active session is queued exactly once");
  require(following_ || touched_.empty(), "touches are recorded by learners");
  for (auto& [id, timeout] : touched_)
    require(sessions_.count(id) != 0,
            "a recorded touch is of a tracked session");
}

} // namespace zkd::session_tracker
