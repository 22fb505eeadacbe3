#pragma once
// A real HTTP/1.1 origin server for integration tests, on 127.0.0.1:0.
//
// Threads: one accept thread (poll on the listener and a wake pipe) plus one thread per
// connection (blocking I/O with poll). Each connection serves requests in order with keep-alive
// until the peer closes, the request says close, or the handler asks to close. Every request is
// recorded (complete or not); the handler runs on the connection's thread and may run
// concurrently for different connections. The destructor stops everything: it wakes blocked
// readers with shutdown(), interrupts delays, and joins all threads.
//
// TLS mode (UpstreamTls): each accepted connection first completes a TLS handshake (blocking,
// on its own thread); a relay thread then moves bytes between the TLS connection and one end of
// a socketpair whose other end the usual request loop serves, so handlers work unchanged. The
// server name the client sent is recorded with every request. A handler's RST becomes a TLS
// close over TLS (the relay cannot reset the TCP connection for it).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "harness/wire.h"

namespace portico::integration {

struct RecordedRequest {
  std::uint64_t connection_id = 0;   // 1, 2, ... in accept order
  std::size_t index_on_connection = 0;
  std::string raw_head;
  std::string method;
  std::string target;
  std::string version;
  Headers headers;
  Body body;                          // data capped by Upstream::set_store_limit
  bool complete = false;              // head and body fully received
  bool tls = false;                   // came over TLS (UpstreamTls)
  std::string tls_sni;                // the server name the client sent, empty when none
  std::string tls_client_subject;     // the client certificate's subject, empty when none

  std::optional<std::string> header(std::string_view name) const {
    return find_header(headers, name);
  }
  std::size_t header_count(std::string_view name) const { return find_headers(headers, name).size(); }
};

struct UpstreamResponse {
  int status = 200;
  std::string reason;                 // default: standard phrase
  Headers headers;
  std::string body;
  // kContentLength adds Content-Length unless `headers` has one; kChunked adds
  // Transfer-Encoding: chunked; kUntilClose adds nothing and closes after the body; kNone adds
  // nothing and sends no body (204/304, or hand-made framing via `headers`).
  Framing framing = Framing::kContentLength;
  std::uint64_t generated_body_size = 0;  // > 0: send pattern(0, n) instead of `body`
  std::size_t chunk_size = 16384;         // chunked: size of each chunk
  Headers trailers;                       // chunked only
  Millis delay{0};                        // before sending anything
  bool close_after = false;               // close the connection after this response
  bool announce_close = true;             // with close_after: send Connection: close
  bool close_without_answer = false;      // read the request, then close silently
  bool reset_without_answer = false;      // read the request, then RST
  std::optional<std::uint64_t> reset_after_body_bytes;  // send head + n body bytes, then RST
  std::string raw;                        // non-empty: send exactly these bytes instead
};

using UpstreamHandler = std::function<UpstreamResponse(const RecordedRequest&)>;

struct UpstreamTls {
  std::string cert_pem;  // server certificate (leaf first) and key
  std::string key_pem;
  std::string client_ca_pem;         // non-empty: ask for a client certificate signed by it
  bool require_client_cert = false;  // with client_ca_pem: refuse clients without one
};

// A handler answering 200 with `body` to every request, after `delay`.
UpstreamHandler answer_with(std::string body, Millis delay = Millis{0});

class Upstream {
 public:
  Upstream();  // listens and starts serving; default handler answers 200 "ok"
  // Listens on another loopback address (e.g. "127.0.0.2") and/or a given port (0 = any).
  Upstream(const std::string& ipv4, std::uint16_t port);
  // Serves HTTPS on 127.0.0.1:port (0 = any).
  explicit Upstream(const UpstreamTls& tls, std::uint16_t port = 0);
  ~Upstream();
  Upstream(const Upstream&) = delete;
  Upstream& operator=(const Upstream&) = delete;

  std::uint16_t port() const { return port_; }
  void set_handler(UpstreamHandler handler);
  // Bytes of request body kept per request (the hash and size always cover all of it).
  void set_store_limit(std::size_t bytes) { store_limit_ = bytes; }
  // Answer "Expect: 100-continue" with an interim 100 before reading the body (default true).
  void set_send_100_continue(bool on) { send_100_ = on; }

  std::vector<RecordedRequest> requests() const;
  std::size_t request_count() const;
  // Polls until at least n requests have been recorded; false on timeout.
  bool wait_for_requests(std::size_t n, Millis timeout) const;
  std::uint64_t connections_accepted() const { return accepted_; }
  std::uint64_t connections_closed() const { return closed_; }
  bool wait_for_connections_closed(std::uint64_t n, Millis timeout) const;
  // Total bytes read from all connections.
  std::uint64_t bytes_received() const { return bytes_received_; }
  // Total response bytes written to all connections (grows as a streamed body is sent).
  std::uint64_t bytes_sent() const { return bytes_sent_; }
  // Stops accepting and closes every connection (also done by the destructor).
  void stop();
  // TLS mode: handshakes that failed (bad client certificate, client gave up, ...).
  std::uint64_t tls_handshake_failures() const { return tls_failures_; }

 private:
  struct Conn {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void accept_loop();
  struct TlsInfo {
    std::string sni;
    std::string client_subject;
  };
  void serve(int fd, std::uint64_t id, Conn* conn, const TlsInfo* tls = nullptr);
  void serve_tls(int fd, std::uint64_t id, Conn* conn);
  void start(const std::string& ipv4, std::uint16_t port);
  bool wait_or_stop(Millis delay);
  void record(RecordedRequest req);

  std::uint16_t port_ = 0;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> closed_{0};
  std::atomic<std::uint64_t> bytes_received_{0};
  std::atomic<std::uint64_t> bytes_sent_{0};
  std::atomic<std::size_t> store_limit_{1 << 20};
  std::atomic<bool> send_100_{true};
  std::atomic<std::uint64_t> tls_failures_{0};
  void* tls_ctx_ = nullptr;  // SSL_CTX in TLS mode

  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  std::shared_ptr<const UpstreamHandler> handler_;
  std::vector<RecordedRequest> requests_;
  std::list<Conn> conns_;
  std::map<std::uint64_t, int> open_fds_;
};

}  // namespace portico::integration
