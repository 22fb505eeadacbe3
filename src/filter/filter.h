// Filter: one configured plugin instance, compiled once per snapshot.
//
// Contract: constructed on the control thread while a snapshot compiles; afterwards immutable and
// shared by every worker (hooks are const and must not keep per-request state in the object; use
// the Exchange). Hooks run on a worker thread, in the phase order
//   on_request → on_upstream_request → on_response → wrap_response_body → on_log.
// A hook returns a ready Verdict unless it must wait; then it returns a Task that the core awaits.
// `phases()` declares which hooks the filter implements, so the compiled chain holds only those.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "filter/exchange.h"
#include "filter/verdict.h"

namespace portico::filter {

enum Phase : uint32_t {
  kOnRequest = 1u << 0,
  kOnUpstreamRequest = 1u << 1,
  kOnResponse = 1u << 2,
  kWrapResponseBody = 1u << 3,
  kOnLog = 1u << 4,
};

// A streamed transformation of the response body. Created per request by wrap_response_body();
// the core feeds each body span and sends whatever is appended to `out`.
class BodyTransform {
 public:
  virtual ~BodyTransform() = default;
  virtual void on_data(std::string_view in, std::string& out) = 0;
  virtual void on_end(std::string& out) = 0;
};

class Filter {
 public:
  virtual ~Filter() = default;

  virtual uint32_t phases() const = 0;
  virtual Step on_request(Exchange&) const { return Verdict::next(); }
  virtual Step on_upstream_request(Exchange&) const { return Verdict::next(); }
  virtual Step on_response(Exchange&) const { return Verdict::next(); }
  // Returns null when this response needs no transformation. A non-null transform makes the core
  // drop Content-Length and send the body chunked.
  virtual std::unique_ptr<BodyTransform> wrap_response_body(Exchange&) const { return nullptr; }
  virtual void on_log(Exchange&) const {}
};

}  // namespace portico::filter
