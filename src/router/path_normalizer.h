// Path normalisation before routing (RFC 3986 §6.2.2 and §5.2.4, as Kong/nginx apply it).
//
// Contract: pure functions, no shared state; safe on any thread. `normalize_path` never throws
// and allocates only when `out` lacks capacity for the rewritten path (never more than
// `raw.size()` bytes). `raw` must not alias `out`.
//
// What "normal" means here:
// - percent-escapes of unreserved characters (ALPHA DIGIT - . _ ~) are decoded; every other
//   escape is kept, with its hex digits in upper case. `%2F` therefore stays an encoded byte and
//   never becomes a segment separator, and `%25` is never decoded twice;
// - runs of '/' collapse into one (nginx merge_slashes, which Kong relies on);
// - "." and ".." segments are removed (remove_dot_segments), including those spelt `%2e`/`%2E`;
//   ".." at the root stays at the root; a trailing slash is kept;
// - a path that does not start with '/', an escape that is not '%' followed by two hex digits,
//   and NUL (literal or `%00`) are rejected: the caller answers 400.
// The query string is not part of the input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace portico::router {

enum class PathStatus : uint8_t {
  kUnchanged,    // `raw` is already normal; `out` was not touched, keep using `raw`
  kNormalized,   // `out` holds the normal form
  kNotAbsolute,  // empty or not starting with '/'
  kBadEscape,    // '%' not followed by two hex digits
  kNulByte,      // NUL, literal or as %00
};

struct PathResult {
  PathStatus status = PathStatus::kUnchanged;

  bool ok() const { return status == PathStatus::kUnchanged || status == PathStatus::kNormalized; }
  // The normal path: `raw` or `out`, whichever holds it. Only meaningful when ok().
  std::string_view path(std::string_view raw, const std::string& out) const {
    return status == PathStatus::kNormalized ? std::string_view(out) : raw;
  }
};

// Normalises `raw` (the path part of a request target). On kNormalized, `out` is overwritten;
// on kUnchanged and on errors its content is unspecified but valid.
PathResult normalize_path(std::string_view raw, std::string& out);

// A short message for a rejected path, suitable for a 400 response body.
std::string_view describe(PathStatus status);

}  // namespace portico::router
