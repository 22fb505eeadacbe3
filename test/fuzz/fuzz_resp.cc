// libFuzzer target: the RESP reply parser (src/redis/resp.cc). Parses replies back to back as a
// connection would; every node must lie inside the input and the pre-order shape must add up.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "redis/resp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace portico::redis;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  RespLimits limits;
  limits.max_bulk = 4096;
  limits.max_elements = 256;
  RespParser parser(limits);
  RespReply reply;
  while (!in.empty()) {
    size_t consumed = 0;
    const RespStatus s = parser.parse(in, reply, consumed);
    if (s != RespStatus::kComplete) break;
    if (consumed == 0 || consumed > in.size() || reply.nodes.empty()) abort();
    if (reply.skip(0) != reply.nodes.size()) abort();
    for (const RespNode& n : reply.nodes) {
      if (!n.text.empty() && (n.text.data() < in.data() || n.text.data() + n.text.size() > in.data() + consumed)) abort();
    }
    in.remove_prefix(consumed);
  }
  return 0;
}
