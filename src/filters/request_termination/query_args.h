// Query-string helpers for request-termination's `trigger` and `echo`: split "a=1&b&c=" into
// arguments and decode them the way nginx does for Kong's kong.request.get_query().
//
// Contract: pure functions over the caller's text; callable from any thread. Views passed to the
// callback point into `query` and are valid only for the duration of the call.
#pragma once

#include <string>
#include <string_view>

namespace portico::filters {

// Calls fn(raw_key, raw_value, has_value) for every argument in order; a segment with an empty key
// ("=x", "&&") is skipped, as nginx does. `has_value` is false for "a" and true for "a=" and "a=1".
template <class Fn>
void for_each_query_arg(std::string_view query, Fn&& fn) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view segment = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = segment.find('=');
    std::string_view key = segment.substr(0, eq);
    if (key.empty()) continue;
    if (eq == std::string_view::npos) {
      fn(key, std::string_view(), false);
    } else {
      fn(key, segment.substr(eq + 1), true);
    }
  }
}

// Appends the decoded form of `in` to `out`: %XX becomes the byte, '+' a space; a malformed escape
// is kept literally.
void url_decode(std::string_view in, std::string& out);

// `raw` decoded: `raw` itself when it holds no '%' or '+', else its decoding written to `scratch`.
std::string_view decoded_view(std::string_view raw, std::string& scratch);

// True when `raw` decodes to exactly `decoded`. Avoids building a string for the common case of a
// key with nothing to decode.
bool decodes_to(std::string_view raw, std::string_view decoded);

// The query string without the arguments whose decoded name is `name` (what key-auth and
// oauth2-introspection forward when they hide a credential sent as a query argument).
std::string without_arg(std::string_view query, std::string_view name);

}  // namespace portico::filters
