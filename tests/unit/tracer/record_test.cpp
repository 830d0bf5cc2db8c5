#include <catch2/catch.hpp>

#include <string>

#include "actors/tracer/record.hpp"

using namespace zkd::tracer;

TEST_CASE("the JSON parser reads every kind of value") {
  auto v = parse_json(R"( {"a":[1,-2.5e3,true,false,null],"b":{"c":"d"},)"
                      R"("big":18446744073709551615} )");
  REQUIRE(v);
  REQUIRE(v->t == json::type::object);
  auto* a = v->find("a");
  REQUIRE(a);
  REQUIRE(a->items.size() == 5);
  CHECK(a->items[0].text == "1");
  CHECK(a->items[1].text == "-2.5e3");
  CHECK(a->items[2].b);
  CHECK(a->items[3].t == json::type::boolean);
  CHECK(a->items[4].t == json::type::null);
  CHECK(v->find("b")->find("c")->text == "d");
  // Numbers keep their text, so 64-bit values survive.
  CHECK(v->find("big")->text == "18446744073709551615");
  std::string back;
  append_json(back, *v);
  CHECK(back == R"({"a":[1,-2.5e3,true,false,null],"b":{"c":"d"},)"
                R"("big":18446744073709551615})");
}

TEST_CASE("JSON string escapes decode, surrogate pairs included") {
  auto v = parse_json(R"("\"\\\/\b\f\n\r\t\u0041\u00e9\u20ac\ud83d\ude00")");
  REQUIRE(v);
  CHECK(v->text == "\"\\/\b\f\n\r\tA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
}

TEST_CASE("malformed JSON is rejected with a reason") {
  for (const char* bad :
       {"", "{", "{\"a\"}", "{\"a\":}", "[1,]", "{\"a\":1,}", "\"abc",
        "\"\\x\"", "\"\\ud800\"", "\"\\udc00x\"", "01", "1.", "-", "tru",
        "{} x", "\"a\nb\"", "{\"a\":1 \"b\":2}"}) {
    std::string why;
    INFO(bad);
    CHECK_FALSE(parse_json(bad, &why));
    CHECK_FALSE(why.empty());
  }
  std::string deep(100, '[');
  deep += std::string(100, ']');
  CHECK_FALSE(parse_json(deep));
}

TEST_CASE("integers read as decimal or hex") {
  CHECK(parse_integer("0") == 0);
  CHECK(parse_integer("-12") == -12);
  CHECK(parse_integer("0x100000003") == 0x100000003);
  CHECK(parse_integer("0XFF") == 255);
  CHECK(parse_integer("9223372036854775807") == INT64_MAX);
  CHECK(parse_integer("-9223372036854775808") == INT64_MIN);
  CHECK_FALSE(parse_integer("9223372036854775808"));
  // Hex spells the bit pattern: session ids with the top bit set.
  CHECK(parse_integer("0xffffffffffffffff") == -1);
  CHECK_FALSE(parse_integer("0x10000000000000000"));
  CHECK_FALSE(parse_integer(""));
  CHECK_FALSE(parse_integer("0x"));
  CHECK_FALSE(parse_integer("12a"));
  CHECK_FALSE(parse_integer("1.5"));
}

TEST_CASE("a record needs its members with the right types") {
  const std::string ok =
      R"({"mono_ns":1,"wall_ns":2,"node":1,"from":"a#1","to":"b#2",)"
      R"("type":"t","fields":{"x":"y"}})";
  CHECK(parse_record(ok));
  for (
      const char* bad : {
          R"({"wall_ns":2,"node":1,"from":"a#1","to":"b#2","type":"t"})",
          R"({"mono_ns":"1","wall_ns":2,"node":1,"from":"a","to":"b","type":"t"})",
          R"({"mono_ns":1,"wall_ns":2,"node":-1,"from":"a","to":"b","type":"t"})",
          R"({"mono_ns":1,"wall_ns":2,"node":1,"to":"b","type":"t"})",
          R"({"mono_ns":1,"wall_ns":2,"node":1,"from":"a","to":"","type":"t"})",
          R"({"mono_ns":1,"wall_ns":2,"node":1,"from":"a","to":"b"})",
          R"({"mono_ns":1,"wall_ns":2,"node":1,"from":"a","to":"b","type":"t","fields":[]})",
          R"({"mono_ns":1.5,"wall_ns":2,"node":1,"from":"a","to":"b","type":"t"})",
          R"([1,2])",
      }) {
    std::string why;
    INFO(bad);
    CHECK_FALSE(parse_record(bad, &why));
    CHECK_FALSE(why.empty());
  }
  // Members it does not know are ignored: later versions may add some.
  auto r = parse_record(
      R"({"mono_ns":1,"wall_ns":2,"node":1,"from":"a#1","to":"b#2",)"
      R"("type":"t","extra":[1],"fields":{"n":{"nested":true}}})");
  REQUIRE(r);
  CHECK(r->field_text("n") == R"({"nested":true})");
  CHECK_FALSE(r->field_text("missing"));
  CHECK(actor_kind("leader#7") == "leader");
  CHECK(actor_kind("leader") == "leader");
}
