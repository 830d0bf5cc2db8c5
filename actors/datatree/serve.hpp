// The datatree actor's request handling, as pure functions over the tree and
// prep cores: turn a request into a reply frame (reads), a txn or an error
// (writes), and a committed txn into its reply and watch triggers.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "actors/datatree/prep.hpp"
#include "actors/datatree/tree.hpp"
#include "messages/local/local.hpp"
#include "messages/txn/txn.hpp"
#include "messages/wire/request.hpp"

namespace zkd::datatree {

// Ops that go through prep, the log and a commit.
bool goes_through_log(int32_t opcode);

// What a read produced: the reply frame and the watch it registers, if any.
struct read_reply {
  std::vector<char> frame;
  local::watch_kind watch = local::watch_kind::none;
  std::string watch_path;
  // setWatches fires events for what changed while the client was away;
  // they go out before its reply.
  std::vector<local::dispatch_item> events_before;
};

// `who`: the session's auth ids, for the ACL checks of the reads and whoami.
read_reply serve_read(const tree& t, int64_t session, const wire::request& rq,
                      const auth_ids& who = {});

// A write request turned into a txn, or the error to answer with.
using prepared = std::variant<txn::record, wire::err>;

prepared prepare_write(prep& p, int64_t session, const wire::request& rq,
                       int64_t zxid, int64_t time_ms, const auth_ids& who = {});

prepared prepare_session_write(prep& p, const local::session_write& w,
                               int64_t zxid, int64_t time_ms);

// Applies a committed txn. `xid` is the client's request id when the request
// came from a connection of this node (reply wanted), or nullopt.
struct applied {
  std::vector<local::dispatch_item> triggers;
  std::vector<char> frame; // empty when no reply is wanted
};

applied apply_committed(tree& t, const txn::record& r, int32_t opcode,
                        const int32_t* xid);

// The error reply for a request of `xid` at `zxid`.
std::vector<char> error_reply(int32_t xid, int64_t zxid, wire::err e);

} // namespace zkd::datatree
