// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of the
// transaction log records. Same parameters as iSCSI (RFC 3720 B.4) and ext4.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace zkd::txn_log {

// Continues a finished CRC with more data: crc32c_extend(crc32c(a), b) equals
// crc32c(a + b), so a record's CRC can be taken over pieces without copying.
// Uses the SSE4.2 crc32 instruction when the CPU has it, tables otherwise.
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t size);

inline uint32_t crc32c(const void* data, size_t size) {
  return crc32c_extend(0, data, size);
}

inline uint32_t crc32c(std::string_view data) {
  return crc32c_extend(0, data.data(), data.size());
}

// The table-driven (slice-by-8) implementation, always available; exposed so
// tests can check it against the hardware path.
uint32_t crc32c_extend_sw(uint32_t crc, const void* data, size_t size);

// The SSE4.2 path; only callable when crc32c_hw_available() is true.
uint32_t crc32c_extend_hw(uint32_t crc, const void* data, size_t size);

bool crc32c_hw_available();

} // namespace zkd::txn_log
