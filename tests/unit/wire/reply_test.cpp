// Reply frames, byte for byte as a ZooKeeper 3.8.0 server sent them. Every
// expected frame below was captured from a real server (started from the
// Debian zookeeper package) answering raw requests; the values put into the
// encoder are read off the same capture.
#include <catch2/catch.hpp>

#include "messages/wire/protocol.hpp"
#include "messages/wire/reply.hpp"
#include "wire_test_util.hpp"

using namespace zkd::wire;
using namespace zkd::wire::test;

namespace {

// Strips spaces so the expected frames can be laid out field by field.
std::string hex(std::string_view spaced) {
  return to_hex(from_hex(spaced));
}

stat stat_of_a() { // /a created with "x" at zxid 3
  stat st;
  st.czxid = 3;
  st.mzxid = 3;
  st.ctime = 0x1a20081e0c5;
  st.mtime = 0x1a20081e0c5;
  st.data_length = 1;
  st.pzxid = 3;
  return st;
}

const char* stat_of_a_hex = "0000000000000003 0000000000000003"
                            "000001a20081e0c5 000001a20081e0c5"
                            "00000000 00000000 00000000 0000000000000000"
                            "00000001 00000000 0000000000000003";

stat stat_at_5(int32_t version, int32_t data_length) {
  stat st;
  st.czxid = 5;
  st.mzxid = 5;
  st.ctime = 0x1a20081e0ed;
  st.mtime = 0x1a20081e0ed;
  st.version = version;
  st.data_length = data_length;
  st.pzxid = 5;
  return st;
}

} // namespace

TEST_CASE("ConnectResponse", "[wire][reply]") {
  connect_response rsp;
  rsp.protocol_version = 0;
  rsp.timeout = 30000;
  rsp.session_id = 0x01000006ad510000;
  auto pw = from_hex("959dc317fe27cf25fb064b0177c33da4");
  rsp.passwd.assign(pw.begin(), pw.end());
  std::vector<char> out;
  append_connect_response(out, rsp);
  CHECK(to_hex(out) == hex("00000025 00000000 00007530 01000006ad510000"
                           "00000010 959dc317fe27cf25fb064b0177c33da4 00"));
  SECTION("old clients get no readOnly byte") {
    rsp.session_id = 0x01000006ad510001;
    pw = from_hex("a8bebd179e73ae6af049b22c4b4c5271");
    rsp.passwd.assign(pw.begin(), pw.end());
    out.clear();
    append_connect_response(out, rsp, false);
    CHECK(to_hex(out) == hex("00000024 00000000 00007530 01000006ad510001"
                             "00000010 a8bebd179e73ae6af049b22c4b4c5271"));
  }
}

TEST_CASE("single replies", "[wire][reply]") {
  std::vector<char> out;
  SECTION("create: CreateResponse") {
    create_response cr{"/a"};
    append_reply(out, reply_header{1, 3, 0}, &cr);
    CHECK(to_hex(out) ==
          hex("00000016 00000001 0000000000000003 00000000 00000002 2f61"));
  }
  SECTION("exists: ExistsResponse") {
    exists_response er{stat_of_a()};
    append_reply(out, reply_header{2, 3, 0}, &er);
    CHECK(to_hex(out) ==
          hex(std::string("00000054 00000002 0000000000000003 00000000") +
              stat_of_a_hex));
  }
  SECTION("errors are a bare header") {
    append_reply(out, reply_header{20, 10, -101});
    CHECK(to_hex(out) == hex("00000010 00000014 000000000000000a ffffff9b"));
    out.clear();
    append_reply(out, reply_header{4, 3, -5}, nullptr);
    CHECK(to_hex(out) == hex("00000010 00000004 0000000000000003 fffffffb"));
    out.clear();
    append_reply_header(out, reply_header{26, -1, -6}); // unknown op
    CHECK(to_hex(out) == hex("00000010 0000001a ffffffffffffffff fffffffa"));
  }
  SECTION("ping") {
    append_reply(out, reply_header{xid::ping, 9, 0});
    CHECK(to_hex(out) == hex("00000010 fffffffe 0000000000000009 00000000"));
  }
  SECTION("addWatch answers with ErrorResponse{0}") {
    error_response ok{0};
    append_reply(out, reply_header{25, 13, 0}, &ok);
    CHECK(to_hex(out) ==
          hex("00000014 00000019 000000000000000d 00000000 00000000"));
  }
  SECTION("whoAmI") {
    whoami_response w{{client_info{"ip", "127.0.0.1"}}};
    append_reply(out, reply_header{16, 9, 0}, &w);
    CHECK(to_hex(out) ==
          hex("00000027 00000010 0000000000000009 00000000"
              "00000001 00000002 6970 00000009 3132372e302e302e31"));
  }
  SECTION("getACL") {
    stat st = stat_of_a();
    st.mzxid = 9;
    st.mtime = 0x1a20081e0ff;
    st.version = 1;
    get_acl_response g{{acl{31, id{"world", "anyone"}}}, st};
    append_reply(out, reply_header{24, 13, 0}, &g);
    CHECK(to_hex(out) ==
          hex("0000006f 00000018 000000000000000d 00000000"
              "00000001 0000001f 00000005 776f726c64 00000006 616e796f6e65"
              "0000000000000003 0000000000000009"
              "000001a20081e0c5 000001a20081e0ff"
              "00000001 00000000 00000000 0000000000000000"
              "00000001 00000000 0000000000000003"));
  }
  SECTION("several frames append to one buffer") {
    append_reply(out, reply_header{1, 1, 0});
    append_reply(out, reply_header{2, 1, 0});
    CHECK(out.size() == 40);
  }
}

TEST_CASE("watch notifications", "[wire][reply]") {
  std::vector<char> out;
  // NodeDataChanged on /a: ZooKeeper 3.8 sends zxid -1.
  append_watcher_event(out, watcher_event{3, 3, "/a"});
  auto expected = hex("0000001e ffffffff ffffffffffffffff 00000000"
                      "00000003 00000003 00000002 2f61");
  CHECK(to_hex(out) == expected);
  out.clear();
  append_watcher_event(out, -1, watcher_event{3, 3, "/a"});
  CHECK(to_hex(out) == expected);
}

TEST_CASE("multi replies", "[wire][reply]") {
  std::vector<char> out;
  SECTION("a successful multi") {
    // create /m, create2-header /m2 (answered as create), create /mc with
    // container flags (create2), check, setData, delete, createTTL (create2).
    std::vector<multi_result> results = {
        multi_create_result("/m"),
        multi_create_result("/m2"),
        multi_create2_result("/mc", stat_at_5(0, 0)),
        multi_empty_result(op::check),
        multi_set_data_result(stat_at_5(1, 2)),
        multi_empty_result(op::remove),
        multi_create2_result("/mt", stat_at_5(0, 0)),
    };
    append_multi_reply(out, reply_header{8, 5, 0}, results);
    auto st0 = "0000000000000005 0000000000000005 000001a20081e0ed"
               "000001a20081e0ed 00000000 00000000 00000000 0000000000000000"
               "00000000 00000000 0000000000000005";
    auto st1 = "0000000000000005 0000000000000005 000001a20081e0ed"
               "000001a20081e0ed 00000001 00000000 00000000 0000000000000000"
               "00000002 00000000 0000000000000005";
    CHECK(to_hex(out) ==
          hex(std::string("0000013f 00000008 0000000000000005 00000000") +
              "00000001 00 00000000 00000002 2f6d" +
              "00000001 00 00000000 00000003 2f6d32" +
              "0000000f 00 00000000 00000003 2f6d63" + st0 +
              "0000000d 00 00000000" + "00000005 00 00000000" + st1 +
              "00000002 00 00000000" + "0000000f 00 00000000 00000003 2f6d74" +
              st0 + "ffffffff 01 ffffffff"));
  }
  SECTION("a failed multi: err 0 in the header, ErrorResults per op") {
    append_multi_reply(out, reply_header{7, 4, 0},
                       {multi_error_result(-110), multi_error_result(-2)});
    CHECK(to_hex(out) == hex("00000033 00000007 0000000000000004 00000000"
                             "ffffffff 00 ffffff92 ffffff92"
                             "ffffffff 00 fffffffe fffffffe"
                             "ffffffff 01 ffffffff"));
  }
  SECTION("an error result takes its code from err, not the body") {
    multi_result r{op::error, -101, std::monostate{}};
    append_multi_reply(out, reply_header{1, 1, 0}, {r});
    CHECK(to_hex(out) ==
          hex("00000026 00000001 0000000000000001 00000000"
              "ffffffff 00 ffffff9b ffffff9b ffffffff 01 ffffffff"));
  }
  SECTION("an empty multi") {
    append_multi_reply(out, reply_header{9, 6, 0}, {});
    CHECK(to_hex(out) == hex("00000019 00000009 0000000000000006 00000000"
                             "ffffffff 01 ffffffff"));
  }
  SECTION("multiRead: getData, a failed getChildren, getChildren") {
    std::vector<multi_result> results = {
        {op::get_data, 0, get_data_response{opt_bytes{"x"}, stat_of_a()}},
        multi_error_result(-101),
        {op::get_children, 0,
         get_children_response{{"a", "zookeeper", "m", "mc", "mt"}}},
    };
    append_multi_reply(out, reply_header{12, 8, 0}, results);
    CHECK(to_hex(out) ==
          hex(std::string("000000a8 0000000c 0000000000000008 00000000") +
              "00000004 00 00000000 00000001 78" + stat_of_a_hex +
              "ffffffff 00 ffffff9b ffffff9b" +
              "00000008 00 00000000 00000005 00000001 61" +
              "00000009 7a6f6f6b6565706572 00000001 6d 00000002 6d63" +
              "00000002 6d74" + "ffffffff 01 ffffffff"));
  }
  SECTION("multiRead of write ops: ZMARSHALLINGERROR plus an empty result") {
    append_multi_reply(out, reply_header{13, 8, -5}, {});
    CHECK(to_hex(out) == hex("00000019 0000000d 0000000000000008 fffffffb"
                             "ffffffff 01 ffffffff"));
  }
  SECTION("a create result may carry a create2_response; its stat is unused") {
    multi_result r{op::create, 0, create2_response{"/x", stat_of_a()}};
    append_multi_reply(out, reply_header{1, 1, 0}, {r});
    CHECK(to_hex(out) ==
          hex("00000028 00000001 0000000000000001 00000000"
              "00000001 00 00000000 00000002 2f78 ffffffff 01 ffffffff"));
  }
}
