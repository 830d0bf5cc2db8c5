// libFuzzer target for the client protocol decoders. Not part of the default
// build; build and run it by hand, e.g.:
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -I. \
//     tests/fuzz/wire_fuzz.cpp messages/wire/*.cpp -o wire_fuzz
//   ./wire_fuzz -max_len=4096 -runs=1000000
// The input is one frame payload (no length prefix), fed to both
// decode_request and decode_connect. Whatever decodes must re-encode to a
// frame that decodes again: a decoder accepting what the encoder cannot
// reproduce would be a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "messages/wire/jute.hpp"
#include "messages/wire/protocol.hpp"
#include "messages/wire/request.hpp"

using namespace zkd::wire;

namespace {

std::vector<char> reencode(const request& rq) {
  std::vector<char> out;
  writer w{out};
  write(w, rq);
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view payload{reinterpret_cast<const char*>(data), size};
  request rq;
  if (decode_request(payload, rq) == decode_status::ok) {
    auto again = reencode(rq);
    request rq2;
    if (decode_request({again.data(), again.size()}, rq2) != decode_status::ok)
      std::abort();
    if (reencode(rq2) != again)
      std::abort();
  }
  connect_request cr;
  if (decode_connect(payload, cr) == decode_status::ok &&
      cr.passwd.size() > size)
    std::abort();
  return 0;
}
