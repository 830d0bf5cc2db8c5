#include "actors/datatree/sha1.hpp"

#include <algorithm>
#include <cstring>

namespace zkd::datatree {

namespace {

constexpr uint32_t rotl(uint32_t x, int n) noexcept {
  return (x << n) | (x >> (32 - n));
}

uint32_t load_be32(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

void store_be32(uint8_t* p, uint32_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

} // namespace

sha1::sha1() noexcept
    // FIPS 180-4 section 5.3.1: the initial hash value H(0).
    : h_{0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u, 0xc3d2e1f0u},
      block_{} {
  // nop
}

void sha1::compress(const uint8_t* block) noexcept {
  // Section 6.1.2: the message schedule W0..W79 and 80 rounds, each round
  // using the function f_t and constant K_t of its group of 20 (4.1.1, 4.2.1).
  uint32_t w[80];
  for (int t = 0; t < 16; ++t)
    w[t] = load_be32(block + 4 * t);
  for (int t = 16; t < 80; ++t)
    w[t] = rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
  uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4];
  for (int t = 0; t < 80; ++t) {
    uint32_t f;
    uint32_t k;
    if (t < 20) {
      f = (b & c) ^ (~b & d); // Ch
      k = 0x5a827999u;
    } else if (t < 40) {
      f = b ^ c ^ d; // Parity
      k = 0x6ed9eba1u;
    } else if (t < 60) {
      f = (b & c) ^ (b & d) ^ (c & d); // Maj
      k = 0x8f1bbcdcu;
    } else {
      f = b ^ c ^ d; // Parity
      k = 0xca62c1d6u;
    }
    uint32_t tmp = rotl(a, 5) + f + e + k + w[t];
    e = d;
    d = c;
    c = rotl(b, 30);
    b = a;
    a = tmp;
  }
  h_[0] += a;
  h_[1] += b;
  h_[2] += c;
  h_[3] += d;
  h_[4] += e;
}

void sha1::update(std::string_view bytes) noexcept {
  auto p = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t n = bytes.size();
  total_bytes_ += n;
  if (used_ > 0) {
    size_t take = std::min(n, block_.size() - used_);
    std::memcpy(block_.data() + used_, p, take);
    used_ += take;
    p += take;
    n -= take;
    if (used_ < block_.size())
      return;
    compress(block_.data());
    used_ = 0;
  }
  for (; n >= 64; p += 64, n -= 64)
    compress(p);
  if (n > 0) {
    std::memcpy(block_.data(), p, n);
    used_ = n;
  }
}

sha1_digest sha1::finish() noexcept {
  // Section 5.1.1: append a 1 bit, then zeros up to 56 bytes mod 64, then
  // the message length in bits as a 64-bit big-endian integer.
  uint64_t bits = total_bytes_ * 8;
  block_[used_++] = 0x80;
  if (used_ > 56) {
    std::memset(block_.data() + used_, 0, block_.size() - used_);
    compress(block_.data());
    used_ = 0;
  }
  std::memset(block_.data() + used_, 0, 56 - used_);
  store_be32(block_.data() + 56, static_cast<uint32_t>(bits >> 32));
  store_be32(block_.data() + 60, static_cast<uint32_t>(bits));
  compress(block_.data());
  used_ = 0;
  sha1_digest out;
  for (size_t i = 0; i < h_.size(); ++i)
    store_be32(out.data() + 4 * i, h_[i]);
  return out;
}

sha1_digest sha1::of(std::string_view bytes) noexcept {
  sha1 s;
  s.update(bytes);
  return s.finish();
}

} // namespace zkd::datatree
