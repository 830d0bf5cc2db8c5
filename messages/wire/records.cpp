// Codecs of the records in records.hpp, field by field in zookeeper.jute's
// order. Every read() overwrites all fields of its target so a connection can
// decode into one reused object and keep the strings' capacity.
#include "jute.hpp"

namespace zkd::wire {

namespace {

// Smallest encoding of one vector element, so a count can be checked against
// the remaining input before anything is allocated.
constexpr size_t min_string_size = 4;      // length
constexpr size_t min_acl_size = 12;        // perms + id
constexpr size_t min_client_info_size = 8; // two lengths

void write_strings(writer& w, const std::vector<std::string>& xs) {
  w.write_count(xs.size());
  for (auto& x : xs)
    w.write_string(x);
}

bool read_strings(reader& r, std::vector<std::string>& xs) {
  size_t n;
  if (!r.read_count(n, min_string_size))
    return false;
  xs.resize(n);
  for (auto& x : xs)
    if (!r.read_string(x))
      return false;
  return true;
}

template <class T>
void write_records(writer& w, const std::vector<T>& xs) {
  w.write_count(xs.size());
  for (auto& x : xs)
    write(w, x);
}

template <class T>
bool read_records(reader& r, std::vector<T>& xs, size_t min_size) {
  size_t n;
  if (!r.read_count(n, min_size))
    return false;
  xs.resize(n);
  for (auto& x : xs)
    if (!read(r, x))
      return false;
  return true;
}

// The many records shaped {ustring path; boolean watch}.
template <class T>
void write_path_watch(writer& w, const T& x) {
  w.write_string(x.path);
  w.write_bool(x.watch);
}

template <class T>
bool read_path_watch(reader& r, T& x) {
  return r.read_string(x.path) && r.read_bool(x.watch);
}

} // namespace

// -- data ---------------------------------------------------------------------

void write(writer& w, const id& x) {
  w.write_string(x.scheme);
  w.write_string(x.ident);
}

bool read(reader& r, id& x) {
  return r.read_string(x.scheme) && r.read_string(x.ident);
}

void write(writer& w, const acl& x) {
  w.write_int(x.perms);
  write(w, x.id);
}

bool read(reader& r, acl& x) {
  return r.read_int(x.perms) && read(r, x.id);
}

void write(writer& w, const stat& x) {
  w.write_long(x.czxid);
  w.write_long(x.mzxid);
  w.write_long(x.ctime);
  w.write_long(x.mtime);
  w.write_int(x.version);
  w.write_int(x.cversion);
  w.write_int(x.aversion);
  w.write_long(x.ephemeral_owner);
  w.write_int(x.data_length);
  w.write_int(x.num_children);
  w.write_long(x.pzxid);
}

bool read(reader& r, stat& x) {
  return r.read_long(x.czxid) && r.read_long(x.mzxid) && r.read_long(x.ctime) &&
         r.read_long(x.mtime) && r.read_int(x.version) &&
         r.read_int(x.cversion) && r.read_int(x.aversion) &&
         r.read_long(x.ephemeral_owner) && r.read_int(x.data_length) &&
         r.read_int(x.num_children) && r.read_long(x.pzxid);
}

void write(writer& w, const client_info& x) {
  w.write_string(x.auth_scheme);
  w.write_string(x.user);
}

bool read(reader& r, client_info& x) {
  return r.read_string(x.auth_scheme) && r.read_string(x.user);
}

// -- session ------------------------------------------------------------------

void write(writer& w, const connect_request& x) {
  w.write_int(x.protocol_version);
  w.write_long(x.last_zxid_seen);
  w.write_int(x.timeout);
  w.write_long(x.session_id);
  w.write_string(x.passwd);
  if (x.has_read_only)
    w.write_bool(x.read_only);
}

bool read(reader& r, connect_request& x) {
  if (!(r.read_int(x.protocol_version) && r.read_long(x.last_zxid_seen) &&
        r.read_int(x.timeout) && r.read_long(x.session_id) &&
        r.read_string(x.passwd)))
    return false;
  // Clients older than 3.4 end the record here; ZooKeeper catches the EOF of
  // readBool("readOnly") and marks the connection as an old client.
  x.has_read_only = r.remaining() > 0;
  x.read_only = false;
  if (x.has_read_only)
    r.read_bool(x.read_only);
  return r.ok();
}

void write(writer& w, const connect_response& x) {
  w.write_int(x.protocol_version);
  w.write_int(x.timeout);
  w.write_long(x.session_id);
  w.write_string(x.passwd);
  w.write_bool(x.read_only);
}

bool read(reader& r, connect_response& x) {
  if (!(r.read_int(x.protocol_version) && r.read_int(x.timeout) &&
        r.read_long(x.session_id) && r.read_string(x.passwd)))
    return false;
  // Absent when the server answers an old client.
  x.read_only = false;
  if (r.remaining() > 0)
    r.read_bool(x.read_only);
  return r.ok();
}

void write(writer& w, const set_watches& x) {
  w.write_long(x.relative_zxid);
  write_strings(w, x.data_watches);
  write_strings(w, x.exist_watches);
  write_strings(w, x.child_watches);
}

bool read(reader& r, set_watches& x) {
  return r.read_long(x.relative_zxid) && read_strings(r, x.data_watches) &&
         read_strings(r, x.exist_watches) && read_strings(r, x.child_watches);
}

void write(writer& w, const set_watches2& x) {
  w.write_long(x.relative_zxid);
  write_strings(w, x.data_watches);
  write_strings(w, x.exist_watches);
  write_strings(w, x.child_watches);
  write_strings(w, x.persistent_watches);
  write_strings(w, x.persistent_recursive_watches);
}

bool read(reader& r, set_watches2& x) {
  return r.read_long(x.relative_zxid) && read_strings(r, x.data_watches) &&
         read_strings(r, x.exist_watches) && read_strings(r, x.child_watches) &&
         read_strings(r, x.persistent_watches) &&
         read_strings(r, x.persistent_recursive_watches);
}

void write(writer& w, const auth_packet& x) {
  w.write_int(x.type);
  w.write_string(x.scheme);
  w.write_string(x.auth);
}

bool read(reader& r, auth_packet& x) {
  return r.read_int(x.type) && r.read_string(x.scheme) && r.read_string(x.auth);
}

// -- headers ------------------------------------------------------------------

void write(writer& w, const request_header& x) {
  w.write_int(x.xid);
  w.write_int(x.type);
}

bool read(reader& r, request_header& x) {
  return r.read_int(x.xid) && r.read_int(x.type);
}

void write(writer& w, const multi_header& x) {
  w.write_int(x.type);
  w.write_bool(x.done);
  w.write_int(x.err);
}

bool read(reader& r, multi_header& x) {
  return r.read_int(x.type) && r.read_bool(x.done) && r.read_int(x.err);
}

void write(writer& w, const reply_header& x) {
  w.write_int(x.xid);
  w.write_long(x.zxid);
  w.write_int(x.err);
}

bool read(reader& r, reply_header& x) {
  return r.read_int(x.xid) && r.read_long(x.zxid) && r.read_int(x.err);
}

// -- requests -----------------------------------------------------------------

void write(writer& w, const get_data_request& x) {
  write_path_watch(w, x);
}

bool read(reader& r, get_data_request& x) {
  return read_path_watch(r, x);
}

void write(writer& w, const set_data_request& x) {
  w.write_string(x.path);
  w.write_buffer(x.data);
  w.write_int(x.version);
}

bool read(reader& r, set_data_request& x) {
  return r.read_string(x.path) && r.read_buffer(x.data) &&
         r.read_int(x.version);
}

void write(writer& w, const reconfig_request& x) {
  w.write_string(x.joining_servers);
  w.write_string(x.leaving_servers);
  w.write_string(x.new_members);
  w.write_long(x.cur_config_id);
}

bool read(reader& r, reconfig_request& x) {
  return r.read_string(x.joining_servers) && r.read_string(x.leaving_servers) &&
         r.read_string(x.new_members) && r.read_long(x.cur_config_id);
}

void write(writer& w, const create_request& x) {
  w.write_string(x.path);
  w.write_buffer(x.data);
  write_records(w, x.acl);
  w.write_int(x.flags);
}

bool read(reader& r, create_request& x) {
  return r.read_string(x.path) && r.read_buffer(x.data) &&
         read_records(r, x.acl, min_acl_size) && r.read_int(x.flags);
}

void write(writer& w, const create_ttl_request& x) {
  w.write_string(x.path);
  w.write_buffer(x.data);
  write_records(w, x.acl);
  w.write_int(x.flags);
  w.write_long(x.ttl);
}

bool read(reader& r, create_ttl_request& x) {
  return r.read_string(x.path) && r.read_buffer(x.data) &&
         read_records(r, x.acl, min_acl_size) && r.read_int(x.flags) &&
         r.read_long(x.ttl);
}

void write(writer& w, const delete_request& x) {
  w.write_string(x.path);
  w.write_int(x.version);
}

bool read(reader& r, delete_request& x) {
  return r.read_string(x.path) && r.read_int(x.version);
}

void write(writer& w, const get_children_request& x) {
  write_path_watch(w, x);
}

bool read(reader& r, get_children_request& x) {
  return read_path_watch(r, x);
}

void write(writer& w, const get_all_children_number_request& x) {
  w.write_string(x.path);
}

bool read(reader& r, get_all_children_number_request& x) {
  return r.read_string(x.path);
}

void write(writer& w, const get_children2_request& x) {
  write_path_watch(w, x);
}

bool read(reader& r, get_children2_request& x) {
  return read_path_watch(r, x);
}

void write(writer& w, const check_version_request& x) {
  w.write_string(x.path);
  w.write_int(x.version);
}

bool read(reader& r, check_version_request& x) {
  return r.read_string(x.path) && r.read_int(x.version);
}

void write(writer& w, const sync_request& x) {
  w.write_string(x.path);
}

bool read(reader& r, sync_request& x) {
  return r.read_string(x.path);
}

void write(writer& w, const get_acl_request& x) {
  w.write_string(x.path);
}

bool read(reader& r, get_acl_request& x) {
  return r.read_string(x.path);
}

void write(writer& w, const set_acl_request& x) {
  w.write_string(x.path);
  write_records(w, x.acl);
  w.write_int(x.version);
}

bool read(reader& r, set_acl_request& x) {
  return r.read_string(x.path) && read_records(r, x.acl, min_acl_size) &&
         r.read_int(x.version);
}

void write(writer& w, const add_watch_request& x) {
  w.write_string(x.path);
  w.write_int(x.mode);
}

bool read(reader& r, add_watch_request& x) {
  return r.read_string(x.path) && r.read_int(x.mode);
}

void write(writer& w, const exists_request& x) {
  write_path_watch(w, x);
}

bool read(reader& r, exists_request& x) {
  return read_path_watch(r, x);
}

void write(writer& w, const check_watches_request& x) {
  w.write_string(x.path);
  w.write_int(x.type);
}

bool read(reader& r, check_watches_request& x) {
  return r.read_string(x.path) && r.read_int(x.type);
}

void write(writer& w, const remove_watches_request& x) {
  w.write_string(x.path);
  w.write_int(x.type);
}

bool read(reader& r, remove_watches_request& x) {
  return r.read_string(x.path) && r.read_int(x.type);
}

void write(writer& w, const get_ephemerals_request& x) {
  w.write_string(x.prefix_path);
}

bool read(reader& r, get_ephemerals_request& x) {
  return r.read_string(x.prefix_path);
}

// -- responses ----------------------------------------------------------------

void write(writer& w, const set_data_response& x) {
  write(w, x.stat);
}

bool read(reader& r, set_data_response& x) {
  return read(r, x.stat);
}

void write(writer& w, const sync_response& x) {
  w.write_string(x.path);
}

bool read(reader& r, sync_response& x) {
  return r.read_string(x.path);
}

void write(writer& w, const set_acl_response& x) {
  write(w, x.stat);
}

bool read(reader& r, set_acl_response& x) {
  return read(r, x.stat);
}

void write(writer& w, const watcher_event& x) {
  w.write_int(x.type);
  w.write_int(x.state);
  w.write_string(x.path);
}

bool read(reader& r, watcher_event& x) {
  return r.read_int(x.type) && r.read_int(x.state) && r.read_string(x.path);
}

void write(writer& w, const error_response& x) {
  w.write_int(x.err);
}

bool read(reader& r, error_response& x) {
  return r.read_int(x.err);
}

void write(writer& w, const create_response& x) {
  w.write_string(x.path);
}

bool read(reader& r, create_response& x) {
  return r.read_string(x.path);
}

void write(writer& w, const create2_response& x) {
  w.write_string(x.path);
  write(w, x.stat);
}

bool read(reader& r, create2_response& x) {
  return r.read_string(x.path) && read(r, x.stat);
}

void write(writer& w, const exists_response& x) {
  write(w, x.stat);
}

bool read(reader& r, exists_response& x) {
  return read(r, x.stat);
}

void write(writer& w, const get_data_response& x) {
  w.write_buffer(x.data);
  write(w, x.stat);
}

bool read(reader& r, get_data_response& x) {
  return r.read_buffer(x.data) && read(r, x.stat);
}

void write(writer& w, const get_children_response& x) {
  write_strings(w, x.children);
}

bool read(reader& r, get_children_response& x) {
  return read_strings(r, x.children);
}

void write(writer& w, const get_all_children_number_response& x) {
  w.write_int(x.total_number);
}

bool read(reader& r, get_all_children_number_response& x) {
  return r.read_int(x.total_number);
}

void write(writer& w, const get_children2_response& x) {
  write_strings(w, x.children);
  write(w, x.stat);
}

bool read(reader& r, get_children2_response& x) {
  return read_strings(r, x.children) && read(r, x.stat);
}

void write(writer& w, const get_acl_response& x) {
  write_records(w, x.acl);
  write(w, x.stat);
}

bool read(reader& r, get_acl_response& x) {
  return read_records(r, x.acl, min_acl_size) && read(r, x.stat);
}

void write(writer& w, const get_ephemerals_response& x) {
  write_strings(w, x.ephemerals);
}

bool read(reader& r, get_ephemerals_response& x) {
  return read_strings(r, x.ephemerals);
}

void write(writer& w, const whoami_response& x) {
  write_records(w, x.client_info);
}

bool read(reader& r, whoami_response& x) {
  return read_records(r, x.client_info, min_client_info_size);
}

} // namespace zkd::wire
