#include "actors/admin_http/admin_http_actor.hpp"

#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/admin_http/admin_http.hpp"
#include "actors/connection/four_letter_actor.hpp"
#include "actors/tracer/writer.hpp"
#include "messages/local/local.hpp"

namespace zkd {

namespace {

using namespace std::chrono;

// Admin connections at once; more are answered 503 and closed.
constexpr size_t max_connections = 64;
// Responses queued on one connection (pipelining) before its input waits.
constexpr size_t max_pending = 16;
// Input held while it waits; a client that sends this much without reading
// its responses is closed.
constexpr size_t max_unparsed = 64 * 1024;
// Response bytes the client has not taken yet before its input waits.
constexpr uint64_t max_unwritten = 4 << 20;
// Keep-alive connections idle this long are closed (Jetty's default for
// ZooKeeper's admin.idleTimeout is 30 s as well).
constexpr auto idle_timeout = seconds(30);
constexpr auto sweep_interval = seconds(5);

int64_t wall_ms() {
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

// One response in a connection's order; async commands fill theirs later.
struct slot {
  bool ready = false;
  bool close_after = false;
  std::string bytes;
};
using slot_ptr = std::shared_ptr<slot>;

struct http_conn {
  std::string buf;
  std::deque<slot_ptr> pending;
  bool stop_parsing = false; // after an error or a request that closes
  uint64_t unwritten = 0;
  int64_t last_active_ms = 0;
};

struct admin_state {
  std::shared_ptr<node> nd;
  std::unordered_map<caf::io::connection_handle, http_conn> conns;
  admin_http::limits lim;
  static inline const char* name = "admin_http";
};

using admin_ptr = caf::stateful_actor<admin_state, caf::io::broker>*;

void close_conn(admin_ptr self, caf::io::connection_handle hdl) {
  self->flush(hdl);
  self->close(hdl);
  self->state.conns.erase(hdl);
}

// Writes the responses that are ready, in request order. May close (and
// forget) the connection.
void flush_ready(admin_ptr self, caf::io::connection_handle hdl) {
  auto it = self->state.conns.find(hdl);
  if (it == self->state.conns.end())
    return;
  auto& c = it->second;
  bool wrote = false;
  while (!c.pending.empty() && c.pending.front()->ready) {
    auto s = std::move(c.pending.front());
    c.pending.pop_front();
    auto& out = self->wr_buf(hdl);
    out.insert(out.end(), s->bytes.begin(), s->bytes.end());
    c.unwritten += s->bytes.size();
    wrote = true;
    if (s->close_after) {
      close_conn(self, hdl);
      return;
    }
  }
  if (wrote)
    self->flush(hdl);
}

metrics::histogram_snapshot latency_of(const node& nd, size_t slot) {
  return nd.metrics.requests.latency[slot].snapshot();
}

admin_http::metrics_input collect_metrics(node& nd) {
  admin_http::metrics_input in;
  in.stats = four_letter_snapshot(nd);
  for (size_t slot = 0; slot < metrics::op_slot_count; ++slot) {
    auto h = latency_of(nd, slot);
    auto errors = nd.metrics.requests.errors[slot].get();
    // Only the op types seen so far: a series appears with its first
    // request, which Prometheus treats as starting from zero.
    if (h.count == 0 && errors == 0)
      continue;
    in.ops.push_back({std::string{metrics::slot_name(slot)}, h, errors});
  }
  in.fsync = nd.metrics.fsync_time.snapshot();
  in.bytes_received = nd.metrics.bytes_received.get();
  in.bytes_sent = nd.metrics.bytes_sent.get();
  return in;
}

void process(admin_ptr self, caf::io::connection_handle hdl);

// Answers one request into `s`, now or (dump, watches) once the actors that
// own the data have answered.
std::string json_string(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (static_cast<unsigned char>(c) < 0x20)
      continue;
    out += c;
  }
  return out + "\"";
}

// GET /trace shows what is traced; /trace?kinds=a,b[&file=PATH] switches
// tracing at run time (kinds= with nothing turns it off). Not part of
// ZooKeeper's AdminServer.
std::string trace_switch(uint64_t node_id, std::string_view query) {
  std::string file;
  std::optional<std::vector<std::string>> kinds;
  bool has_file = false;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{}
                                          : query.substr(amp + 1);
    auto eq = pair.find('=');
    auto key = pair.substr(0, eq);
    auto value =
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (key == "file") {
      file = std::string{value};
      has_file = true;
    } else if (key == "kinds") {
      kinds.emplace();
      while (!value.empty()) {
        auto comma = value.find(',');
        auto k = value.substr(0, comma);
        if (!k.empty())
          kinds->emplace_back(k);
        value = comma == std::string_view::npos ? std::string_view{}
                                                : value.substr(comma + 1);
      }
    }
  }
  std::string error;
  if (has_file)
    error =
        tracer::start(node_id, file, kinds.value_or(tracer::enabled_kinds()));
  else if (kinds)
    error = tracer::set_enabled(*kinds);
  std::string out =
      "{\"file\": " + json_string(tracer::current_file()) + ", \"kinds\": [";
  auto now = tracer::enabled_kinds();
  for (size_t i = 0; i < now.size(); ++i)
    out += (i ? ", " : "") + json_string(now[i]);
  out += "], \"error\": ";
  out += error.empty() ? "null" : json_string(error);
  return out + "}";
}

void handle(admin_ptr self, caf::io::connection_handle hdl,
            const admin_http::request& rq, slot_ptr s) {
  auto keep_alive = rq.keep_alive;
  auto minor = rq.minor_version;
  auto head = rq.method == "HEAD";
  auto fill = [s, keep_alive, minor, head](const admin_http::response& r) {
    s->bytes = admin_http::serialize(r, admin_http::http_date(wall_ms()),
                                     keep_alive, minor, head);
    s->ready = true;
  };
  auto json = [](std::string body) {
    admin_http::response r;
    r.content_type = "application/json";
    r.body = std::move(body);
    return r;
  };
  auto& nd = self->state.nd;
  if (rq.path == "/trace") {
    fill(json(trace_switch(nd->cfg.id, rq.query)));
    return;
  }
  auto rt = admin_http::route_request(rq);
  switch (rt.kind) {
  case admin_http::route_kind::metrics: {
    admin_http::response r;
    r.content_type = std::string{admin_http::prometheus_content_type};
    r.body = admin_http::prometheus_text(collect_metrics(*nd));
    fill(r);
    return;
  }
  case admin_http::route_kind::command_list: {
    admin_http::response r;
    r.content_type = "text/html; charset=utf-8";
    r.body = admin_http::command_list_html();
    fill(r);
    return;
  }
  case admin_http::route_kind::unknown_command:
    fill(json(admin_http::unknown_command_json(rt.name)));
    return;
  case admin_http::route_kind::not_found:
    fill(admin_http::error_response(404, rq.path));
    return;
  case admin_http::route_kind::command:
    break;
  }
  const auto& cmd = *rt.cmd;
  auto stats =
      std::make_shared<connection::server_stats>(four_letter_snapshot(*nd));
  if (cmd.server_required && !stats->serving) {
    fill(json(admin_http::command_json(cmd, rt.name, *stats)));
    return;
  }
  if (cmd.id == admin_http::command_id::connection_stat_reset)
    reset_connection_stats(*nd);
  else if (cmd.id == admin_http::command_id::stat_reset)
    reset_server_stats(*nd);
  // done/failed may run before four_letter_gather returns; only a later
  // call has to resume the connection.
  auto sync = std::make_shared<bool>(true);
  auto name = rt.name;
  four_letter_gather(
      self, *nd, cmd.word, stats,
      [=] {
        fill(json(admin_http::command_json(cmd, name, *stats)));
        if (!*sync)
          process(self, hdl);
      },
      [=] {
        fill(json(admin_http::error_json(
            cmd.primary, "zkd: the server did not answer in time")));
        if (!*sync)
          process(self, hdl);
      });
  *sync = false;
}

// Parses and answers what the connection's buffer holds, as far as its
// queue and the client's reading allow; then writes what is ready.
void process(admin_ptr self, caf::io::connection_handle hdl) {
  auto it = self->state.conns.find(hdl);
  if (it == self->state.conns.end())
    return;
  auto& c = it->second;
  while (!c.stop_parsing && !c.buf.empty() && c.pending.size() < max_pending &&
         c.unwritten < max_unwritten) {
    auto r = admin_http::parse_request(c.buf, self->state.lim);
    if (r.status == admin_http::parse_status::incomplete)
      break;
    auto s = std::make_shared<slot>();
    c.pending.push_back(s);
    if (r.status == admin_http::parse_status::error) {
      spdlog::debug("admin connection: {} {}", r.error_status, r.error_reason);
      s->close_after = true;
      s->bytes = admin_http::serialize(
          admin_http::error_response(r.error_status, r.error_reason),
          admin_http::http_date(wall_ms()), false, 1, false);
      s->ready = true;
      c.stop_parsing = true;
      c.buf.clear();
      break;
    }
    c.buf.erase(0, r.consumed);
    if (!r.req.keep_alive) {
      s->close_after = true;
      c.stop_parsing = true;
      c.buf.clear();
    }
    handle(self, hdl, r.req, s);
  }
  if (c.buf.size() > max_unparsed) {
    spdlog::debug("admin connection: {} bytes unparsed while responses wait, "
                  "closing",
                  c.buf.size());
    close_conn(self, hdl);
    return;
  }
  flush_ready(self, hdl);
}

caf::behavior admin_impl(admin_ptr self, std::shared_ptr<node> nd) {
  self->state.nd = std::move(nd);
  self->delayed_send(self, sweep_interval, local::tick_atom::value);
  return {
      [=](const caf::io::new_connection_msg& msg) {
        auto& st = self->state;
        if (st.conns.size() >= max_connections) {
          spdlog::warn("admin endpoint: {} connections open, refusing one",
                       st.conns.size());
          auto bytes = admin_http::serialize(
              admin_http::error_response(503, "too many admin connections"),
              admin_http::http_date(wall_ms()), false, 1, false);
          auto& out = self->wr_buf(msg.handle);
          out.insert(out.end(), bytes.begin(), bytes.end());
          self->flush(msg.handle);
          self->close(msg.handle);
          return;
        }
        auto& c = st.conns[msg.handle];
        c.last_active_ms = wall_ms();
        self->configure_read(msg.handle,
                             caf::io::receive_policy::at_most(8192));
        self->ack_writes(msg.handle, true);
      },
      [=](const caf::io::new_data_msg& msg) {
        auto it = self->state.conns.find(msg.handle);
        if (it == self->state.conns.end())
          return;
        auto& c = it->second;
        c.last_active_ms = wall_ms();
        if (c.stop_parsing)
          return;
        c.buf.append(msg.buf.data(), msg.buf.size());
        process(self, msg.handle);
      },
      [=](const caf::io::data_transferred_msg& msg) {
        auto it = self->state.conns.find(msg.handle);
        if (it == self->state.conns.end())
          return;
        it->second.unwritten = msg.remaining;
        it->second.last_active_ms = wall_ms();
        process(self, msg.handle);
      },
      [=](const caf::io::connection_closed_msg& msg) {
        self->state.conns.erase(msg.handle);
      },
      [=](const caf::io::acceptor_closed_msg&) {
        spdlog::error("admin port closed");
      },
      [=](local::tick_atom) {
        auto now = wall_ms();
        auto idle_ms = duration_cast<milliseconds>(idle_timeout).count();
        std::vector<caf::io::connection_handle> idle;
        for (auto& [hdl, c] : self->state.conns)
          if (c.pending.empty() && now - c.last_active_ms >= idle_ms)
            idle.push_back(hdl);
        for (auto hdl : idle)
          close_conn(self, hdl);
        self->delayed_send(self, sweep_interval, local::tick_atom::value);
      },
  };
}

} // namespace

caf::expected<caf::actor> spawn_admin_http(caf::actor_system& sys,
                                           std::shared_ptr<node> nd) {
  const auto& admin = nd->cfg.c.admin;
  auto doorman = sys.middleman().backend().new_tcp_doorman(
      nd->cfg.self.admin_port, admin.address.c_str(), true);
  if (!doorman)
    return doorman.error();
  caf::io::doorman_ptr ptr = std::move(*doorman);
  auto init = [](admin_ptr self, std::shared_ptr<node> nd,
                 caf::io::doorman_ptr ptr) {
    self->add_doorman(std::move(ptr));
    return admin_impl(self, std::move(nd));
  };
  return sys.middleman().spawn_broker(init, std::move(nd), std::move(ptr));
}

} // namespace zkd
