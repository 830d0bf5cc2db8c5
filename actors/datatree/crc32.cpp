#include "actors/datatree/crc32.hpp"

#include <array>

#include "actors/txn_log/byte_order.hpp"

namespace zkd::datatree {

namespace {

// Slicing-by-8 tables for the reflected polynomial 0xEDB88320: t[s][b] is
// the CRC of byte b followed by s zero bytes, so eight table lookups fold
// eight input bytes at once.
struct tables {
  std::array<std::array<uint32_t, 256>, 8> t{};
  tables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
      for (size_t s = 1; s < 8; ++s)
        t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
  }
};

const tables& crc_tables() {
  static const tables instance;
  return instance;
}

} // namespace

uint32_t crc32_update(uint32_t crc, const void* data, size_t n) noexcept {
  auto& t = crc_tables().t;
  auto p = static_cast<const unsigned char*>(data);
  using txn_log::load_le32;
  uint32_t c = ~crc;
  while (n >= 8) {
    uint32_t lo = c ^ load_le32(reinterpret_cast<const char*>(p));
    uint32_t hi = load_le32(reinterpret_cast<const char*>(p + 4));
    c = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^
        t[4][lo >> 24] ^ t[3][hi & 0xFF] ^ t[2][(hi >> 8) & 0xFF] ^
        t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0)
    c = (c >> 8) ^ t[0][(c ^ *p++) & 0xFF];
  return ~c;
}

} // namespace zkd::datatree
