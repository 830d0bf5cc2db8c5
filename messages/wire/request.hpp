// A client request decoded from one frame: the RequestHeader plus the typed
// record ZooKeeper 3.8 reads for its op code.
//
// What ZooKeeper does with a frame this decoder rejects (observed on 3.8.0):
// - fewer than 8 bytes (no RequestHeader): the connection is closed;
// - unknown op code (decode_status::unknown_op, including 0 = notification):
//   one reply {xid, zxid -1, ZUNIMPLEMENTED}, then the connection is closed
//   (UnimplementedRequestProcessor);
// - malformed body of auth or sasl: the connection is closed (processPacket
//   decodes these itself and the IOException escapes);
// - malformed body of any other op: a reply {xid, zxid, ZMARSHALLINGERROR}
//   without a body, and the connection stays open. For write ops
//   (is_write()) ZooKeeper turns this into an error txn that is logged and
//   consumes a zxid (the reply carries it); for reads the zxid is the last
//   processed one. One oddity: a multiRead whose ops are all writes gets
//   ZMARSHALLINGERROR *followed by an empty MultiResponse* (just the closing
//   MultiHeader), because FinalRequestProcessor had already created it.
// Trailing bytes after a complete record are ignored, as ZooKeeper's
// ByteBufferInputStream.byteBuffer2Record ignores them.
#pragma once

#include <cstdint>
#include <string_view>
#include <variant>
#include <vector>

#include "records.hpp"

namespace zkd::wire {

// One op of a multi or multiRead, as ZooKeeper's MultiOperationRecord holds it
// after decoding (an org.apache.zookeeper.Op), which differs from the bytes:
// - `type` is Op.getType(): a create is typed by its flags, whatever its
//   MultiHeader said: createTTL for TTL modes (5, 6), createContainer for 4,
//   else create (also for create2 and for invalid flags, which the create
//   itself later rejects with ZBADARGUMENTS). So a create2 inside a multi
//   yields a plain CreateResponse, and container/TTL creates a Create2Response.
// - `body` is Op.toRequestRecord(): create_ttl_request only for type
//   createTTL (a createTTL header with non-TTL flags drops its ttl and becomes
//   a create_request); get_data/get_children always have watch = false,
//   because ZooKeeper ignores the watch flag inside multiRead.
struct multi_op {
  int32_t type = 0;
  std::variant<create_request, create_ttl_request, delete_request,
               set_data_request, check_version_request, get_children_request,
               get_data_request>
      body;
};

// The ops of a multi (all writes: create*, delete, setData, check) or of a
// multiRead (all reads: getData, getChildren); which one is hdr.type.
struct multi_request {
  std::vector<multi_op> ops;
};

// std::monostate for ops without a body (ping, closeSession, whoAmI, sasl,
// deleteContainer, createSession; see decode_request).
using request_body =
    std::variant<std::monostate, create_request, create_ttl_request,
                 delete_request, set_data_request, exists_request,
                 get_data_request, get_children_request, get_children2_request,
                 get_acl_request, set_acl_request, check_version_request,
                 sync_request, multi_request, auth_packet, set_watches,
                 set_watches2, check_watches_request, remove_watches_request,
                 add_watch_request, get_ephemerals_request,
                 get_all_children_number_request, reconfig_request>;

struct request {
  request_header hdr;
  request_body body;
};

enum class decode_status { ok, malformed, unknown_op };

// Decodes one frame without its 4-byte length prefix. On `unknown_op` and on
// `malformed` with payload.size() >= 8, out.hdr holds the header so the
// caller can answer the xid (see the top of this file); out.body is then
// unspecified. Op codes and their bodies:
//   create, create2, createContainer  create_request
//   createTTL                         create_ttl_request
//   delete                            delete_request
//   exists, getData, getChildren,     exists_request, get_data_request, ...
//   getChildren2, getACL, setACL, setData, check, sync, reconfig,
//   checkWatches, removeWatches, addWatch, getEphemerals,
//   getAllChildrenNumber, setWatches, setWatches2, auth: their own record
//   multi, multiRead                  multi_request (see multi_op)
//   ping, closeSession, whoAmI        monostate
//   sasl                              monostate; the GetSASLRequest token is
//                                     checked and dropped (ZooKeeper without
//                                     SASL answers {xid, 0, 0} + a null token)
//   deleteContainer, createSession    monostate: internal ops (container
//                                     manager, session setup) whose body is
//                                     not a jute record; ZooKeeper's
//                                     Request.isValid() accepts them anyway
// A multi is malformed (ZooKeeper: ZMARSHALLINGERROR) if an op header has an
// op code outside the list above, read and write ops are mixed, a multi
// holds read ops, a multiRead holds write ops, or a create with TTL flags
// comes with a CreateRequest instead of a CreateTTLRequest.
// `out` may be reused across calls: strings and vectors keep their capacity
// when consecutive frames have the same op.
decode_status decode_request(std::string_view payload, request& out);

// Decodes a ConnectRequest frame (without its length prefix); the trailing
// readOnly byte is optional (has_read_only tells). Extra bytes are ignored.
// ZooKeeper closes the connection on a malformed one.
decode_status decode_connect(std::string_view payload, connect_request& out);

class writer;

// Writes `rq` (header and body, no frame length) the way ZooKeeper's clients
// do: a multi as MultiOperationRecord.serialize writes it, closed by
// MultiHeader{-1, true, -1}; sasl's dropped token as a null buffer. What
// decode_request accepts, this reproduces.
void write(writer& w, const request& rq);

} // namespace zkd::wire
