#include "jute.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace zkd::wire {

namespace {

// A length that does not fit jute's int is a bug in the caller, never input.
void check_length(size_t n, const char* what) {
  if (n > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    std::fprintf(stderr, "zkd::wire: %s of %zu does not fit a jute int\n", what,
                 n);
    std::abort();
  }
}

} // namespace

void writer::write_string(std::string_view x) {
  check_length(x.size(), "string length");
  auto p = grow(4 + x.size());
  store_u32(p, static_cast<uint32_t>(x.size()));
  if (!x.empty())
    std::memcpy(p + 4, x.data(), x.size());
}

void writer::write_count(size_t n) {
  check_length(n, "vector count");
  write_int(static_cast<int32_t>(n));
}

void writer::end_frame(size_t frame_start) {
  auto len = out_.size() - frame_start - 4;
  check_length(len, "frame length");
  store_u32(out_.data() + frame_start, static_cast<uint32_t>(len));
}

} // namespace zkd::wire
