#include "router/path_normalizer.h"

namespace portico::router {
namespace {

constexpr char kHexUpper[] = "0123456789ABCDEF";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// One pass over the path deciding whether the rewriting pass is needed at all; most requests
// carry a path that is already normal, and they must cost no copy.
bool needs_rewrite(std::string_view raw) {
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '%' || c == '\0') return true;
    if (c == '/' && i + 1 < raw.size() && (raw[i + 1] == '/' || raw[i + 1] == '.')) return true;
  }
  return false;
}

}  // namespace

PathResult normalize_path(std::string_view raw, std::string& out) {
  if (raw.empty() || raw.front() != '/') return {PathStatus::kNotAbsolute};
  if (!needs_rewrite(raw)) return {PathStatus::kUnchanged};

  out.clear();
  // Decoding only shrinks and dot removal only drops, so the result fits in raw.size().
  out.reserve(raw.size());
  out.push_back('/');
  // Invariant at the top of each segment: `out` ends with '/'.
  size_t i = 1;
  while (true) {
    size_t seg_start = out.size();
    while (i < raw.size() && raw[i] != '/') {
      char c = raw[i];
      if (c == '\0') return {PathStatus::kNulByte};
      if (c != '%') {
        out.push_back(c);
        ++i;
        continue;
      }
      if (i + 2 >= raw.size()) return {PathStatus::kBadEscape};
      int hi = hex_value(raw[i + 1]);
      int lo = hex_value(raw[i + 2]);
      if (hi < 0 || lo < 0) return {PathStatus::kBadEscape};
      auto byte = static_cast<unsigned char>(hi * 16 + lo);
      if (byte == 0) return {PathStatus::kNulByte};
      if (is_unreserved(byte)) {
        out.push_back(static_cast<char>(byte));
      } else {
        out.push_back('%');
        out.push_back(kHexUpper[hi]);
        out.push_back(kHexUpper[lo]);
      }
      i += 3;
    }
    bool last = i >= raw.size();
    std::string_view seg(out.data() + seg_start, out.size() - seg_start);
    if (seg == ".") {
      out.resize(seg_start);
    } else if (seg == "..") {
      out.resize(seg_start);
      // Drop the previous segment; at the root there is none and ".." stays there.
      if (seg_start > 1) out.resize(out.rfind('/', seg_start - 2) + 1);
    } else if (!seg.empty() && !last) {
      out.push_back('/');
    }
    // An empty segment (from "//") adds nothing: duplicate slashes collapse.
    if (last) break;
    ++i;  // past the '/'
  }
  if (out == raw) return {PathStatus::kUnchanged};
  return {PathStatus::kNormalized};
}

std::string_view describe(PathStatus status) {
  switch (status) {
    case PathStatus::kUnchanged:
    case PathStatus::kNormalized:
      return "";
    case PathStatus::kNotAbsolute:
      return "Bad request: the path must start with '/'";
    case PathStatus::kBadEscape:
      return "Bad request: invalid percent-encoding in the path";
    case PathStatus::kNulByte:
      return "Bad request: NUL byte in the path";
  }
  return "Bad request";
}

}  // namespace portico::router
