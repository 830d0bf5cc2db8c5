#include "actors/txn_log/crc32c.hpp"

#include <array>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ZKD_CRC32C_X86 1
#include <nmmintrin.h>
#endif

namespace zkd::txn_log {

namespace {

constexpr uint32_t poly = 0x82F63B78u;

using table_set = std::array<std::array<uint32_t, 256>, 8>;

// tables[k][b] is the CRC contribution of byte b followed by k zero bytes,
// which lets the slice-by-8 loop fold eight input bytes per step.
constexpr table_set make_tables() {
  table_set t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t c = b;
    for (int i = 0; i < 8; ++i)
      c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
    t[0][b] = c;
  }
  for (size_t k = 1; k < 8; ++k)
    for (size_t b = 0; b < 256; ++b)
      t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFF];
  return t;
}

constexpr table_set tables = make_tables();

uint64_t load_le64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}

using extend_fn = uint32_t (*)(uint32_t, const void*, size_t);

extend_fn pick_impl() {
  return crc32c_hw_available() ? crc32c_extend_hw : crc32c_extend_sw;
}

} // namespace

uint32_t crc32c_extend_sw(uint32_t crc, const void* data, size_t size) {
  auto p = static_cast<const unsigned char*>(data);
  uint32_t c = ~crc;
  while (size >= 8) {
    uint64_t v = load_le64(p) ^ c;
    c = tables[7][v & 0xFF] ^ tables[6][(v >> 8) & 0xFF] ^
        tables[5][(v >> 16) & 0xFF] ^ tables[4][(v >> 24) & 0xFF] ^
        tables[3][(v >> 32) & 0xFF] ^ tables[2][(v >> 40) & 0xFF] ^
        tables[1][(v >> 48) & 0xFF] ^ tables[0][v >> 56];
    p += 8;
    size -= 8;
  }
  while (size-- > 0)
    c = (c >> 8) ^ tables[0][(c ^ *p++) & 0xFF];
  return ~c;
}

#ifdef ZKD_CRC32C_X86

__attribute__((target("sse4.2"))) uint32_t
crc32c_extend_hw(uint32_t crc, const void* data, size_t size) {
  auto p = static_cast<const unsigned char*>(data);
  uint64_t c = ~crc;
  while (size >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
    p += 8;
    size -= 8;
  }
  auto c32 = static_cast<uint32_t>(c);
  while (size-- > 0)
    c32 = _mm_crc32_u8(c32, *p++);
  return ~c32;
}

bool crc32c_hw_available() {
  static const bool has = __builtin_cpu_supports("sse4.2");
  return has;
}

#else

uint32_t crc32c_extend_hw(uint32_t crc, const void* data, size_t size) {
  return crc32c_extend_sw(crc, data, size);
}

bool crc32c_hw_available() {
  return false;
}

#endif

uint32_t crc32c_extend(uint32_t crc, const void* data, size_t size) {
  static const extend_fn impl = pick_impl();
  return impl(crc, data, size);
}

} // namespace zkd::txn_log
