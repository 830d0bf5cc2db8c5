// Every record of records.hpp: round trip, encoded size (checked by hand
// against the field types in zookeeper.jute), rejection of every truncation,
// and reuse of a decoded-into object.
#include <catch2/catch.hpp>

#include "messages/wire/jute.hpp"
#include "messages/wire/protocol.hpp"
#include "wire_test_util.hpp"

using namespace zkd::wire;
using namespace zkd::wire::test;

namespace {

enum class tail { required, optional_last_byte };

template <class T>
void check_record(const char* name, const T& sample, size_t expected_size,
                  tail t = tail::required) {
  INFO("record " << name);
  auto bytes = encode(sample);
  CHECK(bytes.size() == expected_size);
  // Round trip: decoding consumes exactly the encoding and re-encodes to it.
  T decoded;
  reader r{view(bytes)};
  REQUIRE(read(r, decoded));
  CHECK(r.remaining() == 0);
  CHECK(to_hex(encode(decoded)) == to_hex(bytes));
  // Every strict prefix is malformed (except a connect record cut right
  // before its optional readOnly byte).
  for (size_t n = 0; n < bytes.size(); ++n) {
    if (t == tail::optional_last_byte && n == bytes.size() - 1)
      continue;
    T x;
    reader rn{bytes.data(), n};
    INFO("prefix of " << n << " bytes");
    CHECK_FALSE(read(rn, x));
    CHECK_FALSE(rn.ok());
  }
  // A reused object is fully overwritten: decode the default record into the
  // object that holds the sample.
  auto empty = encode(T{});
  reader r2{view(empty)};
  REQUIRE(read(r2, decoded));
  CHECK(to_hex(encode(decoded)) == to_hex(empty));
}

} // namespace

TEST_CASE("every record round-trips with its jute size", "[wire][records]") {
  auto st = sample_stat();
  auto acls = sample_acls(); // 4 + 23 + 25 = 52 bytes
  std::string passwd(16, '\x5a');
  passwd[3] = '\0';

  check_record("Id", id{"world", "anyone"}, 19);
  check_record("ACL", acl{31, id{"world", "anyone"}}, 23);
  check_record("Stat", st, 68);
  check_record("ConnectRequest",
               connect_request{0, 0x123, 30000, 0x456, passwd, true, true}, 45,
               tail::optional_last_byte);
  check_record("ConnectResponse",
               connect_response{0, 30000, 0x0100000000000042, passwd, true}, 37,
               tail::optional_last_byte);
  check_record("SetWatches", set_watches{0x77, {"/a", "/b"}, {}, {"/ccc"}}, 40);
  check_record(
      "SetWatches2",
      set_watches2{0x77, {"/a", "/b"}, {}, {"/ccc"}, {"/p"}, {"/r", "/rr"}},
      67);
  check_record("RequestHeader", request_header{7, op::create}, 8);
  check_record("MultiHeader", multi_header{op::create, false, -1}, 9);
  check_record("AuthPacket", auth_packet{0, "digest", "user:pw"}, 25);
  check_record("ReplyHeader", reply_header{7, 0x100000001, -101}, 16);
  check_record("GetDataRequest", get_data_request{"/path", true}, 10);
  check_record("SetDataRequest", set_data_request{"/p", opt_bytes{"data"}, 7},
               18);
  check_record("ReconfigRequest",
               reconfig_request{"server.1=a:1:2", "2", "", 5}, 35);
  check_record("SetDataResponse", set_data_response{st}, 68);
  check_record("CreateRequest", create_request{"/n", opt_bytes{"v"}, acls, 3},
               67);
  check_record("CreateTTLRequest",
               create_ttl_request{"/n", opt_bytes{"v"}, acls, 5, 1000}, 75);
  check_record("DeleteRequest", delete_request{"/d", 3}, 10);
  check_record("GetChildrenRequest", get_children_request{"/c", true}, 7);
  check_record("GetAllChildrenNumberRequest",
               get_all_children_number_request{"/x"}, 6);
  check_record("GetChildren2Request", get_children2_request{"/c", true}, 7);
  check_record("CheckVersionRequest", check_version_request{"/x", 2}, 10);
  check_record("SyncRequest", sync_request{"/s"}, 6);
  check_record("SyncResponse", sync_response{"/s"}, 6);
  check_record("GetACLRequest", get_acl_request{"/a"}, 6);
  check_record("SetACLRequest", set_acl_request{"/a", acls, 4}, 62);
  check_record("SetACLResponse", set_acl_response{st}, 68);
  check_record("AddWatchRequest", add_watch_request{"/w", 1}, 10);
  check_record("WatcherEvent", watcher_event{3, 3, "/a"}, 14);
  check_record("ErrorResponse", error_response{-101}, 4);
  check_record("CreateResponse", create_response{"/n0000000001"}, 16);
  check_record("Create2Response", create2_response{"/n", st}, 74);
  check_record("ExistsRequest", exists_request{"/e", true}, 7);
  check_record("ExistsResponse", exists_response{st}, 68);
  check_record("GetDataResponse", get_data_response{opt_bytes{"data"}, st}, 76);
  check_record("GetChildrenResponse", get_children_response{{"a", "bb"}}, 15);
  check_record("GetAllChildrenNumberResponse",
               get_all_children_number_response{42}, 4);
  check_record("GetChildren2Response", get_children2_response{{"a", "bb"}, st},
               83);
  check_record("GetACLResponse", get_acl_response{acls, st}, 120);
  check_record("CheckWatchesRequest", check_watches_request{"/w", 2}, 10);
  check_record("RemoveWatchesRequest", remove_watches_request{"/w", 3}, 10);
  check_record("GetEphemeralsRequest", get_ephemerals_request{"/e"}, 6);
  check_record("GetEphemeralsResponse", get_ephemerals_response{{"/e1", "/e2"}},
               18);
  check_record("ClientInfo", client_info{"ip", "127.0.0.1"}, 19);
  check_record("WhoAmIResponse",
               whoami_response{{client_info{"ip", "127.0.0.1"},
                                client_info{"digest", "u"}}},
               38);
}

TEST_CASE("decoded fields equal the encoded ones", "[wire][records]") {
  auto st = sample_stat();
  SECTION("Stat") {
    stat x;
    REQUIRE(decode(view(encode(st)), x));
    CHECK(x == st);
    auto y = st;
    y.pzxid++;
    CHECK_FALSE(x == y);
  }
  SECTION("CreateRequest") {
    create_request in{"/n", opt_bytes{std::string("\0\1", 2)}, sample_acls(),
                      3};
    create_request out;
    REQUIRE(decode(view(encode(in)), out));
    CHECK(out.path == "/n");
    CHECK(out.data == in.data);
    CHECK(out.acl == in.acl);
    CHECK(out.flags == 3);
  }
  SECTION("null and empty data stay apart") {
    set_data_request in{"/p", std::nullopt, -1};
    set_data_request out{"x", opt_bytes{"old"}, 0};
    REQUIRE(decode(view(encode(in)), out));
    CHECK_FALSE(out.data.has_value());
    in.data = "";
    REQUIRE(decode(view(encode(in)), out));
    REQUIRE(out.data.has_value());
    CHECK(out.data->empty());
  }
  SECTION("null strings and vectors decode as empty") {
    // GetChildrenResponse with a null vector, WatcherEvent with null path.
    auto bytes = from_hex("ffffffff");
    get_children_response gc{{"stale"}};
    REQUIRE(decode(view(bytes), gc));
    CHECK(gc.children.empty());
    auto ev = from_hex("00000001 00000003 ffffffff");
    watcher_event we{0, 0, "stale"};
    REQUIRE(decode(view(ev), we));
    CHECK(we.path.empty());
  }
  SECTION("ConnectRequest without readOnly byte") {
    connect_request in{0, 5, 4000, 0, std::string(16, '\0'), true, false};
    auto bytes = encode(in);
    CHECK(bytes.size() == 44);
    connect_request out;
    out.has_read_only = true;
    out.read_only = true;
    REQUIRE(decode(view(bytes), out));
    CHECK_FALSE(out.has_read_only);
    CHECK_FALSE(out.read_only);
    CHECK(out.timeout == 4000);
    CHECK(out.last_zxid_seen == 5);
  }
}

TEST_CASE("hand-written encodings from zookeeper.jute", "[wire][records]") {
  SECTION("ReplyHeader{xid, zxid, err} + Stat as an exists reply") {
    // Captured from ZooKeeper 3.8.0 (exists /a after creating it with "x").
    stat st;
    st.czxid = 3;
    st.mzxid = 3;
    st.ctime = 0x1a20081e0c5;
    st.mtime = 0x1a20081e0c5;
    st.data_length = 1;
    st.pzxid = 3;
    std::vector<char> out;
    writer w{out};
    write(w, reply_header{2, 3, 0});
    write(w, st);
    CHECK(to_hex(out) == "00000002"
                         "0000000000000003"
                         "00000000"
                         "0000000000000003"
                         "0000000000000003"
                         "000001a20081e0c5"
                         "000001a20081e0c5"
                         "00000000"
                         "00000000"
                         "00000000"
                         "0000000000000000"
                         "00000001"
                         "00000000"
                         "0000000000000003");
  }
  SECTION("MultiHeader: bool done is one byte") {
    CHECK(to_hex(encode(multi_header{-1, true, -1})) == "ffffffff01ffffffff");
  }
  SECTION("CreateRequest with OPEN_ACL_UNSAFE") {
    create_request cr{
        "/a", opt_bytes{"x"}, {acl{31, id{"world", "anyone"}}}, 0};
    CHECK(to_hex(encode(cr)) == "000000022f61"
                                "0000000178"
                                "00000001"
                                "0000001f"
                                "00000005776f726c64"
                                "00000006616e796f6e65"
                                "00000000");
  }
}
