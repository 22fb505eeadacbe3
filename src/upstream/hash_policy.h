// HashPolicy: which request fact feeds consistent hashing (Kong `upstreams[].hash_on`,
// `hash_fallback` and their `hash_on_*` / `hash_fallback_*` names).
//
// Contract: pure functions, any thread, no allocation unless a header or query argument occurs
// more than once (then the values are joined into the caller's scratch string) or a cookie is
// formatted (into the caller's string). select_hash_key() returns a view into `facts` or into
// `scratch`; it is valid while both are. An empty result means "no key": the primary source
// (hash_on) was tried first and, when it yielded nothing, the fallback (hash_fallback).
//  - When mints_cookie(policy) is true (hash_on or hash_fallback is `cookie`), an empty key is the
//    caller's cue to mint a value (Kong: a random UUID), hash on it and send it back with
//    format_set_cookie() on the response, so the client carries it from then on. That is also why
//    Kong's schema forbids a fallback after `cookie` (enforced by config validation, not here).
//  - Otherwise the caller balances without a key (see consistent_hash_balancer.h).
// `consumer` reads RequestFacts::consumer_id, which the proxy fills with the authenticated
// consumer's id, or the credential's id when there is no consumer (Kong's order).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace portico::upstream {

enum class HashOn { kNone, kConsumer, kIp, kHeader, kCookie, kPath, kQueryArg, kUriCapture };

// Kong's names: none, consumer, ip, header, cookie, path, query_arg, uri_capture.
std::optional<HashOn> parse_hash_on(std::string_view name);

struct HashPolicy {
  HashOn hash_on = HashOn::kNone;
  HashOn hash_fallback = HashOn::kNone;
  std::string hash_on_header;
  std::string hash_fallback_header;
  std::string hash_on_cookie;
  std::string hash_on_cookie_path = "/";  // Path attribute of a minted cookie
  std::string hash_on_query_arg;
  std::string hash_fallback_query_arg;
  std::string hash_on_uri_capture;
  std::string hash_fallback_uri_capture;
};

struct HeaderField {
  std::string_view name;
  std::string_view value;
};

// What the request offers; every view is borrowed from the request for the duration of the call.
struct RequestFacts {
  std::string_view client_ip;    // the forwarded-for-resolved client address, no port
  std::string_view path;         // request path without the query string
  std::string_view query;        // raw query string without '?'
  std::string_view consumer_id;  // authenticated consumer (or credential) id, empty when none
  std::span<const HeaderField> headers;       // request headers in arrival order
  std::span<const HeaderField> uri_captures;  // the matched route's named regex captures
};

// Key for `policy` from `facts`, falling back as described above.
//  - header: case-insensitive name; several occurrences are joined with ",".
//  - cookie: the named cookie from any Cookie header (names are case-sensitive, RFC 6265);
//    surrounding double quotes are removed.
//  - query_arg: raw (still percent-encoded) value; several occurrences are joined with ",";
//    an argument present without a value ("?a") yields no key.
std::string_view select_hash_key(const HashPolicy& policy, const RequestFacts& facts,
                                 std::string& scratch);

// True when a request that yields no key gets a cookie minted: hash_on or hash_fallback is `cookie`.
bool mints_cookie(const HashPolicy& policy);

// Writes the Set-Cookie field value for a minted `value` into `out` (replacing its content):
// "<hash_on_cookie>=<value>; Path=<hash_on_cookie_path>; SameSite=Lax; HttpOnly" (Kong's
// attributes; Kong spells the third one "Same-Site", which browsers ignore).
void format_set_cookie(const HashPolicy& policy, std::string_view value, std::string& out);

// Value of cookie `name` within one Cookie header value ("a=1; b=2"), empty when absent.
std::string_view find_cookie(std::string_view cookie_header, std::string_view name);

}  // namespace portico::upstream
