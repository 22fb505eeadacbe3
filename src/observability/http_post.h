// HttpPoster: a minimal blocking HTTP/1.1 client for the span exporter's thread: POST a body to
// one http:// URL over a kept-alive connection, with connect, send and read timeouts.
//
// Contract: used by one thread only (the exporter's); every call may block up to the sum of its
// timeouts, which is why it never runs on a worker. A connection the server closed while idle is
// detected on the next post and reopened once; any other failure returns false with `error` set
// and closes the connection. Responses may be Content-Length, chunked or close-delimited (parsed
// by codec/http1's ResponseParser and BodyDecoder); their bodies are read and discarded.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "observability/span_exporter.h"

namespace portico::observability {

struct HttpTimeouts {
  std::chrono::milliseconds connect{1000};
  std::chrono::milliseconds send{5000};
  std::chrono::milliseconds read{5000};
};

class HttpPoster {
 public:
  HttpPoster() = default;
  ~HttpPoster() { close(); }
  HttpPoster(const HttpPoster&) = delete;
  HttpPoster& operator=(const HttpPoster&) = delete;

  // True when a whole response was read (its status in `status`, whatever it is).
  bool post(const HttpUrl& url, std::string_view content_type,
            const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body,
            const HttpTimeouts& timeouts, int& status, std::string& error);
  void close();

 private:
  enum class Outcome { kOk, kFailed, kStale };
  // Sends head then body (one gathered write where the socket takes it) and reads the response.
  Outcome attempt(const HttpUrl& url, std::string_view request_head, std::string_view body,
                  const HttpTimeouts& timeouts, bool reused, int& status, std::string& error);
  bool connect(const HttpUrl& url, std::chrono::milliseconds timeout, std::string& error);

  int fd_ = -1;
  std::string head_;  // the request head, rebuilt per post in one buffer
};

}  // namespace portico::observability
