// The client side of the wire protocol as the bench needs it: request frames
// built with the jute codec of messages/wire, reply headers and multi outcomes
// read with it, and a small blocking client for setup and clean-up.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "bin/tools/bench_options.hpp"
#include "messages/wire/jute.hpp"
#include "messages/wire/protocol.hpp"
#include "messages/wire/request.hpp"

namespace zkd::tools::bench {

// Frames are refused above this: far more than any reply the bench asks for.
constexpr int32_t max_reply_frame = 64 << 20;

int64_t now_ns() noexcept;

// Appends one request frame: length, RequestHeader{xid, type}, `body`.
template <class T>
void append_request(std::vector<char>& out, int32_t xid, int32_t type,
                    const T& body) {
  wire::writer w{out};
  auto frame = w.begin_frame();
  wire::write(w, wire::request_header{xid, type});
  wire::write(w, body);
  w.end_frame(frame);
}

// A request without a body (ping, closeSession).
void append_request(std::vector<char>& out, int32_t xid, int32_t type);

// A whole request (used for multi).
void append_request(std::vector<char>& out, const wire::request& rq);

void append_connect(std::vector<char>& out, int32_t timeout_ms);

// world:anyone with every permission.
const std::vector<wire::acl>& open_acl();

struct reply {
  int32_t xid = 0;
  int64_t zxid = 0;
  int32_t err = 0;
  std::string_view body; // what follows the header
};

// The header of a reply frame (without its length prefix).
bool parse_reply(std::string_view payload, reply& out);

// The outcome of a MultiResponse body: 0 when every op succeeded, else the
// code of the op that failed (ZooKeeper marks the others OK or
// RUNTIMEINCONSISTENCY), MARSHALLINGERROR when the body does not parse.
int32_t multi_outcome(std::string_view body);

// One blocking connection and session, for setup and clean-up only: nothing
// it does is measured.
class sync_client {
public:
  sync_client() = default;
  sync_client(const sync_client&) = delete;
  sync_client& operator=(const sync_client&) = delete;
  ~sync_client();

  bool connect(const endpoint& ep, int32_t session_timeout_ms,
               std::string& error);

  // Sends n requests with up to `window` in flight. encode(i, xid, out)
  // appends request i; on_reply(i, reply) sees its reply, in order. False
  // (with `error`) when the connection fails.
  bool pipeline(
      size_t n, size_t window,
      const std::function<void(size_t, int32_t, std::vector<char>&)>& encode,
      const std::function<void(size_t, const reply&)>& on_reply,
      std::string& error);

  // One request, its result code (or a negative transport failure with
  // `error` set: CONNECTIONLOSS).
  int32_t call(const std::function<void(int32_t, std::vector<char>&)>& encode,
               std::string& error);

  // closeSession, then the socket.
  void close();

private:
  bool send_all(const std::vector<char>& buf, std::string& error);
  // The next frame's payload (without its length) into frame_.
  bool read_frame(std::string& error);

  int fd_ = -1;
  int32_t next_xid_ = 1;
  std::vector<char> in_;
  size_t in_begin_ = 0;
  size_t in_end_ = 0;
  std::string frame_;
};

// A connected TCP socket to `ep` (blocking), or -1 with `error` set.
int connect_tcp(const endpoint& ep, bool nonblocking, std::string& error);

} // namespace zkd::tools::bench
