// Encoding of whole reply frames (4-byte length, ReplyHeader, optional body
// record) appended to an output buffer, as ServerCnxn.sendResponse and
// MultiResponse.serialize of ZooKeeper 3.8 lay them out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "jute.hpp"
#include "protocol.hpp"
#include "records.hpp"

namespace zkd::wire {

// One frame: length, header, then `*body` unless body is null. ZooKeeper
// sends no body for error replies of single ops (the reply is the header).
template <class T>
void append_reply(std::vector<char>& out, const reply_header& hdr,
                  const T* body) {
  writer w{out};
  auto frame = w.begin_frame();
  write(w, hdr);
  if (body != nullptr)
    write(w, *body);
  w.end_frame(frame);
}

// A header-only frame (errors, delete, ping, auth, setWatches, ...).
void append_reply(std::vector<char>& out, const reply_header& hdr);

// Same as append_reply(out, hdr); the name the connection actor uses.
inline void append_reply_header(std::vector<char>& out,
                                const reply_header& hdr) {
  append_reply(out, hdr);
}

inline void append_reply(std::vector<char>& out, const reply_header& hdr,
                         std::nullptr_t) {
  append_reply(out, hdr);
}

// The answer to a ConnectRequest: no ReplyHeader. ZooKeeper appends the
// readOnly byte only for clients whose ConnectRequest carried one
// (connect_request::has_read_only); pass false for old clients.
void append_connect_response(std::vector<char>& out,
                             const connect_response& rsp,
                             bool with_read_only = true);

// A watch notification: ReplyHeader{xid -1, zxid, err 0} + WatcherEvent.
// ZooKeeper 3.8 always sends zxid -1 here (NIOServerCnxn.process); later
// versions send the zxid of the change.
void append_watcher_event(std::vector<char>& out, int64_t zxid,
                          const watcher_event& ev);

// The same with zxid -1, which is what ZooKeeper 3.8 sends.
inline void append_watcher_event(std::vector<char>& out,
                                 const watcher_event& ev) {
  append_watcher_event(out, -1, ev);
}

// One result of a multi or multiRead (ZooKeeper's OpResult). `type` selects
// the record written after its MultiHeader, as MultiResponse.serialize does:
//   create (1)        CreateResponse: path only; body create_response
//                     (a create2_response is accepted, its stat unused)
//   create2 (15)      Create2Response; body create2_response. ZooKeeper uses
//                     it for container and TTL creates inside a multi
//   delete, check     nothing; body monostate
//   setData (5)       SetDataResponse; body set_data_response
//   getData (4)       GetDataResponse; body get_data_response
//   getChildren (8)   GetChildrenResponse; body get_children_response
//   error (-1)        ErrorResponse{err}; the MultiHeader's err is `err` too.
//                     The body is ignored (monostate or error_response).
// For every other type the MultiHeader's err is 0, whatever `err` holds.
// A body that does not match its type is a programmer error and aborts.
struct multi_result {
  int32_t type = 0;
  int32_t err = 0;
  std::variant<std::monostate, create_response, create2_response,
               set_data_response, get_data_response, get_children_response,
               error_response>
      body;
};

// Convenience constructors for the common results.
inline multi_result multi_error_result(int32_t err) {
  return multi_result{op::error, err, error_response{err}};
}

inline multi_result multi_create_result(std::string path) {
  return multi_result{op::create, 0, create_response{std::move(path)}};
}

inline multi_result multi_create2_result(std::string path, const stat& st) {
  return multi_result{op::create2, 0, create2_response{std::move(path), st}};
}

// For delete and check.
inline multi_result multi_empty_result(int32_t type) {
  return multi_result{type, 0, std::monostate{}};
}

inline multi_result multi_set_data_result(const stat& st) {
  return multi_result{op::set_data, 0, set_data_response{st}};
}

// Writes a MultiResponse record (no frame): MultiHeader{type, false, err}
// plus its record per result, then MultiHeader{-1, true, -1}.
void write_multi_response(writer& w, const std::vector<multi_result>& results);

// One frame: header + MultiResponse. ZooKeeper 3.8 sends err 0 in the
// ReplyHeader of a failed multi (the per-op errors carry the failure) and
// ZMARSHALLINGERROR with an empty result list for a multiRead of write ops.
void append_multi_reply(std::vector<char>& out, const reply_header& hdr,
                        const std::vector<multi_result>& results);

} // namespace zkd::wire
