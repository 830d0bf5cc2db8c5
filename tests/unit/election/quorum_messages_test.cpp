// The messages between nodes survive CAF's binary serialization, alone and
// inside a caf::message as BASP carries them, and only when announced.
#ifdef ZKD_TEST_CAF

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <caf/all.hpp>

#include "messages/quorum/quorum.hpp"

using namespace zkd::quorum;

namespace {

struct announced_config : caf::actor_system_config {
  announced_config() {
    set("scheduler.policy", caf::atom("testing"));
    // The same list add_message_types registers (that function lives in
    // zkd_core, which this test does not link).
    for_each_message_type([&](auto tag, const char* name) {
      add_message_type<typename decltype(tag)::type>(name);
    });
  }
};

struct bare_config : caf::actor_system_config {
  bare_config() { set("scheduler.policy", caf::atom("testing")); }
};

template <class T>
std::vector<char> bytes_of(caf::actor_system& sys, const T& x) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto copy = x;
  REQUIRE(!sink(copy));
  return buf;
}

// x -> bytes -> y, and y serializes to the same bytes.
template <class T>
T round_trip(caf::actor_system& sys, const T& x) {
  auto buf = bytes_of(sys, x);
  T y;
  caf::binary_deserializer source{sys, buf};
  REQUIRE(!source(y));
  CHECK(bytes_of(sys, y) == buf);
  return y;
}

// As BASP does: the type travels by its announced name.
template <class T>
T message_round_trip(caf::actor_system& sys, const T& x) {
  auto msg = caf::make_message(x);
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE(!sink(msg));
  caf::message back;
  caf::binary_deserializer source{sys, buf};
  REQUIRE(!source(back));
  REQUIRE(back.size() == 1);
  REQUIRE(back.match_element<T>(0));
  return back.get_as<T>(0);
}

} // namespace

TEST_CASE("zxid layout") {
  auto z = make_zxid(7, 42);
  CHECK(z == (int64_t{7} << 32 | 42));
  CHECK(epoch_of(z) == 7);
  CHECK(counter_of(z) == 42);
  CHECK(epoch_of(make_zxid(0xffffffffu, 1)) == 0xffffffffu);
}

TEST_CASE("every quorum message round-trips") {
  announced_config cfg;
  caf::actor_system sys{cfg};

  notification n{3, peer_state::leading, vote{2, make_zxid(5, 9), 11, 5}};
  auto n2 = message_round_trip(sys, n);
  CHECK(n2.sender == 3);
  CHECK(n2.state == peer_state::leading);
  CHECK(n2.v == n.v);

  auto fi = message_round_trip(sys, follower_info{4, 7, protocol_version});
  CHECK(fi.sid == 4);
  CHECK(fi.accepted_epoch == 7);
  CHECK(fi.version == protocol_version);
  auto oi = message_round_trip(sys, observer_info{9, 3, 2});
  CHECK((oi.sid == 9 && oi.accepted_epoch == 3 && oi.version == 2));
  auto li = message_round_trip(sys, leader_info{8, protocol_version});
  CHECK(li.new_epoch == 8);

  ack_epoch ae{4,
               -1,
               make_zxid(7, 3),
               make_zxid(6, 1),
               {make_zxid(5, 2), make_zxid(6, 9), make_zxid(7, 3)}};
  auto ae2 = message_round_trip(sys, ae);
  CHECK(ae2.sid == 4);
  CHECK(ae2.current_epoch == -1);
  CHECK(ae2.last_zxid == ae.last_zxid);
  CHECK(ae2.snapshot_zxid == ae.snapshot_zxid);
  CHECK(ae2.epoch_ends == ae.epoch_ends);

  CHECK(message_round_trip(sys, diff{make_zxid(7, 3)}).last_committed ==
        make_zxid(7, 3));
  CHECK(message_round_trip(sys, zkd::quorum::trunc{make_zxid(6, 1)}).zxid ==
        make_zxid(6, 1));
  auto sn = message_round_trip(sys, snap{make_zxid(7, 3), 123456789});
  CHECK((sn.zxid == make_zxid(7, 3) && sn.size_bytes == 123456789));

  std::string blob(70000, '\0');
  for (size_t i = 0; i < blob.size(); ++i)
    blob[i] = static_cast<char>(i * 7);
  auto ch = message_round_trip(sys, snap_chunk{5, blob, true});
  CHECK(ch.seq == 5);
  CHECK(ch.bytes == blob);
  CHECK(ch.last);
  CHECK(message_round_trip(sys, snap_chunk_ack{5}).seq == 5);
  CHECK(message_round_trip(sys, new_leader{make_zxid(8, 0)}).zxid ==
        make_zxid(8, 0));
  CHECK(message_round_trip(sys, up_to_date{8}).epoch == 8);

  std::string txn("\x00\x01\xff\x7f binary", 12);
  auto p = message_round_trip(sys, proposal{make_zxid(8, 1), txn});
  CHECK(p.zxid == make_zxid(8, 1));
  CHECK(p.txn == txn);
  auto a = message_round_trip(sys, ack{2, make_zxid(8, 1)});
  CHECK((a.sid == 2 && a.zxid == make_zxid(8, 1)));
  CHECK(message_round_trip(sys, commit{make_zxid(8, 1)}).zxid ==
        make_zxid(8, 1));
  auto in = message_round_trip(sys, inform{make_zxid(8, 2), txn});
  CHECK((in.zxid == make_zxid(8, 2) && in.txn == txn));

  ping pg{make_zxid(8, 2), {{0x1234567890abcdefLL, 30000}, {-5, 4000}}};
  auto pg2 = message_round_trip(sys, pg);
  CHECK(pg2.zxid == pg.zxid);
  REQUIRE(pg2.sessions.size() == 2);
  CHECK(pg2.sessions[0].session == 0x1234567890abcdefLL);
  CHECK(pg2.sessions[0].timeout_ms == 30000);
  CHECK(pg2.sessions[1].session == -5);

  request rq{0x77,
             12,
             1,
             std::string("\x00\x00\x00\x02/a", 6),
             {{"digest", "bob:xyz"}, {"ip", "127.0.0.1"}}};
  auto rq2 = message_round_trip(sys, rq);
  CHECK(rq2.session == 0x77);
  CHECK(rq2.cxid == 12);
  CHECK(rq2.type == 1);
  CHECK(rq2.payload == rq.payload);
  REQUIRE(rq2.auth.size() == 2);
  CHECK(rq2.auth[1].scheme == "ip");
  CHECK(rq2.auth[1].id == "127.0.0.1");

  // The nested types on their own.
  CHECK(round_trip(sys, vote{1, 2, 3, 4}) == vote{1, 2, 3, 4});
  CHECK(round_trip(sys, session_touch{8, 9}).timeout_ms == 9);
  CHECK(round_trip(sys, auth_id{"world", "anyone"}).id == "anyone");
}

TEST_CASE("notifications are small") {
  announced_config cfg;
  caf::actor_system sys{cfg};
  notification n{3, peer_state::looking, vote{2, make_zxid(5, 9), 11, 5}};
  // Fixed-width fields: sender 8, state 1, vote 4 x 8.
  CHECK(bytes_of(sys, n).size() == 41);
}

TEST_CASE("messages print with their names and fields") {
  announced_config cfg;
  caf::actor_system sys{cfg};
  auto s = caf::deep_to_string(
      notification{3, peer_state::leading, vote{2, 9, 11, 5}});
  CHECK(s.find("zkd::quorum::notification") != std::string::npos);
  CHECK(s.find("zkd::quorum::vote(2, 9, 11, 5)") != std::string::npos);
}

TEST_CASE("an unannounced type does not survive deserialization") {
  announced_config cfg;
  caf::actor_system sys{cfg};
  auto msg = caf::make_message(commit{make_zxid(1, 1)});
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE(!sink(msg));
  bare_config bare;
  caf::actor_system other{bare};
  caf::message back;
  caf::binary_deserializer source{other, buf};
  auto err = source(back);
  bool lost = err || back.size() != 1 || !back.match_element<commit>(0);
  CHECK(lost);
}

#endif // ZKD_TEST_CAF
