// CRC-32 (IEEE 802.3, java.util.zip.CRC32), for ZooKeeper-compatible znode
// digests. Not CRC-32C: the txn log has its own.
#pragma once

#include <cstddef>
#include <cstdint>

namespace zkd::datatree {

// Continues `crc` (0 to start) over `n` bytes, like CRC32.update.
uint32_t crc32_update(uint32_t crc, const void* data, size_t n) noexcept;

} // namespace zkd::datatree
