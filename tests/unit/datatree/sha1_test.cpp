// SHA-1 against the FIPS 180-4 / FIPS 180-2 example vectors, plus lengths
// around the padding boundaries (checked against Python's hashlib) and
// incremental hashing split at every point.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include "actors/datatree/sha1.hpp"

using namespace zkd::datatree;

namespace {

std::string hex(const sha1_digest& d) {
  std::string out;
  char buf[3];
  for (auto b : d) {
    std::snprintf(buf, sizeof(buf), "%02x", b);
    out += buf;
  }
  return out;
}

} // namespace

TEST_CASE("SHA-1 of the FIPS example messages", "[sha1]") {
  // FIPS 180-2 appendix A (one block, two blocks, a million 'a's) and the
  // empty message.
  CHECK(hex(sha1::of("abc")) == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK(hex(sha1::of("")) == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  CHECK(hex(sha1::of(
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
        "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  CHECK(hex(sha1::of(
            "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
            "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")) ==
        "a49b2446a02c645bf419f995b67091253a04a259");
  CHECK(hex(sha1::of(std::string(1000000, 'a'))) ==
        "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

TEST_CASE("SHA-1 across the padding boundaries", "[sha1]") {
  // 55 bytes is the longest message whose padding fits its last block; 56
  // needs one more; 64 and 119/120 repeat that a block later.
  struct {
    size_t n;
    const char* digest;
  } cases[] = {
      {55, "c1c8bbdc22796e28c0e15163d20899b65621d65a"},
      {56, "c2db330f6083854c99d4b5bfb6e8f29f201be699"},
      {57, "f08f24908d682555111be7ff6f004e78283d989a"},
      {63, "03f09f5b158a7a8cdad920bddc29b81c18a551f5"},
      {64, "0098ba824b5c16427bd7a1122a5a442a25ec644d"},
      {65, "11655326c708d70319be2610e8a57d9a5b959d3b"},
      {119, "ee971065aaa017e0632a8ca6c77bb3bf8b1dfc56"},
      {120, "f34c1488385346a55709ba056ddd08280dd4c6d6"},
  };
  for (auto& c : cases) {
    CAPTURE(c.n);
    CHECK(hex(sha1::of(std::string(c.n, 'a'))) == c.digest);
  }
}

TEST_CASE("SHA-1 fed in pieces equals SHA-1 of the whole", "[sha1]") {
  std::string msg;
  for (int i = 0; i < 200; ++i)
    msg.push_back(static_cast<char>(i * 7 + 3));
  auto whole = sha1::of(msg);
  for (size_t cut = 0; cut <= msg.size(); ++cut) {
    CAPTURE(cut);
    sha1 s;
    s.update(std::string_view{msg}.substr(0, cut));
    s.update(std::string_view{msg}.substr(cut));
    CHECK(s.finish() == whole);
  }
  sha1 bytewise;
  for (char c : msg)
    bytewise.update(std::string_view{&c, 1});
  CHECK(bytewise.finish() == whole);
}
