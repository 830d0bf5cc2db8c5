// Znode path rules of ZooKeeper 3.8 (org.apache.zookeeper.common.PathUtils
// and the path handling of PrepRequestProcessor), over the UTF-8 bytes a
// client sends.
#pragma once

#include <string_view>

namespace zkd::datatree {

// PathUtils.validatePath: non-empty, absolute, no trailing '/' (except "/"
// itself), no empty segment, no "." or ".." segment, and no character Java
// rejects: U+0000-U+001F, U+007F-U+009F, U+D800-U+F8FF, U+FFF0-U+FFFF.
// ZooKeeper validates the Java string the bytes decode to; a malformed UTF-8
// sequence decodes to U+FFFD and a character beyond U+FFFF to a surrogate
// pair, both rejected, so here both make the path invalid.
bool valid_path(std::string_view path) noexcept;

// What precedes the last '/' ("" for "/a" and for "/"); the whole path if it
// has no '/'. Callers check has_parent() first.
std::string_view parent_of(std::string_view path) noexcept;

// What follows the last '/'.
std::string_view name_of(std::string_view path) noexcept;

// ZooKeeper's cheap pre-check before create and delete
// (validatePathForCreate / getParentPathAndValidate): the path has a '/' and
// no NUL byte. Anything else yields ZBADARGUMENTS before the parent lookup.
bool has_parent(std::string_view path) noexcept;

// The paths ZooKeeper refuses to delete (DataTree.isSpecialPath): "/",
// "/zookeeper", "/zookeeper/quota", "/zookeeper/config".
bool is_special_path(std::string_view path) noexcept;

} // namespace zkd::datatree
