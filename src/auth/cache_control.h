// HTTP Cache-Control (RFC 9111 §5.2) as far as a JWKS cache needs it: how long a fetched key set
// stays fresh.
//
// Contract: pure functions, no allocation, callable from any thread. Directive names are
// case-insensitive; unknown directives (with token or quoted-string arguments, commas inside
// quotes included) are skipped; `max-age="60"` is accepted (§5.2 asks senders for the token form
// but recipients to accept both). A delta-seconds above 2^31 is read as 2^31 (§1.2.2). A max-age
// or s-maxage that is invalid or repeated makes the response stale (0), as §4.2.1 allows.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace portico::auth {

struct CacheControl {
  std::optional<std::chrono::seconds> max_age;
  std::optional<std::chrono::seconds> s_maxage;
  bool no_cache = false;
  bool no_store = false;
};

CacheControl parse_cache_control(std::string_view value);

// Freshness for a shared cache: 0 with no-store or no-cache, else s-maxage, else max-age, else
// nullopt (the caller's default applies).
std::optional<std::chrono::seconds> freshness_lifetime(const CacheControl& cc);

}  // namespace portico::auth
