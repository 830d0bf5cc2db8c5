#include "reply.hpp"

#include <cstdio>
#include <cstdlib>

namespace zkd::wire {

namespace {

// The body a result of `type` must carry; anything else is a bug upstream
// that would otherwise put a frame on the wire no client can parse.
template <class T, class Variant>
const T& expect_body(const Variant& body, int32_t type) {
  if (auto p = std::get_if<T>(&body))
    return *p;
  std::fprintf(stderr,
               "zkd::wire: multi result of type %d carries body alternative "
               "%zu\n",
               static_cast<int>(type), body.index());
  std::abort();
}

void write_multi_result(writer& w, const multi_result& x) {
  bool is_error = x.type == op::error;
  write(w, multi_header{x.type, false, is_error ? x.err : 0});
  switch (x.type) {
  case op::create:
    // OpResult.CreateResult(path): the path alone.
    if (auto p = std::get_if<create2_response>(&x.body))
      w.write_string(p->path);
    else
      write(w, expect_body<create_response>(x.body, x.type));
    break;
  case op::create2:
    write(w, expect_body<create2_response>(x.body, x.type));
    break;
  case op::remove:
  case op::check:
    break;
  case op::set_data:
    write(w, expect_body<set_data_response>(x.body, x.type));
    break;
  case op::get_data:
    write(w, expect_body<get_data_response>(x.body, x.type));
    break;
  case op::get_children:
    write(w, expect_body<get_children_response>(x.body, x.type));
    break;
  case op::error:
    write(w, error_response{x.err});
    break;
  default:
    // MultiResponse.serialize throws "Invalid type" here.
    std::fprintf(stderr, "zkd::wire: multi result of invalid type %d\n",
                 static_cast<int>(x.type));
    std::abort();
  }
}

} // namespace

void append_reply(std::vector<char>& out, const reply_header& hdr) {
  writer w{out};
  auto frame = w.begin_frame();
  write(w, hdr);
  w.end_frame(frame);
}

void append_connect_response(std::vector<char>& out,
                             const connect_response& rsp, bool with_read_only) {
  writer w{out};
  auto frame = w.begin_frame();
  w.write_int(rsp.protocol_version);
  w.write_int(rsp.timeout);
  w.write_long(rsp.session_id);
  w.write_string(rsp.passwd);
  if (with_read_only)
    w.write_bool(rsp.read_only);
  w.end_frame(frame);
}

void append_watcher_event(std::vector<char>& out, int64_t zxid,
                          const watcher_event& ev) {
  append_reply(out, reply_header{xid::notification, zxid, 0}, &ev);
}

void write_multi_response(writer& w, const std::vector<multi_result>& results) {
  for (auto& x : results)
    write_multi_result(w, x);
  write(w, multi_header{-1, true, -1});
}

void append_multi_reply(std::vector<char>& out, const reply_header& hdr,
                        const std::vector<multi_result>& results) {
  writer w{out};
  auto frame = w.begin_frame();
  write(w, hdr);
  write_multi_response(w, results);
  w.end_frame(frame);
}

} // namespace zkd::wire
