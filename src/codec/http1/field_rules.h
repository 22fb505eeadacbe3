// Semantics of the few header fields that decide framing, routing and connection reuse
// (Content-Length, Transfer-Encoding, Host, Connection, Expect), shared by both parsers.
//
// Contract: internal to the codec; pure functions, no state, no allocation beyond appending to
// the caller's (capacity-reusing) token vector.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "codec/http1/message.h"

namespace portico::codec::http1 {

struct FieldFacts {
  uint32_t content_length_count = 0;
  uint64_t content_length = 0;
  uint32_t transfer_encoding_count = 0;  // > 0 only when it is exactly one "chunked"
  uint32_t host_count = 0;
  std::string_view host;
  bool close = false;
  bool keep_alive = false;
  bool upgrade = false;
  bool expect_continue = false;
  bool unknown_expect = false;
};

// Walks `headers` once, filling `facts` and appending every Connection element to `tokens`.
// Returns the first error in field order: duplicate/invalid Content-Length, Transfer-Encoding
// other than one exact "chunked", and (for requests) duplicate or invalid Host. Cross-field rules
// (CL with TE, missing Host, TE on HTTP/1.0) are the caller's, since they differ per direction.
ParseError inspect_fields(const std::vector<Header>& headers, bool is_request, FieldFacts& facts,
                          std::vector<std::string_view>& tokens);

// Content-Length = 1*DIGIT, at most 2^63-1.
ParseError parse_content_length(std::string_view value, uint64_t& out);

// Host = uri-host [ ":" port ] with uri-host = IP-literal / IPv4address / reg-name (RFC 3986).
// The empty value is valid (RFC 9112 §3.2: a target without authority is sent with empty Host).
bool is_valid_host(std::string_view value);

}  // namespace portico::codec::http1
