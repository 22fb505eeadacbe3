#pragma once
// A raw HTTP/1.1 test client: one TCP connection, bytes out exactly as the test wrote them,
// responses read with a small strict-enough reader (Content-Length, chunked + trailers,
// read-until-close, HEAD/1xx/204/304 without body). Pipelining works: unread bytes stay
// buffered for the next read_response().
//
// Contract: every read has an inactivity timeout; failures come back in Response::error.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/wire.h"

namespace portico::integration {

struct Response {
  std::string error;                  // empty when a whole response was read
  std::string version;
  int status = 0;
  std::string reason;
  Headers headers;
  Body body;
  std::string raw_head;
  std::vector<int> informational;     // 1xx statuses skipped before this response

  bool ok() const { return error.empty(); }
  std::optional<std::string> header(std::string_view name) const { return find_header(headers, name); }
  bool has_header(std::string_view name) const { return header(name).has_value(); }
  std::size_t header_count(std::string_view name) const { return find_headers(headers, name).size(); }
  const std::string& text() const { return body.data; }
  // One-line summary for assertion messages.
  std::string describe() const;
};

struct ReadOptions {
  bool head_request = false;          // the request was HEAD: no body whatever the headers say
  Millis timeout{5000};               // inactivity timeout for each wait
  std::size_t store_limit = 16 << 20; // body bytes kept in Response::body.data
  bool stop_at_informational = false; // return a 1xx as the response instead of skipping it
};

// Builds a request: start line, Host (unless given), the headers, Content-Length when a body
// is given (unless Content-Length or Transfer-Encoding is given), then the body verbatim.
std::string http_request(std::string_view method, std::string_view target, const Headers& headers = {},
                         std::string_view body = {}, std::string_view host = "localhost");
// Chunk-encodes `body` in pieces of `chunk` bytes with optional trailers.
std::string chunked(std::string_view body, std::size_t chunk, const Headers& trailers = {});

class Client {
 public:
  // Connects to 127.0.0.1:port; throws std::runtime_error with errno text on failure.
  explicit Client(std::uint16_t port, Millis timeout = Millis{3000});
  // Returns nullopt and sets *err (errno) if the connection fails (e.g. ECONNREFUSED).
  static std::optional<Client> try_connect(std::uint16_t port, Millis timeout, int* err = nullptr);

  Client(Client&&) = default;
  Client& operator=(Client&&) = default;

  // False (with *status) if the peer closed/reset or the write timed out.
  bool send(std::string_view data, Millis timeout = Millis{5000}, IoStatus* status = nullptr);
  // Sends `data` in pieces of `piece` bytes, each its own write (TCP_NODELAY is on).
  bool send_in_pieces(std::string_view data, std::size_t piece, Millis timeout = Millis{5000});

  Response read_response(const ReadOptions& options = {});
  // send + read_response.
  Response request(std::string_view raw, const ReadOptions& options = {});

  // Waits until the peer closes (EOF or RST). Bytes that arrive meanwhile are kept in the
  // buffer. False if the connection is still open after `timeout`.
  bool wait_closed(Millis timeout);
  // True if, right now, the peer has not closed and has sent nothing unread.
  bool idle_and_open();
  // Reads everything until the peer closes, or the timeout; returns buffered + read bytes.
  std::string read_until_close(Millis timeout, bool* closed = nullptr);
  std::string& buffered() { return sock_.buffer(); }

  void close() { sock_.close(); }
  void reset() { sock_.reset(); }
  void shutdown_write() { sock_.shutdown_write(); }
  int fd() const { return sock_.fd(); }

 private:
  explicit Client(Socket sock) : sock_(std::move(sock)) {}
  Socket sock_;
};

// One request on a fresh connection.
Response fetch(std::uint16_t port, std::string_view raw, const ReadOptions& options = {});

// True if a TCP connect to 127.0.0.1:port is refused right now.
bool connection_refused(std::uint16_t port);

// A port on 127.0.0.1 that had a listener a moment ago and has none now.
std::uint16_t closed_port();

// One GET with `Connection: close` over IPv6 to [::1]:port; the status, or -1.
int status_over_ipv6(std::uint16_t port, std::string_view path);

}  // namespace portico::integration
