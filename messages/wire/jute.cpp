#include "jute.hpp"

#include <cstdio>
#include <cstdlib>
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
  write_int(static_cast<int32_t>(x.size()));
  out_.insert(out_.end(), x.begin(), x.end());
}

void writer::write_count(size_t n) {
  check_length(n, "vector count");
  write_int(static_cast<int32_t>(n));
}

void writer::end_frame(size_t frame_start) {
  auto len = out_.size() - frame_start - 4;
  check_length(len, "frame length");
  auto u = static_cast<uint32_t>(len);
  out_[frame_start] = static_cast<char>(u >> 24);
  out_[frame_start + 1] = static_cast<char>(u >> 16);
  out_[frame_start + 2] = static_cast<char>(u >> 8);
  out_[frame_start + 3] = static_cast<char>(u);
}

} // namespace zkd::wire
