// Authentication as ZooKeeper 3.8's providers do it: digest ids (compared
// with what org.apache.zookeeper.server.auth.DigestAuthenticationProvider
// prints for the same input), Java's reading of the auth bytes, the order a
// connection's auth ids are listed in (observed with whoami on ZooKeeper
// 3.8.0), peer addresses as Java prints them, whoami's client infos, and the
// ACL checks with ip ranges and the super id.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "actors/datatree/acl.hpp"

using namespace zkd;
using namespace zkd::datatree;

namespace {

wire::id digest_of(const std::string& user_password) {
  return wire::id{"digest", generate_digest(user_password)};
}

std::vector<std::string> users(const auth_ids& ids) {
  std::vector<std::string> out;
  for (auto& ci : client_infos(ids))
    out.push_back(ci.user);
  return out;
}

} // namespace

TEST_CASE("digest ids match DigestAuthenticationProvider", "[acl][auth]") {
  // java -cp ... org.apache.zookeeper.server.auth.DigestAuthenticationProvider
  CHECK(generate_digest("super:test") == "super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
  CHECK(generate_digest("bob:pw") == "bob:ikIaKsbtGweaHnb/jKn7OHqbunM=");
  CHECK(generate_digest("alice:x") == "alice:ymPhuWeFSCMY9u3N/YVcxIuy3LU=");
  // No colon: the whole text is the user; more colons: the first one splits.
  CHECK(generate_digest("abc") == "abc:qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
  CHECK(generate_digest("a:b:c") == "a:cLzgnoJ6mP5qz3w+mwvPE2vDgu0=");
  CHECK(generate_digest(":x") == ":57b19mLA2vMhI/edHul/TytWqWE=");
  CHECK(generate_digest("") == ":2jmj7l5rSw0yVb/vlWAYkK/YBwk=");
  CHECK(generate_digest("user:") == "user:kd7q5xGKLW+18xQTfO8iqRaFvsM=");
  CHECK(generate_digest("\xc3\xbcn\xc3\xaf:c\xc3\xb8"
                        "d\xc3\xa9") ==
        "\xc3\xbcn\xc3\xaf:xQllqDAJT4MXfIfWHQyzwXoGn8M=");
  CHECK(generate_digest("\xe6\x97\xa5\xe6\x9c\xac:\xe8\xaa\x9e") ==
        "\xe6\x97\xa5\xe6\x9c\xac:y3n0kMFHEG/f/c8zdiEtJoiALR8=");
  CHECK(generate_digest("\xf0\x9f\x98\x80:x") ==
        "\xf0\x9f\x98\x80:REqPFl+hNWT76jWOnLhc6nLqmrk=");
  // Every digest id is a valid ACL id.
  CHECK(valid_acl_id(digest_of("bob:pw")));
  CHECK(valid_acl_id(digest_of("abc")));
}

TEST_CASE("base64 as DigestAuthenticationProvider writes it", "[acl][auth]") {
  auto b64 = [](std::string s) {
    return base64_encode(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  CHECK(b64("") == "");
  CHECK(b64("f") == "Zg==");
  CHECK(b64("fo") == "Zm8=");
  CHECK(b64("foo") == "Zm9v");
  CHECK(b64("foob") == "Zm9vYg==");
  CHECK(b64(std::string("\xfb\xff\xfe", 3)) == "+//+");
}

TEST_CASE("auth bytes are read as Java's String reads them", "[acl][auth]") {
  // Observed through whoami on ZooKeeper 3.8.0 (JDK 17): malformed UTF-8
  // becomes U+FFFD per the JDK decoder's own splitting.
  const std::string r = "\xef\xbf\xbd";
  CHECK(java_string("plain:ascii") == "plain:ascii");
  CHECK(java_string("\xc3\xbc\xe6\x97\xa5\xf0\x9f\x98\x80") ==
        "\xc3\xbc\xe6\x97\xa5\xf0\x9f\x98\x80");
  CHECK(java_string("\xff\xfe"
                    "ab") == r + r + "ab");
  CHECK(java_string("x\xe2\x82:y") == "x" + r + ":y");
  CHECK(java_string("\xed\xa0\x80q") == r + "q"); // a surrogate: one U+FFFD
  CHECK(java_string("tr\xe2\x82") == "tr" + r);   // truncated at the end
  CHECK(java_string("\xc0\x80") == r + r);        // overlong NUL
  CHECK(java_string("\xe0\x80\x80") == r + r + r);
  CHECK(java_string("\xf4\x90\x80\x80") == r + r + r + r); // above U+10FFFF
  CHECK(java_string("\xf0\x9f\x98"
                    "a") == r + "a");
  CHECK(java_string(std::string("a\0b", 3)) == std::string("a\0b", 3));
  // The digest is of the replaced text.
  CHECK(generate_digest("\xff:pw") == generate_digest(r + ":pw"));
}

TEST_CASE("Java hash codes", "[acl][auth]") {
  CHECK(java_string_hash("") == 0);
  CHECK(java_string_hash("a") == 97);
  CHECK(java_string_hash("hello") == 99162322);
  // Wraps like a Java int.
  CHECK(java_string_hash("polygenelubricants") == INT32_MIN);
  // Over UTF-16 units: U+00FC is one unit, U+1F600 two (a surrogate pair).
  CHECK(java_string_hash("\xc3\xbc") == 0xfc);
  CHECK(java_string_hash("\xf0\x9f\x98\x80") == 0xd83d * 31 + 0xde00);
  CHECK(java_id_hash(wire::id{"", ""}) == 17 * 37 * 37);
}

TEST_CASE("a connection's auth ids are listed in ZooKeeper's set order",
          "[acl][auth]") {
  SECTION("ten ids, a duplicate and the super id") {
    auth_set s;
    CHECK(s.add(wire::id{"ip", "127.0.0.1"}));
    CHECK(s.add(digest_of("bob:pw")));
    CHECK(s.add(digest_of("alice:x")));
    CHECK(s.add(digest_of("carol:y")));
    CHECK(s.add(wire::id{"super", ""}));
    CHECK(s.add(digest_of("super:test")));
    CHECK(s.add(digest_of("abc")));
    CHECK(s.add(digest_of(":x")));
    CHECK_FALSE(s.add(digest_of("bob:pw")));
    CHECK(s.add(digest_of("zz:1")));
    CHECK(s.add(digest_of("a:b:c")));
    CHECK(s.size() == 10);
    // whoami on ZooKeeper 3.8.0 after the same addauth packets.
    auto infos = client_infos(s.ids());
    std::vector<std::pair<std::string, std::string>> got;
    for (auto& ci : infos)
      got.emplace_back(ci.auth_scheme, ci.user);
    std::vector<std::pair<std::string, std::string>> want{
        {"digest", "bob"},   {"digest", "zz"},    {"digest", "alice"},
        {"super", ""},       {"digest", "a"},     {"ip", "127.0.0.1"},
        {"digest", "carol"}, {"digest", "super"}, {"digest", ""},
        {"digest", "abc"}};
    CHECK(got == want);
  }
  SECTION("the table grows at 12 ids and again at 24") {
    auth_set s;
    s.add(wire::id{"ip", "127.0.0.1"});
    auto upto = [&](int n) {
      for (int i = 0; i <= n; ++i)
        s.add(digest_of("u" + std::to_string(i) + ":p"));
      return users(s.ids());
    };
    using v = std::vector<std::string>;
    CHECK(upto(10) == v{"u3", "u5", "u7", "127.0.0.1", "u9", "u2", "u8", "u0",
                        "u1", "u6", "u4", "u10"});
    CHECK(upto(11) == v{"u3", "u5", "u7", "u11", "127.0.0.1", "u9", "u2", "u8",
                        "u0", "u1", "u6", "u4", "u10"});
    CHECK(upto(12) == v{"u3", "u5", "u7", "u11", "127.0.0.1", "u9", "u2", "u8",
                        "u12", "u0", "u1", "u6", "u4", "u10"});
    CHECK(upto(23) == v{"u3",  "u20", "u5",  "u14", "127.0.0.1", "u8",  "u0",
                        "u1",  "u23", "u4",  "u10", "u18",       "u17", "u7",
                        "u11", "u19", "u9",  "u15", "u2",        "u12", "u13",
                        "u6",  "u21", "u16", "u22"});
    CHECK(upto(39) == v{"u3",  "u20",       "u5",  "u31", "u28", "u37", "u33",
                        "u14", "127.0.0.1", "u8",  "u26", "u0",  "u1",  "u36",
                        "u23", "u35",       "u25", "u29", "u4",  "u39", "u10",
                        "u27", "u18",       "u17", "u32", "u7",  "u34", "u11",
                        "u19", "u9",        "u30", "u38", "u15", "u2",  "u12",
                        "u13", "u6",        "u21", "u24", "u16", "u22"});
  }
}

TEST_CASE("peer addresses as InetAddress.getHostAddress prints them",
          "[acl][auth]") {
  CHECK(java_host_address("127.0.0.1") == "127.0.0.1");
  CHECK(java_host_address("10.1.2.3") == "10.1.2.3");
  CHECK(java_host_address("::ffff:127.0.0.1") == "127.0.0.1");
  CHECK(java_host_address("::1") == "0:0:0:0:0:0:0:1");
  CHECK(java_host_address("fe80::1:ABCD") == "fe80:0:0:0:0:0:1:abcd");
  CHECK(java_host_address("not an address") == "not an address");
}

TEST_CASE("whoami's client infos", "[acl][auth]") {
  auth_ids ids{wire::id{"ip", "127.0.0.1"}, wire::id{"super", ""},
               digest_of("bob:pw"), wire::id{"digest", ":abc="},
               wire::id{"other", "x:y"}};
  auto infos = client_infos(ids);
  REQUIRE(infos.size() == 5);
  CHECK(infos[0].auth_scheme == "ip");
  CHECK(infos[0].user == "127.0.0.1");
  CHECK(infos[1].auth_scheme == "super");
  CHECK(infos[1].user == "");
  CHECK(infos[2].user == "bob");
  CHECK(infos[3].user == "");
  CHECK(infos[4].user == ""); // no provider for the scheme
}

TEST_CASE("ACL checks with ip ranges, digests and the super id",
          "[acl][auth]") {
  auto acl = [](int32_t perms, std::string scheme, std::string ident) {
    return std::vector<wire::acl>{
        wire::acl{perms, wire::id{std::move(scheme), std::move(ident)}}};
  };
  auth_ids local{wire::id{"ip", "127.0.0.1"}};
  auth_ids other{wire::id{"ip", "10.0.0.7"}};
  using wire::perm::read;
  using wire::perm::write;
  SECTION("ip: exact address and CIDR ranges") {
    CHECK(acl_permits(acl(read, "ip", "127.0.0.1"), read, local));
    CHECK_FALSE(acl_permits(acl(read, "ip", "127.0.0.2"), read, local));
    CHECK(acl_permits(acl(read, "ip", "127.0.0.0/8"), read, local));
    CHECK(acl_permits(acl(read, "ip", "127.255.255.255/8"), read, local));
    CHECK_FALSE(acl_permits(acl(read, "ip", "128.0.0.0/8"), read, local));
    CHECK(acl_permits(acl(read, "ip", "10.0.0.0/29"), read, other));
    CHECK_FALSE(acl_permits(acl(read, "ip", "10.0.0.8/29"), read, other));
    CHECK(acl_permits(acl(read, "ip", "10.0.0.6/31"), read, other));
    CHECK(acl_permits(acl(read, "ip", "1.2.3.4/0"), read, local));
    CHECK_FALSE(acl_permits(acl(read, "ip", "127.0.0.1/33"), read, local));
    // The permission must be granted too.
    CHECK_FALSE(acl_permits(acl(read, "ip", "127.0.0.1"), write, local));
    // An ip ACL never matches a digest id, nor a client without an ip id.
    CHECK_FALSE(acl_permits(acl(read, "ip", "127.0.0.1"), read,
                            auth_ids{digest_of("bob:pw")}));
  }
  SECTION("digest: the exact id") {
    auto bob = digest_of("bob:pw");
    auth_ids who{wire::id{"ip", "127.0.0.1"}, bob};
    CHECK(acl_permits(acl(read, "digest", bob.ident), read, who));
    CHECK_FALSE(acl_permits(acl(read, "digest", generate_digest("bob:other")),
                            read, who));
    CHECK_FALSE(acl_permits(acl(read, "digest", bob.ident), read, local));
  }
  SECTION("super passes everything, world:anyone only what it grants") {
    auth_ids super{wire::id{"ip", "127.0.0.1"}, wire::id{"super", ""}};
    CHECK(acl_permits(acl(0, "digest", "x:y"), wire::perm::admin, super));
    CHECK(acl_permits(acl(read, "world", "anyone"), read, {}));
    CHECK_FALSE(acl_permits(acl(read, "world", "anyone"), write, {}));
  }
  SECTION("fixup expands auth into the digest ids in set order") {
    auth_set s;
    s.add(wire::id{"ip", "127.0.0.1"});
    s.add(digest_of("alice:x"));
    s.add(digest_of("bob:pw"));
    s.add(wire::id{"super", ""});
    std::vector<wire::acl> out;
    REQUIRE(fixup_acl({wire::acl{read, wire::id{"auth", ""}}}, s.ids(), out) ==
            wire::err::ok);
    // bob before alice, as ZooKeeper lists them; ip and super do not count.
    REQUIRE(out.size() == 2);
    CHECK(out[0].id == digest_of("bob:pw"));
    CHECK(out[1].id == digest_of("alice:x"));
    CHECK(fixup_acl({wire::acl{read, wire::id{"auth", ""}}}, local, out) ==
          wire::err::invalid_acl);
  }
}
