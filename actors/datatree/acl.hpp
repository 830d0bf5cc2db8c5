// ACL checks of ZooKeeper 3.8 with its two built-in authentication providers,
// "ip" and "digest" (ProviderRegistry without extra providers configured):
// PrepRequestProcessor.fixupACL and ZooKeeperServer.checkACL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "messages/wire/protocol.hpp"
#include "messages/wire/records.hpp"

namespace zkd::datatree {

// The ids a session authenticated as (ZooKeeper's authInfo): a connection
// starts with ip:<client address>, addauth digest adds digest:<user>:<hash>,
// the super digest adds super:"" which passes every check.
using auth_ids = std::vector<wire::id>;

// Ids that pass every ACL check: for tests and trusted internal callers.
const auth_ids& superuser();

// -- authentication (the providers' handleAuthentication)
// -----------------------

// The text Java makes of `bytes` (new String(bytes) with UTF-8, the default
// charset of the JVMs ZooKeeper runs on), as UTF-8 again: well-formed input
// is unchanged; each malformed sequence becomes U+FFFD the way the JDK 17
// decoder splits it (a surrogate encoded in three bytes is one U+FFFD).
std::string java_string(std::string_view bytes);

// Java's String.hashCode of a well-formed UTF-8 string: over its UTF-16
// code units, s[0]*31^(n-1) + ... + s[n-1], wrapping.
int32_t java_string_hash(std::string_view utf8);

// Standard base64 with '=' padding (what DigestAuthenticationProvider
// writes).
std::string base64_encode(const uint8_t* bytes, size_t n);

// DigestAuthenticationProvider.generateDigest(idPassword): the text before
// the first ':' (all of it when there is none), ':', then
// base64(SHA-1(idPassword)). `user_password` is the AuthPacket's raw auth
// bytes; they are read as java_string() reads them, so any bytes give a
// digest, as in ZooKeeper (digest auth never fails).
std::string generate_digest(std::string_view user_password);

// InetAddress.getHostAddress() of a peer address as the socket layer prints
// it: IPv4 dotted quads unchanged, IPv4-mapped IPv6 as the IPv4 address, other
// IPv6 addresses as eight groups of lower-case hex without zero compression
// ("0:0:0:0:0:0:0:1"). Anything unparsable is returned as given.
std::string java_host_address(std::string_view addr);

// The auth ids of one connection (ServerCnxn.authInfo). ZooKeeper keeps them
// in a set backed by a ConcurrentHashMap, so an id added twice counts once,
// and everything that lists them (whoami, the expansion of an "auth" ACL
// entry) sees them in that map's iteration order, which follows the ids'
// Java hash codes and the table size. ids() reproduces that order: bins by
// (hash ^ hash >>> 16) & (n - 1), insertion order within a bin, a table of 16
// doubling when it holds 3/4 of its size, and bins split on resize as the
// map's transfer() splits them. (The map turns a bin of 8 or more into a
// tree or grows early; no connection has that many colliding ids.)
class auth_set {
public:
  // Adds `id` unless an equal one is there; true if added.
  bool add(const wire::id& id);

  // In the map's iteration order.
  const auth_ids& ids() const noexcept { return ordered_; }

  size_t size() const noexcept { return ordered_.size(); }

private:
  struct entry {
    int32_t hash; // the map's spread hash
    wire::id id;
  };

  void resize();
  void reorder();

  std::vector<std::vector<entry>> bins_; // empty until the first add
  auth_ids ordered_;
};

// Id.hashCode() of the jute-generated record: 37 * (37 * 17 + scheme) + id,
// with Java's String hash codes.
int32_t java_id_hash(const wire::id& id);

// WhoAmIResponse.clientInfo (AuthUtil.getClientInfos): per id its scheme
// and the provider's user name: digest the text before the first ':', ip the
// address, and "" for a scheme without a provider (super).
std::vector<wire::client_info> client_infos(const auth_ids& who);

// Provider.isValid for an ACL's id: world:anyone, ip:<a.b.c.d>[/bits],
// digest:<user>:<hash>. Any other scheme (no provider) is invalid; "auth" is
// handled by fixup_acl before this.
bool valid_acl_id(const wire::id& id);

// PrepRequestProcessor.fixupACL: drops exact duplicates (keeping the first),
// rejects an empty list and invalid ids, and expands an "auth" entry into one
// entry per authenticated digest id of the caller (ip ids do not count; none
// at all is invalid). Returns ok and fills `out`, or invalid_acl.
wire::err fixup_acl(const std::vector<wire::acl>& in, const auth_ids& who,
                    std::vector<wire::acl>& out);

// ZooKeeperServer.checkACL: true if `acl` is empty, `who` holds a super id,
// or an entry granting any bit of `perm` matches world:anyone or one of
// `who` (ip by masked IPv4 address, digest by equality).
bool acl_permits(const std::vector<wire::acl>& acl, int32_t perm,
                 const auth_ids& who);

} // namespace zkd::datatree
