// Exchange: everything one request carries through the filter chain.
//
// Contract: created and used on one worker. The proxy owns it and reuses it for the next request
// on the same connection (clear() keeps capacity). Filters may read and change `request` (in the
// request phases), `response` (in on_response) and fill `reply` to answer locally. Views stored here
// must outlive the exchange: copy request-scoped text with `request.headers.own()`.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "filter/trace_record.h"
#include "http/message.h"

namespace portico::session {
class PeerCertificate;
}  // namespace portico::session

namespace portico::filter {

class ConsumerDirectory;

struct Timings {
  core::MonoTime start{};            // head fully read
  core::MonoTime upstream_start{};   // filters done, upstream selection begins
  core::MonoTime connect_start{};    // the last attempt began a new connection (unset: pooled)
  core::MonoTime connected{};        // upstream connection ready (pooled or new)
  core::MonoTime first_byte{};       // upstream response head received
  core::MonoTime end{};              // last byte written to the client
  double filter_ms = 0;              // time spent in request + response filter phases
  double request_filters_ms = 0;     // of which: request phases (on_request, on_upstream_request)
  double response_filters_ms = 0;    // of which: response phases (on_response)
};

// Where a request's time went; the parts add up to `total` (all milliseconds):
//   total = gateway + connect + upstream + receive
// - upstream: waiting for the upstream's response head once the connection was ready
//   (sending the request included); 0 when the upstream was not reached.
// - connect: establishing the last attempt's new connection (TCP and TLS); 0 when pooled.
// - receive: from the upstream's response head to the last byte written to the client.
// - gateway: everything else: plugins, routing, balancing, waiting for a pooled connection,
//   earlier failed attempts and retry back-off, and local replies.
struct Latencies {
  double total = 0;
  double gateway = 0;
  double connect = 0;
  double upstream = 0;
  double receive = 0;
};
// `now` stands for the end when the response is still being sent (response headers).
Latencies latencies_of(const Timings& t, core::MonoTime now = {});

class Exchange {
 public:
  explicit Exchange(boost::asio::any_io_executor ex) : executor_(std::move(ex)) {}

  http::Request request;
  http::Response response;
  http::LocalReply reply;

  std::string_view route_name;    // empty when no route matched
  // Named captures of the matched route's regex path (name → value, views into the route and the
  // request path), e.g. `~/users/(?P<id>\d+)` gives {"id", "42"}. Empty for prefix routes.
  std::vector<std::pair<std::string_view, std::string_view>> uri_captures;
  std::string_view service_name;
  // Who the request authenticated as, set by authentication filters in on_request (views into the
  // snapshot's consumers and credentials, which outlive the request). Empty when anonymous. Read by
  // `hash_on: consumer`: the consumer's id, else the credential's id (Kong's order).
  std::string_view consumer_id;
  std::string_view credential_id;
  // Index of the consumer in the snapshot's config (-1 = anonymous). An authentication filter
  // sets it with consumer_id; the proxy then switches to the chain with that consumer's plugins.
  int consumer_index = -1;
  // The consumers and credentials of the snapshot this request runs with (set by the proxy before
  // any filter runs; null in hand-built exchanges without one). See filter/consumer_directory.h.
  const ConsumerDirectory* consumers = nullptr;
  // True when consumer_index is a plugin's `anonymous` consumer (no credential was presented).
  bool anonymous_consumer = false;
  // The client certificate of the downstream TLS connection (session/tls.h), owned by the
  // connection and set by the proxy before any filter runs; null on plaintext connections. Checks
  // that verify it (mtls-auth) keep their verdicts there, so keep-alive requests verify once.
  session::PeerCertificate* peer_certificate = nullptr;
  // A per-request limit on the request body (bytes; 0 = none) that the proxy's body streaming
  // honours on top of limits.max_body_bytes: set by request-size-limiting.
  uint64_t max_body_bytes = 0;
  // Fields a request-phase filter adds to whatever answer the client gets, the upstream's
  // response or a local reply (Kong's kong.response.set_header in the access phase): e.g. the
  // rate limiter's X-RateLimit-* headers. The proxy adds them before the response filters run.
  http::HeaderMap response_fields;
  std::string upstream_address;   // "ip:port" of the last attempt, for logs
  uint32_t upstream_attempts = 0; // attempts on an upstream target (1 + retries), for logs
  uint16_t status_sent = 0;
  // For per-request metrics (observability/metrics.h), set by the proxy with route_name: the
  // matched route's index in the configuration the request runs with, and that configuration's
  // identity (its address). -1 / null when no route matched.
  int32_t route_index = -1;
  const void* config_key = nullptr;
  bool answered_by_filter = false;  // a request filter answered (Kong: kong.response.exit)
  uint64_t bytes_received = 0;    // request bytes from the client (head + body)
  uint64_t bytes_sent = 0;        // response bytes to the client (head + body)
  Timings timings;
  // Tracing state (filter/trace_record.h): started by a tracing filter, filled by the core.
  TraceRecord trace;

  const boost::asio::any_io_executor& executor() const { return executor_; }

  void clear() {
    request.clear();
    response.clear();
    reply.clear();
    route_name = service_name = {};
    consumer_id = credential_id = {};
    consumer_index = -1;
    consumers = nullptr;
    anonymous_consumer = false;
    peer_certificate = nullptr;
    max_body_bytes = 0;
    response_fields.clear();
    uri_captures.clear();
    upstream_address.clear();
    upstream_attempts = 0;
    status_sent = 0;
    route_index = -1;
    config_key = nullptr;
    answered_by_filter = false;
    bytes_received = bytes_sent = 0;
    timings = {};
    trace.clear();
  }

 private:
  boost::asio::any_io_executor executor_;
};

}  // namespace portico::filter
