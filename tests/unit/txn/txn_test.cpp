// Txn records against the bytes ZooKeeper 3.8 itself writes: the expected
// hex strings were produced with zookeeper-3.8.0.jar
// (org.apache.zookeeper.server.persistence.Util.marshallTxnEntry).
#include <catch2/catch.hpp>

#include <string>

#include "messages/txn/txn.hpp"
#include "messages/wire/protocol.hpp"

using namespace zkd;
namespace op = wire::op;

namespace {

std::string hex(const std::string& b) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string unhex(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    out += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
  return out;
}

const std::vector<wire::acl> open_acl{
    wire::acl{31, wire::id{"world", "anyone"}}};

txn::record rec(txn::header h, txn::body b) {
  txn::record r;
  r.hdr = h;
  r.b = std::move(b);
  return r;
}

void check_golden(const txn::record& r, const std::string& expected_hex) {
  CAPTURE(wire::op_name(r.hdr.type));
  REQUIRE(txn::well_formed(r));
  auto bytes = txn::encode(r);
  CHECK(hex(bytes) == expected_hex);
  txn::record back;
  REQUIRE(txn::decode(unhex(expected_hex), back));
  CHECK(back == r);
}

} // namespace

TEST_CASE("txn encoding matches ZooKeeper's bytes", "[txn]") {
  check_golden(rec({0x1234, 7, 0x100000002, 1700000000123, op::create},
                   txn::create{"/a/b", std::string{"hi"}, open_acl, true, 3}),
               "00000000000012340000000700000001000000020000018bcfe5687b0000000"
               "1000000042"
               "f612f62000000026869000000010000001f00000005776f726c640000000661"
               "6e796f6e65"
               "0100000003");
  {
    auto r = rec({1, 2, 3, 4, op::create2},
                 txn::create{"/n", std::nullopt, open_acl, false, 0});
    r.dig = txn::digest{2, 0x1122334455667788};
    check_golden(r, "000000000000000100000002000000000000000300000000000000040"
                    "000000f000000022f6effffffff000000010000001f00000005776f72"
                    "6c6400000006616e796f6e65000000000000000002112233445566778"
                    "8");
  }
  check_golden(rec({1, 2, 3, 4, op::create_container},
                   txn::create_container{"/c", std::string{}, open_acl, 5}),
               "0000000000000001000000020000000000000003000000000000000400000"
               "013000000022f6300000000000000010000001f00000005776f726c640000"
               "0006616e796f6e6500000005");
  check_golden(
      rec({1, 2, 3, 4, op::create_ttl},
          txn::create_ttl{"/t", std::string{"\x01"}, open_acl, 5, 1000}),
      "000000000000000100000002000000000000000300000000000000040000001500000002"
      "2"
      "f740000000101000000010000001f00000005776f726c6400000006616e796f6e6500000"
      "0"
      "0500000000000003e8");
  check_golden(rec({1, 2, 3, 4, op::remove}, txn::remove{"/d"}),
               "000000000000000100000002000000000000000300000000000000040000000"
               "2000000022f64");
  check_golden(rec({1, 2, 3, 4, op::set_data},
                   txn::set_data{"/s", std::string{"xyz"}, 9}),
               "000000000000000100000002000000000000000300000000000000040000000"
               "5000000022f730000000378797a00000009");
  check_golden(rec({1, 2, 3, 4, op::set_acl},
                   txn::set_acl{"/s",
                                {wire::acl{1, wire::id{"digest", "u:p"}},
                                 wire::acl{31, wire::id{"ip", "10.0.0.0/8"}}},
                                2}),
               "000000000000000100000002000000000000000300000000000000040000000"
               "7000000022"
               "f7300000002000000010000000664696765737400000003753a700000001f00"
               "0000026970"
               "0000000a31302e302e302e302f3800000002");
  check_golden(rec({1, 2, 3, 4, op::check}, txn::check_version{"/s", 4}),
               "000000000000000100000002000000000000000300000000000000040000000"
               "d000000022f7300000004");
  check_golden(
      rec({0x55, 0, 3, 4, op::create_session}, txn::create_session{30000}),
      "00000000000000550000000000000000000000030000000000000004ffffff"
      "f600007530");
  check_golden(rec({0x55, 0, 3, 4, op::close_session},
                   txn::close_session{{"/e1", "/e2"}}),
               "00000000000000550000000000000000000000030000000000000004ffffff"
               "f500000002000000032f6531000000032f6532");
  check_golden(rec({1, 2, 3, 4, op::error}, txn::error{-101}),
               "00000000000000010000000200000000000000030000000000000004ffffff"
               "ffffffff9b");
  txn::multi m;
  m.ops.push_back(
      {op::create, txn::create{"/m", std::string{}, open_acl, false, 1}});
  m.ops.push_back({op::set_data, txn::set_data{"/m", std::string{"v"}, 1}});
  m.ops.push_back({op::check, txn::check_version{"/m", 2}});
  m.ops.push_back({op::remove, txn::remove{"/m"}});
  m.ops.push_back({op::error, txn::error{0}});
  check_golden(rec({1, 2, 3, 4, op::multi}, m),
               "000000000000000100000002000000000000000300000000000000040000000"
               "e000000050"
               "00000010000002a000000022f6d00000000000000010000001f00000005776f"
               "726c640000"
               "0006616e796f6e650000000001000000050000000f000000022f6d000000017"
               "6000000010"
               "000000d0000000a000000022f6d000000020000000200000006000000022f6d"
               "ffffffff00"
               "00000400000000");
}

TEST_CASE("txn decodes ZooKeeper's older forms", "[txn]") {
  SECTION("closeSession without a body (closeSessionTxn disabled)") {
    txn::record r;
    REQUIRE(txn::decode(unhex("00000000000000550000000000000000000000030000000"
                              "000000004fffffff5"),
                        r));
    CHECK(r.hdr.type == op::close_session);
    CHECK(std::get<txn::close_session>(r.b).paths_to_delete.empty());
    CHECK_FALSE(r.dig);
  }
  SECTION("CreateTxnV0 reads with parent_cversion -1") {
    txn::record r;
    REQUIRE(txn::decode(unhex("00000000000000010000000200000000000000030000000"
                              "000000004000000010000"
                              "00022f760000000164000000010000001f00000005776f7"
                              "26c6400000006616e796f6e6500"),
                        r));
    auto& c = std::get<txn::create>(r.b);
    CHECK(c.path == "/v");
    CHECK(c.data == std::string{"d"});
    CHECK(c.acl == open_acl);
    CHECK_FALSE(c.ephemeral);
    CHECK(c.parent_cversion == -1);
  }
}

TEST_CASE("txn decode rejects malformed input", "[txn]") {
  auto good = txn::encode(rec({1, 2, 3, 4, op::set_data},
                              txn::set_data{"/s", std::string{"xyz"}, 9}));
  txn::record r;
  REQUIRE(txn::decode(good, r));
  SECTION("every truncation fails") {
    for (size_t n = 0; n < good.size(); ++n) {
      CAPTURE(n);
      CHECK_FALSE(txn::decode(good.substr(0, n), r));
    }
  }
  SECTION("trailing bytes that are not a digest fail") {
    CHECK_FALSE(txn::decode(good + "xy", r));
    CHECK(txn::decode(good + std::string(12, '\0'), r));
    CHECK(r.dig == txn::digest{0, 0});
    CHECK_FALSE(txn::decode(good + std::string(13, '\0'), r));
  }
  SECTION("unknown header type") {
    auto bad = good;
    bad[31] = 99; // type's low byte
    CHECK_FALSE(txn::decode(bad, r));
  }
  SECTION("a multi op of a type a multi cannot hold") {
    txn::multi m;
    m.ops.push_back({op::remove, txn::remove{"/x"}});
    auto bytes = txn::encode(rec({1, 2, 3, 4, op::multi}, m));
    REQUIRE(txn::decode(bytes, r));
    // Rewrite the op's type (right after the count) to setACL.
    bytes[32 + 4 + 3] = static_cast<char>(op::set_acl);
    CHECK_FALSE(txn::decode(bytes, r));
  }
  SECTION("a multi op whose bytes hold more than its record") {
    txn::multi m;
    m.ops.push_back({op::remove, txn::remove{"/x"}});
    auto bytes = txn::encode(rec({1, 2, 3, 4, op::multi}, m));
    // Claim one more byte in the op buffer and append it.
    bytes[32 + 4 + 4 + 3] += 1;
    bytes += 'z';
    CHECK_FALSE(txn::decode(bytes, r));
  }
  SECTION("negative string length") {
    auto bad = good;
    bad[32] = static_cast<char>(0xff);
    bad[33] = static_cast<char>(0xff);
    bad[34] = static_cast<char>(0xff);
    bad[35] = static_cast<char>(0xf0);
    CHECK_FALSE(txn::decode(bad, r));
  }
}

TEST_CASE("txn well_formed pairs header types with bodies", "[txn]") {
  CHECK(txn::well_formed(rec({0, 0, 1, 0, op::create2}, txn::create{})));
  CHECK(txn::well_formed(
      rec({0, 0, 1, 0, op::delete_container}, txn::remove{"/c"})));
  CHECK(txn::well_formed(rec({0, 0, 1, 0, op::reconfig},
                             txn::set_data{"/zookeeper/config", {}, 0})));
  CHECK_FALSE(txn::well_formed(rec({0, 0, 1, 0, op::remove}, txn::create{})));
  CHECK_FALSE(txn::well_formed(rec({0, 0, 1, 0, op::get_data}, txn::remove{})));
  txn::multi m;
  m.ops.push_back({op::set_data, txn::remove{"/x"}});
  CHECK_FALSE(txn::well_formed(rec({0, 0, 1, 0, op::multi}, m)));
  m.ops[0] = {op::remove, txn::remove{"/x"}};
  CHECK(txn::well_formed(rec({0, 0, 1, 0, op::multi}, m)));
}

TEST_CASE("txn round-trips every kind with and without digest", "[txn]") {
  std::vector<txn::record> all;
  all.push_back(rec(
      {-5, -1, INT64_MAX, INT64_MIN, op::create},
      txn::create{"/\xc3\xa9", std::string(300, '\0'), {}, true, INT32_MIN}));
  all.push_back(rec({1, 1, 1, 1, op::close_session}, txn::close_session{}));
  all.push_back(rec({1, 1, 1, 1, op::multi}, txn::multi{}));
  all.push_back(
      rec({1, 1, 1, 1, op::set_data}, txn::set_data{"/n", std::nullopt, -1}));
  for (auto& r : all) {
    for (bool with_digest : {false, true}) {
      auto copy = r;
      if (with_digest)
        copy.dig = txn::digest{2, -7};
      txn::record back;
      REQUIRE(txn::decode(txn::encode(copy), back));
      CHECK(back == copy);
    }
  }
}
