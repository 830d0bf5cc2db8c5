#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "actors/tracer/record.hpp"
#include "actors/tracer/tracer.hpp"
#include "actors/tracer/txn_summary.hpp"

using namespace zkd::tracer;

namespace {

std::string json_string(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

std::string encode_one(std::initializer_list<field> fields,
                       std::string_view type = "m") {
  event e;
  e.mono_ns = 5;
  e.wall_ns = 1700000000000000001;
  e.node = 3;
  e.from = actor_ref{kind::leader, 7};
  e.to = actor_ref{kind::txn_log, 9};
  e.type = type;
  e.fields = fields.begin();
  e.field_count = fields.size();
  std::string out;
  encode(e, out);
  return out;
}

} // namespace

TEST_CASE("a record encodes as one JSON line in a fixed layout") {
  auto line =
      encode_one({{"zxid", hex{0x100000001LL}}, {"n", 2}}, "log_append");
  CHECK(line == "{\"mono_ns\":5,\"wall_ns\":1700000000000000001,\"node\":3,"
                "\"from\":\"leader#7\",\"to\":\"txn_log#9\","
                "\"type\":\"log_append\","
                "\"fields\":{\"zxid\":\"0x100000001\",\"n\":2}}\n");
}

TEST_CASE("field values keep their type") {
  int32_t i32 = -5;
  int64_t i64 = INT64_MIN;
  uint64_t u64 = UINT64_MAX;
  size_t sz = 42;
  std::string s = "text";
  std::optional<int> absent;
  std::optional<int> present = 8;
  auto line = encode_one({{"i32", i32},
                          {"i64", i64},
                          {"u64", u64},
                          {"size", sz},
                          {"yes", true},
                          {"no", false},
                          {"lit", "abc"},
                          {"str", s},
                          {"view", std::string_view{"v"}},
                          {"hex0", hex{0}},
                          {"hexneg", hex{int64_t{-1}}},
                          {"absent", absent},
                          {"present", present},
                          {"none", value{}}});
  auto r = parse_record(line);
  REQUIRE(r);
  CHECK(line.find("\"i32\":-5,") != std::string::npos);
  CHECK(line.find("\"i64\":-9223372036854775808,") != std::string::npos);
  CHECK(line.find("\"u64\":18446744073709551615,") != std::string::npos);
  CHECK(line.find("\"size\":42,") != std::string::npos);
  CHECK(line.find("\"yes\":true,\"no\":false,") != std::string::npos);
  CHECK(line.find("\"lit\":\"abc\",\"str\":\"text\",\"view\":\"v\"") !=
        std::string::npos);
  CHECK(line.find("\"hex0\":\"0x0\"") != std::string::npos);
  CHECK(line.find("\"hexneg\":\"0xffffffffffffffff\"") != std::string::npos);
  // Absent optionals and empty values leave the field out entirely.
  CHECK(line.find("absent") == std::string::npos);
  CHECK(line.find("\"none\"") == std::string::npos);
  CHECK(line.find("\"present\":8}") != std::string::npos);
  REQUIRE(r->fields.size() == 12);
  CHECK(r->fields[0].second.t == json::type::number);
  CHECK(r->fields[4].second.t == json::type::boolean);
  CHECK(r->fields[4].second.b);
  CHECK(r->fields[6].second.t == json::type::string);
}

TEST_CASE("strings are escaped so that any byte sequence stays valid JSON") {
  CHECK(json_string("plain /path") == "\"plain /path\"");
  CHECK(json_string("q\"b\\") == "\"q\\\"b\\\\\"");
  CHECK(json_string("\n\r\t\b\f") == "\"\\n\\r\\t\\b\\f\"");
  CHECK(json_string(std::string_view{"a\0b", 3}) == "\"a\\u0000b\"");
  CHECK(json_string("\x01\x1f\x7f") == "\"\\u0001\\u001f\\u007f\"");
  // Valid UTF-8 is kept as it is.
  CHECK(json_string("z\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80") ==
        "\"z\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
  // Invalid bytes become the visible text \xNN.
  CHECK(json_string("a\xff") == "\"a\\\\xff\"");
  CHECK(json_string("\xc3") == "\"\\\\xc3\"");            // truncated
  CHECK(json_string("\xc0\xaf") == "\"\\\\xc0\\\\xaf\""); // overlong
  CHECK(json_string("\xed\xa0\x80") ==
        "\"\\\\xed\\\\xa0\\\\x80\""); // surrogate
  CHECK(json_string("\xf4\x90\x80\x80") ==
        "\"\\\\xf4\\\\x90\\\\x80\\\\x80\""); // above U+10FFFF
}

TEST_CASE("escaped strings decode back to the original") {
  std::string all;
  for (int c = 1; c < 0x80; ++c)
    all += static_cast<char>(c);
  all += "\xc3\xa9\xf0\x9f\x98\x80";
  auto line = encode_one({{"path", all}}, "ty\"pe\n");
  auto r = parse_record(line);
  REQUIRE(r);
  CHECK(r->type == "ty\"pe\n");
  CHECK(r->field_text("path") == all);
}

TEST_CASE("remote actors carry their node") {
  event e;
  e.node = 1;
  e.from = actor_ref{kind::leader, 4};
  e.to = actor_ref{kind::follower, 11, 2};
  e.type = "proposal";
  std::string line;
  encode(e, line);
  CHECK(line.find("\"to\":\"follower#11\",\"to_node\":2,") !=
        std::string::npos);
  auto r = parse_record(line);
  REQUIRE(r);
  CHECK(r->sender_node() == 1);
  CHECK(r->receiver_node() == 2);
  CHECK(r->fields.empty());
}

TEST_CASE("kind names match their enumerators") {
  CHECK(name(kind::admin) == "admin");
  CHECK(name(kind::watch_dispatcher) == "watch_dispatcher");
  CHECK(name(kind::client) == "client");
  for (size_t i = 0; i < kind_count; ++i)
    CHECK(kind_from_name(kind_names[i]) == static_cast<kind>(i));
  CHECK_FALSE(kind_from_name("nope"));
  CHECK(bit(kind::client) == 0);
  CHECK((all_kinds & bit(kind::watch_dispatcher)) != 0);
}

TEST_CASE("a txn's key fields are read from its header") {
  // TxnHeader: session 0x1122, cxid 7, zxid 0x100000005, time, type create
  // (1); then CreateTxn's path "/a".
  std::string b;
  auto be = [&](uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i)
      b += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  be(0x1122, 8);
  be(7, 4);
  be(0x100000005, 8);
  be(1700000000000, 8);
  be(1, 4);
  be(2, 4);
  b += "/a";
  auto s = summarize_txn(b);
  CHECK(s.ok);
  CHECK(s.session == 0x1122);
  CHECK(s.cxid == 7);
  CHECK(s.zxid == 0x100000005);
  CHECK(s.type == 1);
  CHECK(s.path == "/a");
  // A path length past the end is not trusted.
  auto cut = b.substr(0, b.size() - 1);
  CHECK(summarize_txn(cut).path.empty());
  CHECK_FALSE(summarize_txn(b.substr(0, 31)).ok);
}

TEST_CASE("integers print as std::to_string prints them, at every length") {
  // Two digits at a time: check each digit count and its edges.
  std::vector<uint64_t> us{0, 9, 10, 99, 100, 101, 999, 1000, 65535};
  for (uint64_t p = 10; p <= 1'000'000'000'000'000'000ULL; p *= 10) {
    us.push_back(p - 1);
    us.push_back(p);
    us.push_back(p + 7);
  }
  us.push_back(UINT64_MAX);
  for (auto u : us) {
    auto line = encode_one({{"u", u}, {"i", -static_cast<int64_t>(u / 2)}});
    INFO(line);
    CHECK(line.find("\"u\":" + std::to_string(u) + ",") != std::string::npos);
    CHECK(line.find("\"i\":" + std::to_string(-static_cast<int64_t>(u / 2)) +
                    "}") != std::string::npos);
  }
}

TEST_CASE("the size bound covers the worst case of every field") {
  // Every byte of every string escaped to six, the longest kind names,
  // the longest numbers and both node ids.
  std::string nasty(300, '\x01');
  event e;
  e.mono_ns = INT64_MIN;
  e.wall_ns = INT64_MIN;
  e.node = UINT64_MAX;
  e.from = actor_ref{kind::watch_dispatcher, UINT64_MAX, UINT64_MAX};
  e.to = actor_ref{kind::client_listener, UINT64_MAX, UINT64_MAX};
  e.type = nasty;
  field fs[] = {{nasty, nasty}, {"n", INT64_MIN}, {"h", hex{UINT64_MAX}}};
  e.fields = fs;
  e.field_count = 3;
  std::string out;
  encode(e, out);
  CHECK(out.size() <= encoded_size_bound(e));
  std::string why;
  CHECK(parse_json(out, &why));
  INFO(why);
}
