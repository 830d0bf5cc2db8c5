#include "actors/client_listener/client_listener_actor.hpp"

#include <unordered_map>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/connection/connection_actor.hpp"
#include "actors/tracer/logging.hpp"
#include "actors/tracer/tracer.hpp"
#include "messages/local/local.hpp"

namespace zkd {

namespace {

struct listener_state {
  std::shared_ptr<node> nd;
  uint64_t next_conn_id = 1;
  // Open connections per client address, for max_client_connections.
  std::unordered_map<std::string, uint32_t> per_ip;
  std::unordered_map<caf::actor_addr, std::string> ip_of;
  // Every open connection, for close_all_atom.
  std::unordered_map<caf::actor_addr, caf::actor> conns;
  std::shared_ptr<spdlog::logger> log = tracer::logger("client_listener");
  static inline const char* name = "client_listener";
};

using listener_ptr = caf::stateful_actor<listener_state, caf::io::broker>*;

caf::behavior listener_impl(listener_ptr self, std::shared_ptr<node> nd,
                            caf::io::accept_handle acceptor) {
  self->state.nd = std::move(nd);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    st.conns.erase(dm.source);
    auto i = st.ip_of.find(dm.source);
    if (i == st.ip_of.end())
      return;
    // CAF sends the down message; traced here, where it arrives.
    ZKD_TRACE(connection, dm.source.id(), client_listener, self->id(), "down",
              {"remote", i->second});
    if (--st.per_ip[i->second] == 0)
      st.per_ip.erase(i->second);
    st.ip_of.erase(i);
  });
  return {
      [=](const caf::io::new_connection_msg& msg) {
        auto& st = self->state;
        auto ip = self->remote_addr(msg.handle);
        auto limit = st.nd->cfg.c.max_client_connections;
        if (limit > 0 && st.per_ip[ip] >= static_cast<uint32_t>(limit)) {
          // ZooKeeper logs and drops connections over maxClientCnxns.
          st.log->warn("too many connections from {} (max_client_connections "
                       "{}), closing the new one",
                       ip, limit);
          ZKD_TRACE(client_listener, self->id(), client, 0, "refused",
                    {"remote", ip}, {"limit", limit});
          if (st.per_ip[ip] == 0)
            st.per_ip.erase(ip);
          self->close(msg.handle);
          return;
        }
        auto conn_id = st.next_conn_id++;
        auto conn = fork_connection(self, msg.handle, st.nd, conn_id);
        // The client is named after the connection that serves it.
        ZKD_TRACE(client, conn.id(), client_listener, self->id(), "accept",
                  {"remote", ip});
        ZKD_TRACE(client_listener, self->id(), connection, conn.id(), "fork",
                  {"remote", ip}, {"conn", conn_id});
        ++st.per_ip[ip];
        st.ip_of.emplace(conn.address(), ip);
        st.conns.emplace(conn.address(), conn);
        self->monitor(conn);
      },
      [=](local::close_all_atom) {
        // The round ended (ZooKeeper closes every client connection when
        // its server shuts down for a new election): clients reconnect,
        // here once the node serves again or to another server. The new
        // generation stops each connection at once, before its close
        // message arrives.
        auto& st = self->state;
        ++st.nd->client_generation;
        st.log->info("closing {} client connection(s): the node stopped "
                     "serving",
                     st.conns.size());
        for (auto& [addr, conn] : st.conns) {
          ZKD_TRACE(client_listener, self->id(), connection, conn.id(), "close",
                    {"reason", "close_all"});
          self->send(conn, local::close_atom::value);
        }
      },
      [=](const caf::io::acceptor_closed_msg&) {
        self->state.log->error("client port closed");
      },
  };
}

} // namespace

caf::expected<caf::actor> spawn_client_listener(caf::actor_system& sys,
                                                std::shared_ptr<node> nd) {
  const auto& me = nd->cfg.self;
  // spawn_server binds 0.0.0.0 without SO_REUSEADDR; our own doorman binds
  // the configured address with reuse, so a restarted node gets its port back
  // at once. Binding here, before the broker runs, makes a busy port an error
  // the caller sees instead of a broker that silently quits.
  auto doorman = sys.middleman().backend().new_tcp_doorman(
      me.client_port, me.client_address.c_str(), true);
  if (!doorman)
    return doorman.error();
  caf::io::doorman_ptr ptr = std::move(*doorman);
  auto init = [](listener_ptr self, std::shared_ptr<node> nd,
                 caf::io::doorman_ptr ptr) {
    auto hdl = ptr->hdl();
    self->add_doorman(std::move(ptr));
    return listener_impl(self, std::move(nd), hdl);
  };
  return sys.middleman().spawn_broker(init, std::move(nd), std::move(ptr));
}

} // namespace zkd
