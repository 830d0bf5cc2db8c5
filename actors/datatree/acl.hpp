// ACL checks of ZooKeeper 3.8 with its two built-in authentication providers,
// "ip" and "digest" (ProviderRegistry without extra providers configured):
// PrepRequestProcessor.fixupACL and ZooKeeperServer.checkACL.
#pragma once

#include <cstdint>
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
