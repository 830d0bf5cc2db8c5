// The tracker on a learner (follower or observer) and the leader's handling
// of the touches learners report.
#include "actors/session_tracker/session_tracker.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <utility>
#include <vector>

using zkd::session_tracker::password_key;
using zkd::session_tracker::session_state;
using zkd::session_tracker::tracker;

namespace {

constexpr password_key key_a{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
constexpr password_key key_b{0x1111111111111111ULL, 0x2222222222222222ULL};

using touches = std::vector<std::pair<int64_t, int32_t>>;

tracker make_learner(int64_t tick_ms = 2000) {
  tracker t{tick_ms, 2, 0x54b35, key_a};
  t.follow();
  return t;
}

} // namespace

TEST_CASE("a learner never expires sessions") {
  auto t = make_learner();
  CHECK(t.following());
  t.add(7, 4000, 1000);
  t.add(8, 6000, 1000);
  CHECK(t.next_expiration_ms() == tracker::never);
  // Long past every deadline: the leader expires sessions, not a learner.
  CHECK(t.expire(1'000'000).empty());
  CHECK(t.state(7) == session_state::active);
  CHECK(t.state(8) == session_state::active);
  t.check_invariants();
}

TEST_CASE("a session the ensemble created is reported with the next ping") {
  // LearnerSessionTracker.commitSession puts the new session in the touch
  // table, so the leader sees it alive from the first ping on.
  auto t = make_learner();
  t.add(0x200000000000001, 5000, 1000);
  t.add(0x100000000000001, 4000, 1000);
  CHECK(t.pending_touches() == 2);
  CHECK(t.take_touches() ==
        touches{{0x100000000000001, 4000}, {0x200000000000001, 5000}});
  CHECK(t.pending_touches() == 0);
  CHECK(t.take_touches().empty());
  t.check_invariants();
}

TEST_CASE("touches are collected once per session until taken") {
  auto t = make_learner();
  t.add(7, 4000, 0);
  t.add(9, 4000, 0);
  t.take_touches();
  CHECK(t.touch(7, 100));
  CHECK(t.touch(7, 200));
  CHECK(t.touch(7, 300));
  CHECK(t.take_touches() == touches{{7, 4000}});
  // Nothing touched since: an empty report.
  CHECK(t.take_touches().empty());
  CHECK(t.touch(9, 400));
  CHECK(t.take_touches() == touches{{9, 4000}});
  t.check_invariants();
}

TEST_CASE("a touch reports the connection's timeout, not the committed one") {
  auto t = make_learner();
  t.add(7, 4000, 0);
  t.take_touches();
  // A client reconnected here and negotiated 10 s.
  CHECK(t.touch(7, 10000, 100));
  CHECK(t.take_touches() == touches{{7, 10000}});
  // What dump lists is still the committed timeout.
  CHECK(t.sessions_with_timeouts() == touches{{7, 4000}});
}

TEST_CASE("a learner does not report unknown or closed sessions") {
  auto t = make_learner();
  CHECK_FALSE(t.touch(42, 100));
  CHECK_FALSE(t.touch(42, 4000, 100));
  t.add(7, 4000, 0);
  CHECK(t.touch(7, 100));
  // closeSession applied before the report went out: the leader must not
  // hear of it again.
  t.remove(7);
  CHECK(t.take_touches().empty());
  CHECK_FALSE(t.touch(7, 200));
  CHECK(t.take_touches().empty());
  t.check_invariants();
}

TEST_CASE("a learner lists every session it knows with its timeout") {
  auto t = make_learner();
  t.add(0x300000000000005, 4000, 0);
  t.add(0x100000000000002, 30000, 0);
  t.add(0x200000000000009, 6000, 0);
  t.remove(0x200000000000009);
  CHECK(t.sessions_with_timeouts() ==
        touches{{0x100000000000002, 30000}, {0x300000000000005, 4000}});
  CHECK(t.buckets().size() >= 1); // still kept, never acted on
}

TEST_CASE("a tracker that leads records no touches") {
  tracker t{2000, 1, 0x54b35, key_a};
  CHECK_FALSE(t.following());
  t.add(7, 4000, 0);
  CHECK(t.touch(7, 100));
  CHECK(t.pending_touches() == 0);
  CHECK(t.take_touches().empty());
  t.check_invariants();
}

TEST_CASE("the leader touches a learner's session with the reported timeout") {
  tracker t{2000, 1, 0x54b35, key_a};
  t.add(7, 4000, 10'000);
  CHECK(t.expires_at_ms(7) == 16000);
  // The learner's client negotiated 10 s when it reconnected there.
  CHECK(t.touch(7, 10000, 11'000));
  CHECK(t.expires_at_ms(7) == 22000);
  // The session's own timeout is unchanged: a touch from the leader's own
  // clients goes back to it.
  CHECK(t.timeout_ms(7) == 4000);
  CHECK(t.touch(7, 12'000));
  CHECK(t.expires_at_ms(7) == 18000);
  t.check_invariants();
}

TEST_CASE("the leader ignores touches of sessions it does not track") {
  tracker t{2000, 1, 0x54b35, key_a};
  CHECK_FALSE(t.touch(42, 4000, 100));
  CHECK_FALSE(t.contains(42));
  t.add(7, 4000, 0);
  t.set_closing(7);
  // Expiring: a late touch from a learner does not revive it.
  CHECK_FALSE(t.touch(7, 4000, 100));
  CHECK(t.state(7) == session_state::closing);
  CHECK(t.next_expiration_ms() == tracker::never);
  t.check_invariants();
}

TEST_CASE("a learner adopts the leader's password key") {
  // Passwords the leader (key B) handed out must check on the learner,
  // which generated its own key A before it joined.
  auto t = make_learner();
  int64_t id = 0x100000000000007;
  auto from_leader = tracker::password(id, key_b);
  CHECK_FALSE(t.check_password(id, from_leader));
  t.set_password_key(key_b);
  CHECK(t.check_password(id, from_leader));
  CHECK(t.password(id) == from_leader);
  CHECK_FALSE(t.check_password(id, tracker::password(id, key_a)));
}
