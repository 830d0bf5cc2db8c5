#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "actors/txn_log/crc32c.hpp"

using namespace zkd::txn_log;

namespace {

std::vector<uint32_t (*)(uint32_t, const void*, size_t)> impls() {
  std::vector<uint32_t (*)(uint32_t, const void*, size_t)> out{
      crc32c_extend_sw};
  if (crc32c_hw_available())
    out.push_back(crc32c_extend_hw);
  return out;
}

std::string bytes(std::initializer_list<int> xs) {
  std::string s;
  for (int x : xs)
    s.push_back(static_cast<char>(x));
  return s;
}

} // namespace

TEST_CASE("crc32c matches the RFC 3720 test vectors") {
  std::string zeros(32, '\0');
  std::string ones(32, '\xff');
  std::string up, down;
  for (int i = 0; i < 32; ++i) {
    up.push_back(static_cast<char>(i));
    down.push_back(static_cast<char>(31 - i));
  }
  // RFC 3720 B.4: an iSCSI SCSI Read (10) command PDU.
  auto pdu = bytes({0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00,
                    0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00,
                    0x00, 0x18, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                    0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00});
  for (auto f : impls()) {
    CHECK(f(0, "123456789", 9) == 0xE3069283u);
    CHECK(f(0, zeros.data(), zeros.size()) == 0x8A9136AAu);
    CHECK(f(0, ones.data(), ones.size()) == 0x62A8AB43u);
    CHECK(f(0, up.data(), up.size()) == 0x46DD794Eu);
    CHECK(f(0, down.data(), down.size()) == 0x113FDB5Cu);
    CHECK(f(0, pdu.data(), pdu.size()) == 0xD9963A56u);
    CHECK(f(0, "", 0) == 0u);
  }
  CHECK(crc32c("123456789") == 0xE3069283u);
}

TEST_CASE("crc32c extends across pieces and both paths agree") {
  std::string data;
  uint32_t x = 12345;
  for (int i = 0; i < 1000; ++i) {
    x = x * 1103515245u + 12345u;
    data.push_back(static_cast<char>(x >> 16));
  }
  auto whole = crc32c_extend_sw(0, data.data(), data.size());
  for (size_t cut : {0, 1, 3, 7, 8, 9, 63, 500, 999, 1000}) {
    auto a = crc32c_extend(0, data.data(), cut);
    CHECK(crc32c_extend(a, data.data() + cut, data.size() - cut) == whole);
  }
  // Every length and misalignment, so the 8-byte loops and the byte tails of
  // both implementations are exercised.
  for (size_t start = 0; start < 9; ++start)
    for (size_t len = 0; len + start <= 80; ++len) {
      auto sw = crc32c_extend_sw(0, data.data() + start, len);
      CHECK(crc32c_extend(0, data.data() + start, len) == sw);
      if (crc32c_hw_available())
        CHECK(crc32c_extend_hw(0, data.data() + start, len) == sw);
    }
}

TEST_CASE("crc32c of a zero zxid is not zero") {
  // The log relies on this: a record header of 16 zero bytes marks the end,
  // so no real record may encode to one (its CRC covers the zxid bytes).
  std::string eight(8, '\0');
  CHECK(crc32c(eight) != 0u);
}
