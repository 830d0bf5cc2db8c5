// The watch requests of the read path: setWatches, setWatches2, addWatch,
// checkWatches and removeWatches, as ZooKeeper 3.8's FinalRequestProcessor
// and DataTree serve them. Pure: the tree is read, the watch work goes to
// the watch dispatcher as dispatch items (it owns the registry).
#pragma once

#include <cstdint>

#include "actors/datatree/serve.hpp"
#include "actors/datatree/tree.hpp"
#include "messages/wire/request.hpp"

namespace zkd::datatree {

// True for the op codes serve_watch_request answers.
bool is_watch_request(int32_t opcode);

// Fills `out` for one of those requests:
// - setWatches / setWatches2 (after a reconnect): a watch whose node changed
//   after relativeZxid fires at once (events_before: NodeDeleted,
//   NodeDataChanged, NodeCreated, NodeChildrenChanged), the others are
//   registered again, persistent ones always; then the reply, with the
//   request's xid (clients use -8).
// - addWatch: the reply {0} (an ErrorResponse), registering a persistent or
//   persistent-recursive watch; an unknown mode is ZMARSHALLINGERROR.
// - checkWatches / removeWatches: an unknown watcher type is
//   ZMARSHALLINGERROR; otherwise out.frame stays empty and events_before
//   holds one dispatch item the dispatcher answers (ZOK or ZNOWATCHER).
// No ACL is checked, as in ZooKeeper 3.8.
void serve_watch_request(const tree& t, int64_t session,
                         const wire::request& rq, read_reply& out);

} // namespace zkd::datatree
