// SHA-1 (FIPS 180-4, section 6.1), for ZooKeeper's digest authentication:
// an id is "user:" + base64(SHA-1("user:password")). Not for anything that
// needs collision resistance; ZooKeeper's choice is kept for compatibility.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace zkd::datatree {

using sha1_digest = std::array<uint8_t, 20>;

// Incremental hashing: update() any number of times, then finish() once.
class sha1 {
public:
  sha1() noexcept;

  void update(std::string_view bytes) noexcept;

  // Pads the message (a 1 bit, zeros, the 64-bit big-endian bit length) and
  // returns the digest. The object must not be used afterwards.
  sha1_digest finish() noexcept;

  // One-shot convenience.
  static sha1_digest of(std::string_view bytes) noexcept;

private:
  void compress(const uint8_t* block) noexcept;

  std::array<uint32_t, 5> h_;
  std::array<uint8_t, 64> block_;
  size_t used_ = 0;          // bytes waiting in block_
  uint64_t total_bytes_ = 0; // message length so far
};

} // namespace zkd::datatree
