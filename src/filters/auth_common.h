// Shared pieces of the authentication and access plugins (key-auth, basic-auth, acl,
// ip-restriction, request-size-limiting): Kong's `anonymous` fallback, refusals with Kong's JSON
// body, and their counters.
//
// Contract: called on a worker from on_request; no allocation beyond the reply body.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/object_reader.h"
#include "filter/exchange.h"
#include "filter/verdict.h"
#include "observability/worker_stats.h"

namespace portico::filters {

// acl and ip-restriction (Kong's entity check): `allow` or `deny` must hold something. Records
// the error at `node` (at `path` alone when the plugin has no config at all).
void allow_or_deny_required(const core::ConfigNode* node, const std::string& path, core::ConfigErrors& errors);

// Reads Kong's `anonymous` (a consumer id or username; null or "" = none). Whether it names a
// consumer is checked when the snapshot compiles (config/snapshot.cc).
void read_anonymous(core::ObjectReader& reader, std::string& out);

// True when a plugin configured with `anonymous` has nothing to do: an earlier authentication
// plugin already identified the request with a credential (Kong's logical OR of auth plugins).
inline bool already_authenticated(const filter::Exchange& x) {
  return x.consumer_index >= 0 && !x.anonymous_consumer;
}

// Authenticates the request as the `anonymous` consumer. False (and a 500 reply) when the
// consumer is unknown, which compile-time validation makes unreachable in practice.
bool authenticate_anonymous(filter::Exchange& x, std::string_view anonymous);

// Removes the query arguments whose decoded name is `name` from the request (hide_credentials for
// a credential sent as a query argument). Views into the old query stay valid: the new one is a
// fresh copy owned by the request.
void hide_query_arg(http::Request& r, std::string_view name);

// Answers `status` with {"message": message} (and WWW-Authenticate when given), counted under
// plugin/reason in /status.
filter::Verdict refuse(filter::Exchange& x, uint16_t status, std::string_view message,
                       std::string_view www_authenticate, observability::AuthPlugin plugin,
                       observability::AuthReason reason);

}  // namespace portico::filters
