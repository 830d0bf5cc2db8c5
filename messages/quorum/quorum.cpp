#include "messages/quorum/quorum.hpp"

#include <caf/actor_system_config.hpp>

namespace zkd::quorum {

void add_message_types(caf::actor_system_config& cfg) {
  for_each_message_type([&](auto tag, const char* name) {
    using type = typename decltype(tag)::type;
    cfg.add_message_type<type>(name);
  });
}

} // namespace zkd::quorum
