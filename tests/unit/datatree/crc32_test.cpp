// CRC-32 (IEEE) for the znode digest: the catalogue check value, and the
// table-driven code against a bit-at-a-time reference for every length
// around the 8-byte stride, split at every point (as the digest feeds path,
// data and stat in three updates).
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "actors/datatree/crc32.hpp"

using zkd::datatree::crc32_update;

namespace {

uint32_t bitwise_crc32(const std::string& s) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k)
      c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
  }
  return ~c;
}

} // namespace

TEST_CASE("CRC-32 of the catalogue check string", "[crc32]") {
  const std::string check = "123456789";
  CHECK(crc32_update(0, check.data(), check.size()) == 0xCBF43926u);
  CHECK(crc32_update(0, nullptr, 0) == 0u);
  // java.util.zip.CRC32 of "The quick brown fox jumps over the lazy dog".
  const std::string fox = "The quick brown fox jumps over the lazy dog";
  CHECK(crc32_update(0, fox.data(), fox.size()) == 0x414FA339u);
}

TEST_CASE("CRC-32 matches a bitwise reference at every length and split",
          "[crc32]") {
  std::string s;
  uint32_t x = 12345;
  for (size_t len = 0; len <= 70; ++len) {
    const auto want = bitwise_crc32(s);
    CHECK(crc32_update(0, s.data(), s.size()) == want);
    for (size_t cut = 0; cut <= len; ++cut) {
      auto c = crc32_update(0, s.data(), cut);
      c = crc32_update(c, s.data() + cut, len - cut);
      REQUIRE(c == want);
    }
    x = x * 1103515245u + 12345u;
    s.push_back(static_cast<char>(x >> 16));
  }
}
