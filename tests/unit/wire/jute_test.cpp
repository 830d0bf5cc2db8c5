// The jute primitives: byte layout, frame patching, bounds checks.
#include <catch2/catch.hpp>

#include <limits>

#include "messages/wire/jute.hpp"
#include "wire_test_util.hpp"

using namespace zkd::wire;
using zkd::wire::test::from_hex;
using zkd::wire::test::to_hex;
using zkd::wire::test::view;

TEST_CASE("writer lays out ints, longs and bools big-endian", "[wire][jute]") {
  std::vector<char> out;
  writer w{out};
  w.write_int(0x01020304);
  w.write_int(-2);
  w.write_long(0x0102030405060708);
  w.write_long(std::numeric_limits<int64_t>::min());
  w.write_bool(true);
  w.write_bool(false);
  CHECK(to_hex(out) == "01020304"
                       "fffffffe"
                       "0102030405060708"
                       "8000000000000000"
                       "01"
                       "00");
}

TEST_CASE("writer prefixes strings and buffers with their length, -1 for null",
          "[wire][jute]") {
  std::vector<char> out;
  writer w{out};
  w.write_string("ab");
  w.write_string("");
  w.write_buffer(std::nullopt);
  w.write_buffer(opt_bytes{std::string("\0\xff", 2)});
  w.write_count(3);
  CHECK(to_hex(out) == "000000026162"
                       "00000000"
                       "ffffffff"
                       "0000000200ff"
                       "00000003");
}

TEST_CASE("begin_frame/end_frame patch the length prefix", "[wire][jute]") {
  std::vector<char> out{'x'}; // frames append after existing bytes
  writer w{out};
  auto f1 = w.begin_frame();
  w.write_int(7);
  w.write_string("abc");
  w.end_frame(f1);
  auto f2 = w.begin_frame();
  w.end_frame(f2);
  CHECK(to_hex(out) == "78"
                       "0000000b0000000700000003616263"
                       "00000000");
}

TEST_CASE("reader decodes what writer wrote", "[wire][jute]") {
  std::vector<char> out;
  writer w{out};
  w.write_int(std::numeric_limits<int32_t>::min());
  w.write_long(-1);
  w.write_bool(true);
  w.write_string("hello");
  w.write_buffer(std::nullopt);
  w.write_buffer(opt_bytes{""});
  reader r{view(out)};
  int32_t i = 0;
  int64_t l = 0;
  bool b = false;
  std::string s;
  opt_bytes n{"junk"}, e;
  REQUIRE(r.read_int(i));
  REQUIRE(r.read_long(l));
  REQUIRE(r.read_bool(b));
  REQUIRE(r.read_string(s));
  REQUIRE(r.read_buffer(n));
  REQUIRE(r.read_buffer(e));
  CHECK(i == std::numeric_limits<int32_t>::min());
  CHECK(l == -1);
  CHECK(b);
  CHECK(s == "hello");
  CHECK_FALSE(n.has_value());
  REQUIRE(e.has_value());
  CHECK(e->empty());
  CHECK(r.remaining() == 0);
  CHECK(r.ok());
}

TEST_CASE("any non-zero byte reads as true, like DataInput.readBoolean",
          "[wire][jute]") {
  auto bytes = from_hex("00 01 02 ff 80");
  reader r{view(bytes)};
  bool b[5];
  for (auto& x : b)
    REQUIRE(r.read_bool(x));
  CHECK_FALSE(b[0]);
  CHECK(b[1]);
  CHECK(b[2]);
  CHECK(b[3]);
  CHECK(b[4]);
}

TEST_CASE("a null string reads as empty", "[wire][jute]") {
  auto bytes = from_hex("ffffffff");
  reader r{view(bytes)};
  std::string s = "previous";
  REQUIRE(r.read_string(s));
  CHECK(s.empty());
}

TEST_CASE("reading past the end fails and the failure is sticky",
          "[wire][jute]") {
  auto bytes = from_hex("00 00 00 01 02 03");
  reader r{view(bytes)};
  int32_t i;
  int64_t l;
  REQUIRE(r.read_int(i));
  CHECK(i == 1);
  CHECK_FALSE(r.read_long(l));
  CHECK_FALSE(r.ok());
  // Two bytes would be left for a bool, but the reader stays failed.
  bool b;
  CHECK_FALSE(r.read_bool(b));
  CHECK_FALSE(r.ok());
}

TEST_CASE("bad string lengths fail without allocating", "[wire][jute]") {
  SECTION("-2") {
    auto bytes = from_hex("fffffffe 0000");
    reader r{view(bytes)};
    std::string s;
    CHECK_FALSE(r.read_string(s));
    CHECK_FALSE(r.ok());
  }
  SECTION("INT32_MIN") {
    auto bytes = from_hex("80000000");
    reader r{view(bytes)};
    opt_bytes s;
    CHECK_FALSE(r.read_buffer(s));
  }
  SECTION("INT32_MAX") {
    auto bytes = from_hex("7fffffff 61 62 63");
    reader r{view(bytes)};
    std::string s;
    CHECK_FALSE(r.read_string(s));
    CHECK(s.capacity() < 64);
  }
  SECTION("one more than what remains") {
    auto bytes = from_hex("00000004 616263");
    reader r{view(bytes)};
    std::string s;
    CHECK_FALSE(r.read_string(s));
  }
  SECTION("exactly what remains is fine") {
    auto bytes = from_hex("00000003 616263");
    reader r{view(bytes)};
    std::string s;
    CHECK(r.read_string(s));
    CHECK(s == "abc");
    CHECK(r.remaining() == 0);
  }
}

TEST_CASE("vector counts", "[wire][jute]") {
  size_t n = 99;
  SECTION("-1 (null) reads as empty") {
    auto bytes = from_hex("ffffffff");
    reader r{view(bytes)};
    REQUIRE(r.read_count(n, 4));
    CHECK(n == 0);
  }
  SECTION("other negative counts read as empty, as in ZooKeeper") {
    auto bytes = from_hex("fffffffe 80000000");
    reader r{view(bytes)};
    REQUIRE(r.read_count(n, 4));
    CHECK(n == 0);
    n = 99;
    REQUIRE(r.read_count(n, 4));
    CHECK(n == 0);
  }
  SECTION("a count whose elements cannot fit fails at once") {
    auto bytes = from_hex("00000003 0000000000000000"); // 8 bytes, need 12
    reader r{view(bytes)};
    CHECK_FALSE(r.read_count(n, 4));
    CHECK_FALSE(r.ok());
  }
  SECTION("INT32_MAX fails") {
    auto bytes = from_hex("7fffffff 00000000");
    reader r{view(bytes)};
    CHECK_FALSE(r.read_count(n, 4));
  }
  SECTION("a count that fits is accepted") {
    auto bytes = from_hex("00000002 0000000000000000");
    reader r{view(bytes)};
    REQUIRE(r.read_count(n, 4));
    CHECK(n == 2);
  }
}

TEST_CASE("read_view does not copy and tells null from empty", "[wire][jute]") {
  auto bytes = from_hex("00000002 6162 ffffffff 00000000");
  reader r{view(bytes)};
  std::string_view v;
  bool is_null = true;
  REQUIRE(r.read_view(v, is_null));
  CHECK_FALSE(is_null);
  CHECK(v == "ab");
  CHECK(v.data() == bytes.data() + 4);
  REQUIRE(r.read_view(v, is_null));
  CHECK(is_null);
  REQUIRE(r.read_view(v, is_null));
  CHECK_FALSE(is_null);
  CHECK(v.empty());
}
