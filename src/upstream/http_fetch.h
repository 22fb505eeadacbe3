// http_fetch: one HTTP/1.1 request to a URL and its whole response, as a coroutine on the calling
// thread's io_context. The client behind the gateway's own outbound calls that are not proxied
// traffic: JWKS downloads (control thread) and OAuth2 token introspection (workers).
//
// Contract
// - Runs on whatever executor awaits it (a worker's or the control thread's); never blocks the
//   thread; never throws. One connection per call, `Connection: close` (callers that fetch often
//   cache the results instead).
// - URL: `http://host[:port]/path?query` or `https://…`; host is an IPv4 / bracketed IPv6 literal
//   or a name resolved with the system resolver off the event loop's critical path (a name costs
//   one resolution per call; tests and hot callers use literals or cache).
// - https verifies the server's chain and name against `tls` (a client context made with
//   session::TlsContext::make_client); SNI is the URL's host unless it is an IP literal.
// - The whole exchange (resolve, connect, handshake, write, read) is bounded by `timeout`.
// - Responses: Content-Length, chunked or close-delimited bodies, at most `max_body_bytes`
//   (a larger body fails with "response body larger than N bytes"). 1xx heads are skipped.
// - Result: `ok` when a whole response was read (any status); otherwise `error` is a short
//   sentence for logs ("connect to 127.0.0.1:9 failed: Connection refused", "timed out after
//   2000 ms"), never containing request headers or body (they may hold credentials).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/task.h"
#include "session/tls.h"

namespace portico::upstream {

struct FetchRequest {
  std::string method = "GET";
  std::string url;
  // Host is added from the URL unless given here; Content-Length, Transfer-Encoding and Connection
  // given here are dropped (framing is the client's). A name that is not a token or a value with
  // control characters fails the call ("invalid request header", never echoing the header).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;                                           // sent with Content-Length when non-empty or method is POST
  std::chrono::milliseconds timeout{5000};
  size_t max_body_bytes = 1024 * 1024;
  std::shared_ptr<const session::TlsContext> tls;  // required for https:// (null → error)
};

struct FetchResponse {
  bool ok = false;
  std::string error;
  uint16_t status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names as received
  std::string body;
  // First value of a header, case-insensitive; empty when absent.
  std::string_view header(std::string_view name) const;
};

// Checks a URL's syntax as http_fetch accepts it (for config validation): empty on success,
// otherwise why not ("scheme must be http or https").
std::string check_fetch_url(std::string_view url);

runtime::Task<FetchResponse> http_fetch(FetchRequest request);

}  // namespace portico::upstream
