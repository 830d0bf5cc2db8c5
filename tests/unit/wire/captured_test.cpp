// Real traffic (captured_frames.hpp): every client frame decodes and
// re-encodes to the same bytes, and every server frame is reproduced byte
// for byte by the reply encoders from its decoded fields.
#include <catch2/catch.hpp>

#include "captured_frames.hpp"
#include "messages/wire/protocol.hpp"
#include "messages/wire/reply.hpp"
#include "messages/wire/request.hpp"
#include "wire_test_util.hpp"

using namespace zkd::wire;
using namespace zkd::wire::test;

namespace {

// The client side of MultiResponse.deserialize, into multi_results.
bool read_multi_response(reader& r, std::vector<multi_result>& out) {
  multi_header h;
  if (!read(r, h))
    return false;
  while (!h.done) {
    multi_result x;
    x.type = h.type;
    x.err = h.err;
    bool ok = true;
    switch (h.type) {
    case op::create:
      ok = read(r, x.body.emplace<create_response>());
      break;
    case op::create2:
      ok = read(r, x.body.emplace<create2_response>());
      break;
    case op::remove:
    case op::check:
      break;
    case op::set_data:
      ok = read(r, x.body.emplace<set_data_response>());
      break;
    case op::get_data:
      ok = read(r, x.body.emplace<get_data_response>());
      break;
    case op::get_children:
      ok = read(r, x.body.emplace<get_children_response>());
      break;
    case op::error: {
      auto& e = x.body.emplace<error_response>();
      ok = read(r, e);
      x.err = e.err;
      break;
    }
    default:
      return false;
    }
    if (!ok)
      return false;
    out.push_back(std::move(x));
    if (!read(r, h))
      return false;
  }
  return true;
}

template <class T>
std::vector<char> reencode_reply(reader& r, const reply_header& hdr) {
  T body;
  REQUIRE(read(r, body));
  CHECK(r.remaining() == 0);
  std::vector<char> out;
  append_reply(out, hdr, &body);
  return out;
}

std::vector<char> reencode_reply_body(reader& r, const reply_header& hdr,
                                      int32_t op_code) {
  std::vector<char> out;
  if (hdr.err != 0 && op_code != op::multi && op_code != op::multi_read) {
    append_reply(out, hdr);
    return out;
  }
  switch (op_code) {
  case op::create:
    return reencode_reply<create_response>(r, hdr);
  case op::create2:
  case op::create_container:
  case op::create_ttl:
    return reencode_reply<create2_response>(r, hdr);
  case op::exists:
    return reencode_reply<exists_response>(r, hdr);
  case op::get_data:
    return reencode_reply<get_data_response>(r, hdr);
  case op::set_data:
  case op::check: // FinalRequestProcessor answers check with SetDataResponse
    return reencode_reply<set_data_response>(r, hdr);
  case op::get_acl:
    return reencode_reply<get_acl_response>(r, hdr);
  case op::set_acl:
    return reencode_reply<set_acl_response>(r, hdr);
  case op::get_children:
    return reencode_reply<get_children_response>(r, hdr);
  case op::get_children2:
    return reencode_reply<get_children2_response>(r, hdr);
  case op::sync:
    return reencode_reply<sync_response>(r, hdr);
  case op::add_watch: // ErrorResponse{0}
    return reencode_reply<error_response>(r, hdr);
  case op::whoami:
    return reencode_reply<whoami_response>(r, hdr);
  case op::get_all_children_number:
    return reencode_reply<get_all_children_number_response>(r, hdr);
  case op::get_ephemerals:
    return reencode_reply<get_ephemerals_response>(r, hdr);
  case op::multi:
  case op::multi_read: {
    std::vector<multi_result> results;
    REQUIRE(read_multi_response(r, results));
    CHECK(r.remaining() == 0);
    append_multi_reply(out, hdr, results);
    return out;
  }
  default: // delete, auth, closeSession, removeWatches, ...: header only
    CHECK(r.remaining() == 0);
    append_reply(out, hdr);
    return out;
  }
}

} // namespace

TEST_CASE("captured client and server frames", "[wire][captured]") {
  size_t requests = 0;
  for (auto& cf : captured_frames) {
    auto frame = from_hex(cf.hex);
    auto payload = payload_of(frame);
    INFO("connection " << cf.conn << ", op " << cf.op << ": " << cf.hex);
    REQUIRE(frame.size() >= 4);
    std::vector<char> out;
    switch (cf.kind) {
    case frame_kind::connect: {
      connect_request cr;
      REQUIRE(decode_connect(payload, cr) == decode_status::ok);
      CHECK(cr.has_read_only);
      writer w{out};
      auto f = w.begin_frame();
      write(w, cr);
      w.end_frame(f);
      break;
    }
    case frame_kind::connect_response: {
      connect_response rsp;
      REQUIRE(decode(payload, rsp));
      append_connect_response(out, rsp);
      break;
    }
    case frame_kind::request: {
      request rq;
      REQUIRE(decode_request(payload, rq) == decode_status::ok);
      CHECK(rq.hdr.type == cf.op);
      out = encode_request(rq);
      ++requests;
      break;
    }
    case frame_kind::reply: {
      reader r{payload};
      reply_header hdr;
      REQUIRE(read(r, hdr));
      out = reencode_reply_body(r, hdr, cf.op);
      break;
    }
    case frame_kind::notification: {
      reader r{payload};
      reply_header hdr;
      watcher_event ev;
      REQUIRE(read(r, hdr));
      REQUIRE(read(r, ev));
      CHECK(hdr.xid == xid::notification);
      CHECK(hdr.zxid == -1);
      append_watcher_event(out, ev);
      break;
    }
    }
    CHECK(to_hex(out) == to_hex(frame));
  }
  CHECK(requests > 50);
}
