// decode_request / decode_connect: op code to record mapping, ZooKeeper's
// treatment of multi ops, trailing bytes, and rejection of bad frames.
#include <catch2/catch.hpp>

#include "messages/wire/protocol.hpp"
#include "messages/wire/request.hpp"
#include "wire_test_util.hpp"

using namespace zkd::wire;
using namespace zkd::wire::test;

namespace {

template <class T>
void check_op(int32_t type, const T& body) {
  INFO("op " << type << " (" << op_name(type) << ")");
  auto frame = request_frame(42, type, body);
  request rq;
  REQUIRE(decode_request(payload_of(frame), rq) == decode_status::ok);
  CHECK(rq.hdr.xid == 42);
  CHECK(rq.hdr.type == type);
  REQUIRE(std::holds_alternative<T>(rq.body));
  CHECK(to_hex(encode_request(rq)) == to_hex(frame));
  // ZooKeeper reads records with byteBuffer2Record, which ignores bytes
  // after the record: so does the decoder.
  auto padded = frame;
  padded.insert(padded.end(), {'j', 'u', 'n', 'k', '\xff'});
  request rq2;
  REQUIRE(decode_request(payload_of(padded), rq2) == decode_status::ok);
  CHECK(to_hex(encode_request(rq2)) == to_hex(frame));
  // A body cut short is malformed, with the header still available.
  auto cut = payload_of(frame);
  cut.remove_suffix(1);
  request rq3;
  CHECK(decode_request(cut, rq3) == decode_status::malformed);
  CHECK(rq3.hdr.xid == 42);
  CHECK(rq3.hdr.type == type);
}

void check_no_body(int32_t type) {
  INFO("op " << type << " (" << op_name(type) << ")");
  request rq;
  rq.body = sync_request{"/stale"};
  auto frame = request_frame(-2, type);
  REQUIRE(decode_request(payload_of(frame), rq) == decode_status::ok);
  CHECK(rq.hdr.type == type);
  CHECK(std::holds_alternative<std::monostate>(rq.body));
  auto padded = frame;
  padded.push_back('x');
  CHECK(decode_request(payload_of(padded), rq) == decode_status::ok);
}

std::vector<acl> open_acl() {
  return {acl{perm::all, id{"world", "anyone"}}};
}

template <class T>
std::vector<char> body(const T& x) {
  return encode(x);
}

} // namespace

TEST_CASE("each op code decodes to ZooKeeper's record", "[wire][request]") {
  create_request cr{"/n", opt_bytes{"v"}, open_acl(), 0};
  check_op(op::create, cr);
  check_op(op::create2, cr);
  cr.flags = static_cast<int32_t>(create_mode::container);
  check_op(op::create_container, cr);
  check_op(op::create_ttl,
           create_ttl_request{"/t", std::nullopt, open_acl(), 5, 60000});
  check_op(op::remove, delete_request{"/n", 3});
  check_op(op::exists, exists_request{"/n", true});
  check_op(op::get_data, get_data_request{"/n", true});
  check_op(op::set_data, set_data_request{"/n", opt_bytes{""}, -1});
  check_op(op::get_acl, get_acl_request{"/n"});
  check_op(op::set_acl, set_acl_request{"/n", open_acl(), 2});
  check_op(op::get_children, get_children_request{"/", false});
  check_op(op::sync, sync_request{"/n"});
  check_op(op::get_children2, get_children2_request{"/", true});
  check_op(op::check, check_version_request{"/n", 1});
  check_op(op::reconfig,
           reconfig_request{"server.4=h:1:2:participant;3", "", "", -1});
  check_op(op::check_watches, check_watches_request{"/n", 3});
  check_op(op::remove_watches, remove_watches_request{"/n", 1});
  check_op(op::add_watch, add_watch_request{"/n", 1});
  check_op(op::get_ephemerals, get_ephemerals_request{"/"});
  check_op(op::get_all_children_number, get_all_children_number_request{"/"});
  check_op(op::set_watches, set_watches{9, {"/a"}, {"/b"}, {"/c"}});
  check_op(op::set_watches2,
           set_watches2{9, {"/a"}, {"/b"}, {"/c"}, {"/d"}, {"/e"}});
  check_op(op::auth, auth_packet{0, "digest", "u:p"});
}

TEST_CASE("ops without a body decode to monostate", "[wire][request]") {
  check_no_body(op::ping);
  check_no_body(op::close_session);
  check_no_body(op::whoami);
  check_no_body(op::delete_container);
  check_no_body(op::create_session);
}

TEST_CASE("sasl carries a GetSASLRequest that is checked and dropped",
          "[wire][request]") {
  request rq;
  auto ok = request_frame(5, op::sasl, create_response{"token"});
  CHECK(decode_request(payload_of(ok), rq) == decode_status::ok);
  CHECK(std::holds_alternative<std::monostate>(rq.body));
  auto null_token = from_hex("00000005 00000066 ffffffff");
  CHECK(decode_request(view(null_token), rq) == decode_status::ok);
  auto truncated = from_hex("00000005 00000066 00000004 6162");
  CHECK(decode_request(view(truncated), rq) == decode_status::malformed);
  auto missing = from_hex("00000005 00000066");
  CHECK(decode_request(view(missing), rq) == decode_status::malformed);
}

TEST_CASE("unknown op codes", "[wire][request]") {
  for (int32_t type : {0, 10, 23, 50, 99, 108, -1, -2, -12, 1000,
                       std::numeric_limits<int32_t>::min()}) {
    INFO("op " << type);
    auto frame = request_frame(77, type, sync_request{"/x"});
    request rq;
    CHECK(decode_request(payload_of(frame), rq) == decode_status::unknown_op);
    CHECK(rq.hdr.xid == 77);
    CHECK(rq.hdr.type == type);
    if (type != op::notification && type != op::error)
      CHECK(op_name(type) == "unknown");
  }
}

TEST_CASE("frames shorter than a RequestHeader are malformed",
          "[wire][request]") {
  auto frame = request_frame(1, op::ping);
  for (size_t n = 0; n < 8; ++n) {
    request rq;
    CHECK(decode_request(payload_of(frame).substr(0, n), rq) ==
          decode_status::malformed);
  }
}

TEST_CASE("multi ops are typed and shaped as ZooKeeper's Op",
          "[wire][request]") {
  auto acls = open_acl();
  auto decode_multi = [](const std::vector<char>& frame, request& rq) {
    return decode_request(payload_of(frame), rq);
  };
  request rq;

  SECTION("an empty multi") {
    auto frame = multi_frame(1, op::multi, {});
    REQUIRE(decode_multi(frame, rq) == decode_status::ok);
    CHECK(std::get<multi_request>(rq.body).ops.empty());
    frame = multi_frame(1, op::multi_read, {});
    REQUIRE(decode_multi(frame, rq) == decode_status::ok);
    CHECK(std::get<multi_request>(rq.body).ops.empty());
  }

  SECTION("every write op, creates typed by their flags") {
    auto frame = multi_frame(
        1, op::multi,
        {{op::create, body(create_request{"/a", opt_bytes{"1"}, acls, 0})},
         {op::create2, body(create_request{"/b", std::nullopt, acls, 1})},
         {op::create, body(create_request{"/c", opt_bytes{""}, acls, 4})},
         {op::create_container, body(create_request{"/d", {}, acls, 2})},
         {op::create_ttl, body(create_ttl_request{"/e", {}, acls, 5, 100})},
         {op::create_ttl, body(create_ttl_request{"/f", {}, acls, 0, 100})},
         {op::create, body(create_request{"/g", {}, acls, 99})},
         {op::remove, body(delete_request{"/a", 3})},
         {op::set_data, body(set_data_request{"/b", opt_bytes{"x"}, 2})},
         {op::check, body(check_version_request{"/c", 1})}});
    REQUIRE(decode_multi(frame, rq) == decode_status::ok);
    auto& ops = std::get<multi_request>(rq.body).ops;
    REQUIRE(ops.size() == 10);
    CHECK(ops[0].type == op::create);
    CHECK(std::get<create_request>(ops[0].body).path == "/a");
    CHECK(ops[1].type == op::create); // create2 header: still a plain create
    CHECK(ops[2].type == op::create_container); // flags 4
    CHECK(ops[3].type == op::create); // createContainer header, flags 2
    CHECK(ops[4].type == op::create_ttl);
    CHECK(std::get<create_ttl_request>(ops[4].body).ttl == 100);
    CHECK(ops[5].type == op::create); // createTTL header, non-TTL flags
    REQUIRE(std::holds_alternative<create_request>(ops[5].body));
    CHECK(std::get<create_request>(ops[5].body).path == "/f");
    CHECK(ops[6].type == op::create); // invalid flags: rejected later
    CHECK(std::get<create_request>(ops[6].body).flags == 99);
    CHECK(ops[7].type == op::remove);
    CHECK(std::get<delete_request>(ops[7].body).version == 3);
    CHECK(ops[8].type == op::set_data);
    CHECK(std::get<set_data_request>(ops[8].body).data == opt_bytes{"x"});
    CHECK(ops[9].type == op::check);
    CHECK(std::get<check_version_request>(ops[9].body).version == 1);
  }

  SECTION("multiRead drops the watch flags") {
    auto frame = multi_frame(
        2, op::multi_read,
        {{op::get_data, body(get_data_request{"/a", true})},
         {op::get_children, body(get_children_request{"/", true})}});
    REQUIRE(decode_multi(frame, rq) == decode_status::ok);
    auto& ops = std::get<multi_request>(rq.body).ops;
    REQUIRE(ops.size() == 2);
    CHECK(ops[0].type == op::get_data);
    CHECK(std::get<get_data_request>(ops[0].body).path == "/a");
    CHECK_FALSE(std::get<get_data_request>(ops[0].body).watch);
    CHECK(ops[1].type == op::get_children);
    CHECK_FALSE(std::get<get_children_request>(ops[1].body).watch);
  }

  SECTION("rejected like ZooKeeper rejects them") {
    auto cr = body(create_request{"/a", {}, acls, 0});
    auto gd = body(get_data_request{"/a", false});
    std::vector<std::pair<int32_t, std::vector<raw_op>>> bad = {
        // reads in a multi, writes in a multiRead, mixed kinds
        {op::multi, {{op::get_data, gd}}},
        {op::multi_read, {{op::create, cr}}},
        {op::multi, {{op::create, cr}, {op::get_data, gd}}},
        {op::multi_read, {{op::get_data, gd}, {op::create, cr}}},
        // op codes a MultiOperationRecord does not take
        {op::multi, {{op::delete_container, body(delete_request{"/a", -1})}}},
        {op::multi, {{op::set_acl, body(set_acl_request{"/a", acls, -1})}}},
        {op::multi_read, {{op::exists, body(exists_request{"/a", false})}}},
        {op::multi_read, {{op::get_children2, gd}}},
        {op::multi, {{op::multi, {}}}},
        {op::multi, {{0, {}}}},
        // TTL flags with a CreateRequest (ClassCastException in ZooKeeper)
        {op::multi, {{op::create, body(create_request{"/t", {}, acls, 5})}}},
        {op::multi, {{op::create2, body(create_request{"/t", {}, acls, 6})}}},
    };
    for (auto& [type, ops] : bad) {
      auto frame = multi_frame(3, type, ops);
      INFO(to_hex(frame));
      CHECK(decode_multi(frame, rq) == decode_status::malformed);
      CHECK(rq.hdr.xid == 3);
    }
  }

  SECTION("a multi without its closing header is malformed") {
    auto frame = multi_frame(
        4, op::multi, {{op::check, body(check_version_request{"/", 0})}});
    frame.resize(frame.size() - 9);
    CHECK(decode_request(payload_of(frame), rq) == decode_status::malformed);
    auto empty = from_hex("00000004 0000000e");
    CHECK(decode_request(view(empty), rq) == decode_status::malformed);
  }

  SECTION("only done ends a multi; the closing header's type is ignored") {
    auto frame = from_hex("00000004 0000000e"
                          "0000000d 00 ffffffff 000000012f 00000000"
                          "0000000d 07 00000000"
                          "trailing"); // not hex: ignored by from_hex
    REQUIRE(decode_request(view(frame), rq) == decode_status::ok);
    CHECK(std::get<multi_request>(rq.body).ops.size() == 1);
  }
}

TEST_CASE("a reused request decodes like a fresh one", "[wire][request]") {
  auto acls = open_acl();
  std::vector<std::vector<char>> frames = {
      request_frame(
          1, op::create,
          create_request{"/a/long/path/beyond/sso", opt_bytes{"d"}, acls, 0}),
      request_frame(2, op::create, create_request{"/b", std::nullopt, {}, 1}),
      request_frame(3, op::set_watches,
                    set_watches{1, {"/x", "/y", "/z"}, {}, {"/w"}}),
      request_frame(4, op::set_watches, set_watches{2, {}, {"/q"}, {}}),
      multi_frame(
          5, op::multi,
          {{op::create, encode(create_request{"/m1", {}, acls, 0})},
           {op::create_ttl, encode(create_ttl_request{"/m2", {}, acls, 5, 9})},
           {op::remove, encode(delete_request{"/m3", 1})}}),
      multi_frame(6, op::multi,
                  {{op::create_ttl,
                    encode(create_ttl_request{"/m4", {}, acls, 0, 9})}}),
      request_frame(7, op::ping),
      request_frame(8, op::create,
                    create_request{"/c", opt_bytes{""}, acls, 2}),
  };
  request reused;
  for (auto& frame : frames) {
    request fresh;
    REQUIRE(decode_request(payload_of(frame), fresh) == decode_status::ok);
    REQUIRE(decode_request(payload_of(frame), reused) == decode_status::ok);
    CHECK(to_hex(encode_request(reused)) == to_hex(encode_request(fresh)));
  }
}

TEST_CASE("decode_connect", "[wire][request]") {
  connect_request in{
      0, 0x1234, 30000, 0x0100000000000001, std::string(16, '\7'), true, true};
  auto bytes = encode(in);
  connect_request out;
  REQUIRE(decode_connect(view(bytes), out) == decode_status::ok);
  CHECK(out.protocol_version == 0);
  CHECK(out.last_zxid_seen == 0x1234);
  CHECK(out.timeout == 30000);
  CHECK(out.session_id == 0x0100000000000001);
  CHECK(out.passwd == std::string(16, '\7'));
  CHECK(out.has_read_only);
  CHECK(out.read_only);

  SECTION("old clients omit readOnly") {
    bytes.pop_back();
    REQUIRE(decode_connect(view(bytes), out) == decode_status::ok);
    CHECK_FALSE(out.has_read_only);
    CHECK_FALSE(out.read_only);
  }
  SECTION("extra bytes are ignored") {
    bytes.push_back('\0');
    bytes.push_back('\1');
    REQUIRE(decode_connect(view(bytes), out) == decode_status::ok);
    CHECK(out.read_only);
  }
  SECTION("a null password reads as empty") {
    auto b = from_hex("00000000 0000000000000000 00007530 0000000000000000"
                      "ffffffff 00");
    REQUIRE(decode_connect(view(b), out) == decode_status::ok);
    CHECK(out.passwd.empty());
  }
  SECTION("truncations before readOnly are malformed") {
    for (size_t n = 0; n + 1 < bytes.size(); ++n) {
      INFO(n);
      CHECK(decode_connect(view(bytes).substr(0, n), out) ==
            decode_status::malformed);
    }
  }
}

TEST_CASE("protocol helpers", "[wire][protocol]") {
  CHECK(is_write(op::create));
  CHECK(is_write(op::create2));
  CHECK(is_write(op::create_ttl));
  CHECK(is_write(op::create_container));
  CHECK(is_write(op::remove));
  CHECK(is_write(op::delete_container));
  CHECK(is_write(op::set_data));
  CHECK(is_write(op::set_acl));
  CHECK(is_write(op::check));
  CHECK(is_write(op::multi));
  CHECK(is_write(op::reconfig));
  CHECK(is_write(op::create_session));
  CHECK(is_write(op::close_session));
  for (int32_t r :
       {op::exists, op::get_data, op::get_acl, op::get_children,
        op::get_children2, op::sync, op::ping, op::multi_read,
        op::check_watches, op::remove_watches, op::add_watch, op::auth,
        op::set_watches, op::set_watches2, op::get_ephemerals,
        op::get_all_children_number, op::whoami, op::sasl})
    CHECK_FALSE(is_write(r));
  CHECK(op_name(op::remove) == "delete");
  CHECK(op_name(op::create_ttl) == "createTtl");
  CHECK(op_name(op::get_children2) == "getChildren2");
  CHECK(op_name(op::close_session) == "closeSession");
  CHECK(err_name(err::no_node) == "NoNode");
  CHECK(err_name(err::not_empty) == "Directory not empty");
  CHECK(err_name(static_cast<err>(-9999)) == "Unknown error");
}

TEST_CASE("a null path in create or exists is undecodable, an empty one is "
          "not") {
  using namespace zkd::wire;
  auto frame = [](int32_t type, int32_t path_len) {
    std::vector<char> out;
    writer w{out};
    w.write_int(7);
    w.write_int(type);
    w.write_int(path_len); // -1: null string, 0: ""
    if (type == op::exists) {
      w.write_bool(false);
    } else {
      w.write_int(-1); // data
      w.write_int(0);  // acl
      w.write_int(0);  // flags
    }
    return std::string(out.begin(), out.end());
  };
  request rq;
  CHECK(decode_request(frame(op::create, -1), rq) == decode_status::malformed);
  CHECK(rq.hdr.xid == 7);
  CHECK(decode_request(frame(op::exists, -1), rq) == decode_status::malformed);
  CHECK(decode_request(frame(op::create, 0), rq) == decode_status::ok);
  CHECK(decode_request(frame(op::exists, 0), rq) == decode_status::ok);
}
