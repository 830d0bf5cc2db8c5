// Path rules (PathUtils.validatePath) and ACL rules (fixupACL, checkACL and
// the ip / digest providers) of ZooKeeper 3.8.
#include <catch2/catch.hpp>

#include <string>

#include "actors/datatree/acl.hpp"
#include "actors/datatree/path.hpp"

using namespace zkd;
using namespace zkd::datatree;

TEST_CASE("valid_path", "[path]") {
  for (auto p :
       {"/", "/a", "/a/b", "/a.", "/.a", "/a..b", "/..a", "/a/...", "/ a",
        "/a\xc2\xa0", "/\xe4\xb8\xad\xe6\x96\x87", "/zookeeper"}) {
    CAPTURE(p);
    CHECK(valid_path(p));
  }
  for (auto p : {"",
                 "a",
                 "a/b",
                 "//",
                 "/a/",
                 "/a//b",
                 "/.",
                 "/..",
                 "/a/.",
                 "/a/..",
                 "/./a",
                 "/../a",
                 "/a\x01",
                 "/a\x1f",
                 "/a\x7f",
                 "/a\xc2\x80",
                 "/a\xc2\x9f",
                 "/\xed\xa0\x80",
                 "/\xee\x80\x80",
                 "/\xef\xa3\xbf",
                 "/\xef\xbf\xb0",
                 "/\xef\xbf\xbd",
                 "/\xf0\x90\x80\x80",
                 "/\xc0\xaf",
                 "/\xe0\x80\xaf",
                 "/\x80",
                 "/a\xc3",
                 "/a\xe4\xb8"}) {
    CAPTURE(p);
    CHECK_FALSE(valid_path(p));
  }
  CHECK_FALSE(valid_path(std::string("/a\0b", 4)));
  // A sequential create validates the path with its suffix.
  CHECK_FALSE(valid_path("/p/"));
  CHECK(valid_path("/p/0000000001"));
}

TEST_CASE("path pieces", "[path]") {
  CHECK(parent_of("/a") == "");
  CHECK(parent_of("/a/b") == "/a");
  CHECK(parent_of("/a/") == "/a");
  CHECK(parent_of("/") == "");
  CHECK(name_of("/a/b") == "b");
  CHECK(name_of("/a/") == "");
  CHECK(has_parent("/a"));
  CHECK_FALSE(has_parent("a"));
  CHECK_FALSE(has_parent(""));
  CHECK_FALSE(has_parent(std::string("/a\0", 3)));
  CHECK(is_special_path("/"));
  CHECK(is_special_path("/zookeeper"));
  CHECK(is_special_path("/zookeeper/quota"));
  CHECK(is_special_path("/zookeeper/config"));
  CHECK_FALSE(is_special_path("/zookeeper/x"));
  CHECK_FALSE(is_special_path(""));
}

TEST_CASE("ACL ids the providers accept", "[acl]") {
  auto ok = [](const char* scheme, const char* ident) {
    return valid_acl_id(wire::id{scheme, ident});
  };
  CHECK(ok("world", "anyone"));
  CHECK_FALSE(ok("world", "other"));
  CHECK_FALSE(ok("super", ""));
  CHECK_FALSE(ok("sasl", "x"));
  CHECK_FALSE(ok("", ""));
  CHECK(ok("ip", "127.0.0.1"));
  CHECK(ok("ip", "10.0.0.0/8"));
  CHECK(ok("ip", "10.0.0.0/0"));
  CHECK(ok("ip", "10.0.0.0/32"));
  CHECK(ok("ip", "+1.-0.0.0")); // Integer.parseInt takes signs
  CHECK_FALSE(ok("ip", "10.0.0.0/33"));
  CHECK_FALSE(ok("ip", "10.0.0.0/-1"));
  CHECK_FALSE(ok("ip", "10.0.0.0/"));
  CHECK_FALSE(ok("ip", "10.0.0.0/8/8"));
  CHECK_FALSE(ok("ip", "300.0.0.1"));
  CHECK_FALSE(ok("ip", "1.2.3"));
  CHECK_FALSE(ok("ip", "1.2.3."));
  CHECK_FALSE(ok("ip", "1.2.3.4.5"));
  CHECK_FALSE(ok("ip", "::1")); // no IPv6 in ZooKeeper's ip provider
  CHECK_FALSE(ok("ip", ""));
  // String.split(":") drops trailing empty parts.
  CHECK(ok("digest", "u:pw"));
  CHECK(ok("digest", ":pw"));
  CHECK(ok("digest", "u:pw:"));
  CHECK_FALSE(ok("digest", "u:"));
  CHECK_FALSE(ok("digest", "upw"));
  CHECK_FALSE(ok("digest", "a:b:c"));
  CHECK_FALSE(ok("digest", "::"));
  CHECK_FALSE(ok("digest", ""));
}

TEST_CASE("fixup_acl", "[acl]") {
  std::vector<wire::acl> out;
  wire::acl anyone{31, {"world", "anyone"}};
  CHECK(fixup_acl({}, {}, out) == wire::err::invalid_acl);
  CHECK(fixup_acl({anyone, anyone, {1, {"ip", "1.2.3.4"}}, anyone}, {}, out) ==
        wire::err::ok);
  CHECK(out == std::vector<wire::acl>{anyone, {1, {"ip", "1.2.3.4"}}});
  // "auth" expands to every digest id of the caller; ip ids and super do
  // not count.
  auth_ids who{
      {"ip", "1.2.3.4"}, {"digest", "a:1"}, {"super", ""}, {"digest", "b:2"}};
  CHECK(fixup_acl({{5, {"auth", "whatever"}}}, who, out) == wire::err::ok);
  CHECK(out ==
        std::vector<wire::acl>{{5, {"digest", "a:1"}}, {5, {"digest", "b:2"}}});
  CHECK(fixup_acl({{5, {"auth", ""}}}, {{"ip", "1.2.3.4"}}, out) ==
        wire::err::invalid_acl);
  CHECK(fixup_acl({anyone, {1, {"bogus", "x"}}}, {}, out) ==
        wire::err::invalid_acl);
}

TEST_CASE("acl_permits", "[acl]") {
  std::vector<wire::acl> acl{{wire::perm::read, {"ip", "10.1.0.0/16"}},
                             {wire::perm::write, {"digest", "u:h"}},
                             {wire::perm::admin, {"world", "anyone"}}};
  CHECK(acl_permits({}, wire::perm::all, {}));
  CHECK(acl_permits(acl, wire::perm::admin, {}));
  CHECK_FALSE(acl_permits(acl, wire::perm::read, {}));
  CHECK(acl_permits(acl, wire::perm::read, {{"ip", "10.1.255.255"}}));
  CHECK_FALSE(acl_permits(acl, wire::perm::read, {{"ip", "10.2.0.0"}}));
  CHECK_FALSE(acl_permits(acl, wire::perm::read, {{"digest", "10.1.0.1"}}));
  CHECK(acl_permits(acl, wire::perm::write, {{"digest", "u:h"}}));
  CHECK_FALSE(acl_permits(acl, wire::perm::write, {{"digest", "u:H"}}));
  CHECK_FALSE(acl_permits(acl, wire::perm::remove, {{"digest", "u:h"}}));
  CHECK(acl_permits(acl, wire::perm::remove, superuser()));
  // Any of several bits is enough (getACL asks for READ | ADMIN).
  CHECK(acl_permits(acl, wire::perm::read | wire::perm::admin, {}));
  // Masks: /0 matches every IPv4 address, /32 one, a non-byte boundary.
  CHECK(acl_permits({{1, {"ip", "0.0.0.0/0"}}}, 1, {{"ip", "8.8.8.8"}}));
  CHECK(acl_permits({{1, {"ip", "192.168.1.128/25"}}}, 1,
                    {{"ip", "192.168.1.200"}}));
  CHECK_FALSE(acl_permits({{1, {"ip", "192.168.1.128/25"}}}, 1,
                          {{"ip", "192.168.1.100"}}));
  CHECK_FALSE(acl_permits({{1, {"ip", "1.2.3.4"}}}, 1, {{"ip", "::1"}}));
}
