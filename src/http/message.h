// Request / Response: the message model filters see and change.
//
// Contract: owned by one exchange on one worker. String views point into the connection's read
// buffer (stable while the exchange runs), into the snapshot (config text), or into a HeaderMap
// arena (see header_map.h). Filters change the request before it is sent upstream and the response
// before its head is written; the core serialises whatever is here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "http/header_map.h"

namespace portico::http {

struct Request {
  std::string_view method;
  std::string_view path;    // decoded form is not kept: this is the raw path of the target
  std::string_view query;   // without '?'; empty when absent
  bool has_query = false;
  uint8_t version_minor = 1;
  HeaderMap headers;        // end-to-end fields only once the core has stripped hop-by-hop ones
  std::string_view host;    // Host header value as sent (may include a port)
  std::string_view scheme = "http";  // "https" on a TLS listener
  std::string_view sni;               // TLS: the server name the client sent (lower-case), or empty
  std::string_view client_ip;   // textual address of the peer
  uint16_t client_port = 0;
  uint16_t server_port = 0;     // the local port the request arrived on
  std::string_view request_id;
  bool has_body = false;        // Content-Length > 0 or chunked
  bool chunked = false;
  uint64_t content_length = 0;  // when !chunked

  void clear() {
    method = path = query = host = request_id = {};
    has_query = has_body = chunked = false;
    content_length = 0;
    headers.clear();
  }
};

struct Response {
  uint16_t status = 0;
  std::string_view reason;
  HeaderMap headers;
  void clear() {
    status = 0;
    reason = {};
    headers.clear();
  }
};

// A reply the gateway produces itself (filters answering locally, proxy errors).
struct LocalReply {
  uint16_t status = 0;
  std::string content_type;
  std::string body;
  HeaderMap headers;  // extra fields

  void clear() {
    status = 0;
    content_type.clear();
    body.clear();
    headers.clear();
  }
  bool active() const { return status != 0; }
};

// Kong's error body shape: {"message":"..."} with JSON escaping of `message`.
std::string json_message(std::string_view message);
void set_json_error(LocalReply& reply, uint16_t status, std::string_view message);

}  // namespace portico::http
