#include "actors/session_tracker/session_tracker.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <vector>

using zkd::session_tracker::password_key;
using zkd::session_tracker::session_state;
using zkd::session_tracker::tracker;

namespace {

constexpr password_key test_key{0x0123456789abcdefULL, 0xfedcba9876543210ULL};

// A clock the test moves by hand.
struct fake_clock {
  int64_t now_ms = 1'000'000;
  void advance(int64_t ms) { now_ms += ms; }
};

tracker make_tracker(int64_t tick_ms = 2000) {
  return tracker{tick_ms, 1, 0x54b35, test_key};
}

} // namespace

TEST_CASE("session ids follow ZooKeeper's layout") {
  // Observed on ZooKeeper 3.8 standalone (server id 1): 0x10000054b350000
  // for a monotonic clock reading of 0x54b35 ms.
  CHECK(tracker::initial_session_id(1, 0x54b35) == 0x10000054b350000LL);
  // Only the low 40 bits of the time survive; the server id owns the top
  // byte even when the time has high bits set.
  CHECK(tracker::initial_session_id(3, 0x7fffffffffffffffLL) ==
        static_cast<int64_t>(0x03ffffffffff0000ULL));
  CHECK(tracker::initial_session_id(0, 0) == 0);
  // Long.MIN_VALUE is reserved for containers and skipped.
  CHECK(tracker::initial_session_id(0x80, 0) ==
        static_cast<int64_t>(0x8000000000000001ULL));

  auto t = make_tracker();
  CHECK(t.next_session_id() == 0x10000054b350000LL);
  CHECK(t.next_session_id() == 0x10000054b350001LL);
  CHECK(t.next_session_id() == 0x10000054b350002LL);
  // Handing out an id does not track it.
  CHECK(t.size() == 0);
}

TEST_CASE("a session expires in the bucket after now + timeout") {
  fake_clock clock;
  auto t = make_tracker(2000);
  clock.now_ms = 10'500;
  CHECK(t.add(7, 5000, clock.now_ms));
  t.check_invariants();
  // 10500 + 5000 = 15500 rounds up to the end of its tick: 16000.
  CHECK(t.expires_at_ms(7) == 16000);
  CHECK(t.next_expiration_ms() == 16000);

  CHECK(t.expire(15'999).empty());
  CHECK(t.state(7) == session_state::active);
  CHECK(t.expire(16'000) == std::vector<int64_t>{7});
  CHECK(t.state(7) == session_state::closing);
  CHECK(t.next_expiration_ms() == tracker::never);
  t.check_invariants();
}

TEST_CASE("an exact tick multiple still rounds to the next tick") {
  // ZooKeeper's roundToNextInterval is (t / tick + 1) * tick: a deadline
  // that is already a multiple of the tick moves one whole tick later.
  auto t = make_tracker(2000);
  t.add(1, 4000, 12'000);
  CHECK(t.expires_at_ms(1) == 18'000);
}

TEST_CASE("touch moves the session to a later bucket") {
  fake_clock clock;
  auto t = make_tracker(2000);
  clock.now_ms = 0;
  t.add(1, 6000, clock.now_ms); // due 8000
  t.add(2, 6000, clock.now_ms); // due 8000
  CHECK(t.expires_at_ms(1) == 8000);

  clock.now_ms = 5000;
  CHECK(t.touch(1, clock.now_ms)); // due 12000
  t.check_invariants();
  CHECK(t.expires_at_ms(1) == 12000);
  CHECK(t.next_expiration_ms() == 8000);

  CHECK(t.expire(8000) == std::vector<int64_t>{2});
  CHECK(t.state(1) == session_state::active);
  CHECK(t.next_expiration_ms() == 12000);
  CHECK(t.expire(11'999).empty());
  CHECK(t.expire(12'000) == std::vector<int64_t>{1});
  t.check_invariants();
}

TEST_CASE("touch within the same bucket keeps the deadline") {
  auto t = make_tracker(2000);
  t.add(1, 6000, 100);     // 6100 -> 8000
  CHECK(t.touch(1, 1500)); // 7500 -> 8000
  CHECK(t.expires_at_ms(1) == 8000);
  CHECK(t.buckets().size() == 1);
  t.check_invariants();
}

TEST_CASE("touch refuses unknown and closing sessions") {
  auto t = make_tracker();
  CHECK_FALSE(t.touch(42, 0));
  t.add(42, 4000, 0);
  t.set_closing(42);
  CHECK(t.state(42) == session_state::closing);
  CHECK_FALSE(t.touch(42, 100));
  // A closing session waits for its closeSession txn; it does not expire.
  CHECK(t.next_expiration_ms() == tracker::never);
  CHECK(t.expire(1'000'000).empty());
  CHECK(t.contains(42));
  t.remove(42);
  CHECK_FALSE(t.contains(42));
  CHECK(t.state(42) == session_state::unknown);
  t.check_invariants();
}

TEST_CASE("expired sessions are reported exactly once") {
  fake_clock clock;
  auto t = make_tracker(1000);
  clock.now_ms = 0;
  t.add(1, 3000, clock.now_ms);
  t.add(2, 3000, clock.now_ms);
  clock.advance(10'000);
  auto first = t.expire(clock.now_ms);
  CHECK(first == std::vector<int64_t>{1, 2});
  // Still tracked (their closeSession is in flight) but never again due.
  CHECK(t.size() == 2);
  clock.advance(10'000);
  CHECK(t.expire(clock.now_ms).empty());
  // Touch after expiry fails: the connection must treat it as expired.
  CHECK_FALSE(t.touch(1, clock.now_ms));
  // Re-tracking a closing session does not revive it.
  CHECK_FALSE(t.add(1, 3000, clock.now_ms));
  CHECK(t.state(1) == session_state::closing);
  CHECK(t.expire(clock.now_ms + 100'000).empty());
  t.remove(1);
  t.remove(2);
  CHECK(t.size() == 0);
  t.check_invariants();
}

TEST_CASE("expire drains several overdue buckets in deadline order") {
  auto t = make_tracker(1000);
  t.add(30, 5000, 0); // 6000
  t.add(10, 1000, 0); // 2000
  t.add(20, 3000, 0); // 4000
  t.add(11, 1000, 0); // 2000
  CHECK(t.next_expiration_ms() == 2000);
  CHECK(t.expire(4500) == std::vector<int64_t>{10, 11, 20});
  CHECK(t.next_expiration_ms() == 6000);
  t.check_invariants();
}

TEST_CASE("removing a session takes it out of its bucket") {
  auto t = make_tracker(1000);
  t.add(1, 2000, 0);
  t.add(2, 5000, 0);
  t.remove(1);
  CHECK(t.next_expiration_ms() == 6000);
  CHECK(t.expire(3000).empty());
  t.remove(99); // unknown: no-op
  t.check_invariants();
}

TEST_CASE("re-adding a session refreshes deadline and timeout") {
  auto t = make_tracker(1000);
  CHECK(t.add(5, 2000, 0));
  CHECK_FALSE(t.add(5, 10'000, 500));
  CHECK(t.timeout_ms(5) == 10'000);
  CHECK(t.expires_at_ms(5) == 11'000);
  CHECK(t.buckets().size() == 1);
  t.check_invariants();
}

TEST_CASE("buckets lists non-empty buckets in time order") {
  auto t = make_tracker(2000);
  t.add(3, 4000, 0);
  t.add(1, 4000, 0);
  t.add(2, 8000, 0);
  auto b = t.buckets();
  REQUIRE(b.size() == 2);
  CHECK(b[0].expires_at_ms == 6000);
  CHECK(b[0].sessions == std::vector<int64_t>{1, 3});
  CHECK(b[1].expires_at_ms == 10'000);
  CHECK(b[1].sessions == std::vector<int64_t>{2});
  CHECK(t.session_ids() == std::vector<int64_t>{1, 2, 3});
}

TEST_CASE("many sessions against a reference model") {
  // Random adds, touches, closes, removals and expiries, checked against a
  // naive model that scans every session.
  std::mt19937_64 rng(12345);
  auto t = make_tracker(500);
  struct model_session {
    int32_t timeout;
    int64_t due;
    bool closing;
  };
  std::map<int64_t, model_session> model;
  int64_t now = 0;
  auto round = [](int64_t x) {
    return (x / 500 + 1) * 500;
  };
  for (int step = 0; step < 20'000; ++step) {
    int64_t id = static_cast<int64_t>(rng() % 300);
    switch (rng() % 6) {
    case 0:
    case 1: {
      auto timeout = static_cast<int32_t>(1000 + rng() % 9000);
      auto i = model.find(id);
      bool is_new = i == model.end();
      CHECK(t.add(id, timeout, now) == is_new);
      auto& m = model[id];
      m.timeout = timeout;
      if (is_new)
        m.closing = false;
      if (!m.closing)
        m.due = round(now + timeout);
      break;
    }
    case 2: {
      auto i = model.find(id);
      bool ok = i != model.end() && !i->second.closing;
      CHECK(t.touch(id, now) == ok);
      if (ok)
        i->second.due = round(now + i->second.timeout);
      break;
    }
    case 3:
      t.set_closing(id);
      if (model.count(id))
        model[id].closing = true;
      break;
    case 4:
      t.remove(id);
      model.erase(id);
      break;
    default: {
      now += static_cast<int64_t>(rng() % 700);
      std::vector<std::pair<int64_t, int64_t>> due;
      for (auto& [mid, m] : model)
        if (!m.closing && m.due <= now)
          due.emplace_back(m.due, mid);
      std::sort(due.begin(), due.end());
      std::vector<int64_t> expected;
      for (auto& d : due) {
        expected.push_back(d.second);
        model[d.second].closing = true;
      }
      CHECK(t.expire(now) == expected);
      break;
    }
    }
    if (step % 97 == 0)
      t.check_invariants();
    REQUIRE(t.size() == model.size());
  }
  int64_t next = tracker::never;
  for (auto& [mid, m] : model)
    if (!m.closing)
      next = std::min(next, m.due);
  CHECK(t.next_expiration_ms() == next);
  t.check_invariants();
}

TEST_CASE("timeouts are clamped as ZooKeeper does") {
  CHECK(tracker::negotiate_timeout(1000, 4000, 40'000) == 4000);
  CHECK(tracker::negotiate_timeout(30'000, 4000, 40'000) == 30'000);
  CHECK(tracker::negotiate_timeout(100'000, 4000, 40'000) == 40'000);
  CHECK(tracker::negotiate_timeout(-5, 4000, 40'000) == 4000);
  // min > max (a bad config): the maximum wins, as in ZooKeeper.
  CHECK(tracker::negotiate_timeout(1000, 50'000, 40'000) == 40'000);
  CHECK(tracker::default_min_timeout(2000) == 4000);
  CHECK(tracker::default_max_timeout(2000) == 40'000);
}

TEST_CASE("SipHash-2-4 matches the reference vector") {
  // Reference vector for the 16-byte message 00..0f under key 00..0f:
  // output bytes db 9b c2 57 7f cc 2a 3f (little-endian).
  password_key key{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
  CHECK(zkd::session_tracker::sip_hash_2_4(key, 0x0706050403020100ULL,
                                           0x0f0e0d0c0b0a0908ULL) ==
        0x3f2acc7f57c29bdbULL);
}

TEST_CASE("passwords are deterministic, distinct and checkable") {
  auto a = make_tracker();
  auto b = tracker{1000, 2, 777, test_key}; // another server, same key
  auto id = a.next_session_id();
  auto pw = a.password(id);
  CHECK(pw.size() == 16);
  // Stable: same id and key, any tracker instance (restart, other server).
  CHECK(b.password(id) == pw);
  CHECK(tracker::password(id, test_key) == pw);
  CHECK(a.check_password(id, pw));
  CHECK(b.check_password(id, pw));
  // A different key or id gives another password.
  CHECK(tracker::password(id, password_key{1, 2}) != pw);
  CHECK(a.password(id + 1) != pw);
  // Wrong bytes, wrong length and session 0 never match.
  auto wrong = pw;
  wrong[15] = static_cast<char>(wrong[15] ^ 1);
  CHECK_FALSE(a.check_password(id, wrong));
  CHECK_FALSE(a.check_password(id, pw.substr(0, 15)));
  CHECK_FALSE(a.check_password(id, std::string(16, '\0')));
  CHECK_FALSE(a.check_password(0, a.password(0)));
  // Neighbouring ids share no obvious structure.
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i)
    seen.insert(a.password(id + i));
  CHECK(seen.size() == 1000);
}
