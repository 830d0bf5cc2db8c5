// Hostile input: truncations, absurd lengths and counts, and seeded random
// mutations of valid frames. Nothing may crash (the sanitizer build checks
// memory errors and UB), and decoding may allocate no more than a small
// multiple of the frame's own size: global operator new is counted here.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <new>
#include <random>

#include "captured_frames.hpp"
#include "messages/wire/protocol.hpp"
#include "messages/wire/request.hpp"
#include "wire_test_util.hpp"

using namespace zkd::wire;
using namespace zkd::wire::test;

// -- allocation accounting ----------------------------------------------------

namespace {

bool counting = false;
size_t allocated_bytes = 0;

} // namespace

// GCC inlines these into the standard allocators and then warns that free()
// receives memory from operator new, which is exactly the intent here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {

void* counted_alloc(std::size_t n) noexcept {
  if (counting)
    allocated_bytes += n;
  return std::malloc(n == 0 ? 1 : n);
}

} // namespace

// The whole non-aligned family is replaced so every pointer freed here came
// from malloc (the sanitizers check that new and delete match).
void* operator new(std::size_t n) {
  if (void* p = counted_alloc(n))
    return p;
  throw std::bad_alloc{};
}

void* operator new[](std::size_t n) {
  if (void* p = counted_alloc(n))
    return p;
  throw std::bad_alloc{};
}

void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return counted_alloc(n);
}

void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return counted_alloc(n);
}

void operator delete(void* p) noexcept {
  std::free(p);
}

void operator delete[](void* p) noexcept {
  std::free(p);
}

void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace {

// Bytes a decode of `payload` may allocate, all reallocations included: the
// largest in-memory form is a multi of minimal ops (14 wire bytes each, a
// multi_op in memory, doubled by vector growth).
size_t allocation_budget(size_t payload_size) {
  return 64 * payload_size + 4096;
}

struct decode_outcome {
  decode_status status;
  size_t allocated;
};

decode_outcome counted_decode(std::string_view payload, request& rq) {
  allocated_bytes = 0;
  counting = true;
  auto status = decode_request(payload, rq);
  counting = false;
  return {status, allocated_bytes};
}

// Valid request payloads for every op, plus every client frame captured from
// real clients.
std::vector<std::vector<char>> request_corpus() {
  std::vector<acl> acls = {acl{31, id{"world", "anyone"}},
                           acl{1, id{"digest", "user:abcdefghijklmnop"}}};
  std::vector<std::vector<char>> frames = {
      request_frame(
          1, op::create,
          create_request{"/node/with/a/path", opt_bytes{"data"}, acls, 3}),
      request_frame(2, op::create_ttl,
                    create_ttl_request{"/t", opt_bytes{""}, acls, 5, 5000}),
      request_frame(3, op::remove, delete_request{"/d", 1}),
      request_frame(4, op::exists, exists_request{"/e", true}),
      request_frame(5, op::get_data, get_data_request{"/g", false}),
      request_frame(6, op::set_data, set_data_request{"/s", std::nullopt, 2}),
      request_frame(7, op::get_acl, get_acl_request{"/a"}),
      request_frame(8, op::set_acl, set_acl_request{"/a", acls, 0}),
      request_frame(9, op::get_children, get_children_request{"/", true}),
      request_frame(10, op::sync, sync_request{"/"}),
      request_frame(11, op::get_children2, get_children2_request{"/c", true}),
      request_frame(12, op::check, check_version_request{"/c", 7}),
      request_frame(13, op::reconfig, reconfig_request{"a", "b", "c", 9}),
      request_frame(14, op::check_watches, check_watches_request{"/w", 1}),
      request_frame(15, op::remove_watches, remove_watches_request{"/w", 3}),
      request_frame(16, op::add_watch, add_watch_request{"/w", 1}),
      request_frame(17, op::get_ephemerals, get_ephemerals_request{"/e"}),
      request_frame(18, op::get_all_children_number,
                    get_all_children_number_request{"/n"}),
      request_frame(-8, op::set_watches,
                    set_watches{5, {"/a", "/b"}, {"/c"}, {"/d", "/e", "/f"}}),
      request_frame(-8, op::set_watches2,
                    set_watches2{5, {"/a"}, {}, {"/d"}, {"/p", "/q"}, {"/r"}}),
      request_frame(-4, op::auth, auth_packet{0, "digest", "user:password"}),
      request_frame(19, op::sasl, create_response{"sasl-token"}),
      request_frame(-2, op::ping),
      request_frame(20, op::close_session),
      request_frame(21, op::whoami),
      multi_frame(
          22, op::multi,
          {{op::create, encode(create_request{"/m1", opt_bytes{"x"}, acls, 0})},
           {op::create_ttl, encode(create_ttl_request{"/m2", {}, acls, 6, 10})},
           {op::set_data, encode(set_data_request{"/m1", opt_bytes{"y"}, 0})},
           {op::check, encode(check_version_request{"/m1", 1})},
           {op::remove, encode(delete_request{"/m1", -1})}}),
      multi_frame(23, op::multi_read,
                  {{op::get_data, encode(get_data_request{"/r1", true})},
                   {op::get_children, encode(get_children_request{"/", 0})}}),
  };
  for (auto& cf : captured_frames)
    if (cf.kind == frame_kind::request)
      frames.push_back(from_hex(cf.hex));
  return frames;
}

bool has_body(int32_t type) {
  switch (type) {
  case op::ping:
  case op::close_session:
  case op::whoami:
  case op::delete_container:
  case op::create_session:
    return false;
  default:
    return true;
  }
}

} // namespace

TEST_CASE("the corpus is valid", "[wire][hostile]") {
  for (auto& frame : request_corpus()) {
    request rq;
    INFO(to_hex(frame));
    CHECK(decode_request(payload_of(frame), rq) == decode_status::ok);
  }
}

TEST_CASE("every truncation of a request frame is malformed",
          "[wire][hostile]") {
  size_t checked = 0;
  for (auto& frame : request_corpus()) {
    auto payload = payload_of(frame);
    request rq;
    REQUIRE(decode_request(payload, rq) == decode_status::ok);
    auto type = rq.hdr.type;
    for (size_t n = 0; n < payload.size(); ++n) {
      // Copy the prefix so ASan sees a read past its end.
      std::vector<char> cut(payload.begin(), payload.begin() + n);
      auto out = counted_decode(view(cut), rq);
      INFO(to_hex(frame) << " cut to " << n);
      if (n < 8 || has_body(type))
        CHECK(out.status == decode_status::malformed);
      else
        CHECK(out.status == decode_status::ok);
      CHECK(out.allocated <= allocation_budget(n));
      ++checked;
    }
  }
  CHECK(checked > 1000);
}

TEST_CASE("every truncation of a connect request before readOnly fails",
          "[wire][hostile]") {
  for (auto& cf : captured_frames) {
    if (cf.kind != frame_kind::connect)
      continue;
    auto frame = from_hex(cf.hex);
    auto payload = payload_of(frame);
    connect_request cr;
    REQUIRE(decode_connect(payload, cr) == decode_status::ok);
    for (size_t n = 0; n + 1 < payload.size(); ++n) {
      std::vector<char> cut(payload.begin(), payload.begin() + n);
      CHECK(decode_connect(view(cut), cr) == decode_status::malformed);
    }
  }
}

TEST_CASE("absurd lengths and counts", "[wire][hostile]") {
  request rq;
  auto acl_bytes = encode(acl{31, id{"world", "anyone"}});
  auto check_bad = [&](std::string_view hex_payload) {
    auto bytes = from_hex(hex_payload);
    INFO(hex_payload);
    auto out = counted_decode(view(bytes), rq);
    CHECK(out.status == decode_status::malformed);
    CHECK(out.allocated <= allocation_budget(bytes.size()));
  };
  // exists with path lengths -2, INT32_MIN, INT32_MAX, remaining + 1
  check_bad("00000001 00000003 fffffffe 2f 00");
  check_bad("00000001 00000003 80000000 2f 00");
  check_bad("00000001 00000003 7fffffff 2f 00");
  check_bad("00000001 00000003 00000003 2f 00");
  // setData with data length INT32_MAX
  check_bad("00000001 00000005 00000001 2f 7fffffff 00000000");
  // create with ACL counts INT32_MAX and one more than could fit
  check_bad("00000001 00000001 00000001 2f ffffffff 7fffffff 00000000");
  check_bad("00000001 00000001 00000001 2f ffffffff 00000002"
            "0000001f 00000005 776f726c64 00000006 616e796f6e65 00000000");
  // setWatches with a count of INT32_MAX, and of 3 with room for 2
  check_bad("fffffff8 00000065 0000000000000000 7fffffff");
  check_bad("fffffff8 00000065 0000000000000000 00000003 00000000 00000000");
  // a string inside a vector element claiming the rest of the frame and more
  check_bad("fffffff8 00000065 0000000000000000 00000001 00000100 2f");
  // multi whose op header is followed by garbage lengths
  check_bad("00000001 0000000e 00000001 00 ffffffff 7fffffff");
  check_bad("00000001 0000000e 00000001 00 ffffffff fffffffe");
  // a multi of many valid ops that never ends
  std::string endless = "00000001 00000016";
  for (int i = 0; i < 2000; ++i)
    endless += "00000004 00 ffffffff 00000001 2f 00";
  check_bad(endless);

  SECTION("negative vector counts other than -1 decode as empty") {
    // As ZooKeeper's BinaryIndex does: verified on 3.8.0, which answers
    // setWatches with counts of -2 with err 0.
    auto bytes = from_hex("fffffff8 00000065 0000000000000000"
                          "fffffffe 80000000 ffffffff");
    REQUIRE(decode_request(view(bytes), rq) == decode_status::ok);
    auto& sw = std::get<set_watches>(rq.body);
    CHECK(sw.data_watches.empty());
    CHECK(sw.exist_watches.empty());
    CHECK(sw.child_watches.empty());
  }
  SECTION("a large valid multi stays within the budget") {
    std::string many = "00000001 00000016";
    for (int i = 0; i < 5000; ++i)
      many += "00000004 00 ffffffff 00000001 2f 00";
    many += "ffffffff 01 ffffffff";
    auto bytes = from_hex(many);
    auto out = counted_decode(view(bytes), rq);
    REQUIRE(out.status == decode_status::ok);
    CHECK(std::get<multi_request>(rq.body).ops.size() == 5000);
    // The accounting works: 5000 ops cannot come for free.
    CHECK(out.allocated >= 5000 * sizeof(multi_op));
    CHECK(out.allocated <= allocation_budget(bytes.size()));
  }
}

TEST_CASE("special values written over every offset", "[wire][hostile]") {
  const uint32_t specials[] = {0xffffffff, 0xfffffffe, 0x80000000, 0x7fffffff,
                               0x00100000, 0x00000000, 0x00000001};
  request rq;
  size_t cases = 0;
  for (auto& frame : request_corpus()) {
    auto payload = payload_of(frame);
    for (size_t off = 0; off + 4 <= payload.size(); ++off) {
      for (auto v : specials) {
        std::vector<char> bytes(payload.begin(), payload.end());
        for (int i = 0; i < 4; ++i)
          bytes[off + i] = static_cast<char>(v >> (24 - 8 * i));
        auto out = counted_decode(view(bytes), rq);
        INFO(to_hex(bytes));
        CHECK(out.allocated <= allocation_budget(bytes.size()));
        if (out.status == decode_status::ok) {
          // Whatever decoded must encode and decode again to the same thing.
          auto again = encode_request(rq);
          request rq2;
          REQUIRE(decode_request(payload_of(again), rq2) == decode_status::ok);
          CHECK(to_hex(encode_request(rq2)) == to_hex(again));
        }
        ++cases;
      }
    }
  }
  CHECK(cases > 10000);
}

TEST_CASE("seeded random mutations of valid frames", "[wire][hostile]") {
  // A fixed seed so a failure replays; change it to explore further.
  const uint64_t seed = 0x5eed2181;
  INFO("seed " << seed);
  std::mt19937_64 rng{seed};
  auto corpus = request_corpus();
  std::vector<std::vector<char>> connects;
  for (auto& cf : captured_frames)
    if (cf.kind == frame_kind::connect)
      connects.push_back(from_hex(cf.hex));
  auto pick = [&](size_t n) {
    return static_cast<size_t>(rng() % n);
  };
  request rq;
  connect_request cr;
  size_t ok = 0;
  size_t malformed = 0;
  const int iterations = 20000;
  for (int i = 0; i < iterations; ++i) {
    auto& base = (i % 10 == 0) ? connects[pick(connects.size())]
                               : corpus[pick(corpus.size())];
    std::vector<char> bytes(base.begin() + 4, base.end());
    auto mutations = 1 + pick(4);
    for (size_t m = 0; m < mutations; ++m) {
      switch (pick(6)) {
      case 0: // flip a bit
        if (!bytes.empty())
          bytes[pick(bytes.size())] ^= static_cast<char>(1 << pick(8));
        break;
      case 1: // a random byte
        if (!bytes.empty())
          bytes[pick(bytes.size())] = static_cast<char>(rng());
        break;
      case 2: { // a random 4-byte value, often a huge or negative length
        if (bytes.size() >= 4) {
          auto off = pick(bytes.size() - 3);
          auto v = static_cast<uint32_t>(rng());
          if (rng() % 2)
            v = (rng() % 2) ? 0x7fffffffu - static_cast<uint32_t>(pick(16))
                            : 0xffffffffu - static_cast<uint32_t>(pick(4));
          for (int k = 0; k < 4; ++k)
            bytes[off + k] = static_cast<char>(v >> (24 - 8 * k));
        }
        break;
      }
      case 3: // truncate
        bytes.resize(pick(bytes.size() + 1));
        break;
      case 4: { // duplicate a chunk
        if (!bytes.empty()) {
          auto from = pick(bytes.size());
          auto len = 1 + pick(std::min<size_t>(16, bytes.size() - from));
          std::vector<char> chunk(bytes.begin() + from,
                                  bytes.begin() + from + len);
          bytes.insert(bytes.begin() + pick(bytes.size() + 1), chunk.begin(),
                       chunk.end());
        }
        break;
      }
      case 5: // drop a chunk
        if (!bytes.empty()) {
          auto from = pick(bytes.size());
          auto len = 1 + pick(std::min<size_t>(16, bytes.size() - from));
          bytes.erase(bytes.begin() + from, bytes.begin() + from + len);
        }
        break;
      }
    }
    auto out = counted_decode(view(bytes), rq);
    CHECK(out.allocated <= allocation_budget(bytes.size()));
    (out.status == decode_status::ok ? ok : malformed)++;
    if (out.status == decode_status::ok) {
      auto again = encode_request(rq);
      request rq2;
      REQUIRE(decode_request(payload_of(again), rq2) == decode_status::ok);
    }
    allocated_bytes = 0;
    counting = true;
    auto cs = decode_connect(view(bytes), cr);
    counting = false;
    CHECK(allocated_bytes <= allocation_budget(bytes.size()));
    if (cs == decode_status::ok)
      CHECK(cr.passwd.size() <= bytes.size());
  }
  // Both outcomes must actually occur, or the mutations test nothing.
  CHECK(ok > 100);
  CHECK(malformed > 1000);
}
