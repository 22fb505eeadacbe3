// libFuzzer target for router::normalize_path: any input either is rejected with a reason or
// yields a path that is absolute, has no empty, "." or ".." segment, no escape of an unreserved
// character, no lower-case escape, is no longer than the input, and normalises to itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "router/path_normalizer.h"

namespace {

bool unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // lower-case hex is not normal
}

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view raw(reinterpret_cast<const char*>(data), size);
  std::string out;
  auto r = portico::router::normalize_path(raw, out);
  if (!r.ok()) return 0;
  std::string_view p = r.path(raw, out);
  check(!p.empty() && p.front() == '/');
  check(p.size() <= raw.size());
  size_t seg_start = 1;
  for (size_t i = 1; i <= p.size(); ++i) {
    if (i == p.size() || p[i] == '/') {
      std::string_view seg = p.substr(seg_start, i - seg_start);
      check(seg != "." && seg != "..");
      check(!seg.empty() || i == p.size());  // only a trailing slash may leave an empty segment
      seg_start = i + 1;
    }
  }
  for (size_t i = 0; i < p.size(); ++i) {
    check(p[i] != '\0');
    if (p[i] == '%') {
      check(i + 2 < p.size());
      int h = hex(p[i + 1]);
      int l = hex(p[i + 2]);
      check(h >= 0 && l >= 0);
      check(!unreserved(static_cast<char>(h * 16 + l)));
    }
  }
  std::string again;
  auto r2 = portico::router::normalize_path(p, again);
  check(r2.status == portico::router::PathStatus::kUnchanged);
  return 0;
}
