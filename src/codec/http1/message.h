// Vocabulary of the sans-I/O HTTP/1.1 codec (RFC 9112): parsed heads, framing, limits, errors.
//
// Contract:
// - Plain values; no thread-safety of their own (each belongs to one connection on one worker).
// - Every std::string_view in a parsed head points into the buffer the caller handed to the
//   parser; it stays valid only while that buffer is neither changed nor moved nor freed.
// - clear() resets a head to its defaults but keeps the vectors' capacity, so a connection that
//   reuses one head object does not allocate per message once warmed up.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace portico::codec::http1 {

struct Header {
  std::string_view name;   // as received (case preserved); a token
  std::string_view value;  // leading and trailing OWS removed; may be empty
};

// How the body that follows a head is delimited (RFC 9112 §6.3).
enum class Framing : uint8_t {
  kNone,           // no body at all
  kContentLength,  // exactly content_length bytes (may be 0)
  kChunked,        // Transfer-Encoding: chunked
  kUntilClose,     // responses only: the body ends when the upstream closes
};

struct Limits {
  uint32_t max_head_bytes = 64 * 1024;  // whole head incl. request/status line and final CRLF
  uint32_t max_headers = 100;           // field lines per head (and per trailer section)
  uint32_t max_uri_bytes = 8 * 1024;    // request-target length
};

// One enumerator per distinct cause, so stats and logs can say exactly why a message died.
enum class ParseError : uint8_t {
  kNone,
  // request line
  kTooManyEmptyLines,   // more empty lines before the request line than we skip
  kBadRequestLine,      // not `method SP target SP version CRLF` (extra/missing SP, tabs, ...)
  kBadMethod,           // method is not a token
  kBadTarget,           // target has a byte outside %x21-7E, or is not a request-target form
  kUriTooLong,          // target longer than Limits::max_uri_bytes (414)
  kBadVersion,          // version not of the form HTTP/DIGIT.DIGIT
  kUnsupportedVersion,  // well-formed but neither HTTP/1.0 nor HTTP/1.1 (505)
  // status line (responses only)
  kBadStatusLine,  // not `HTTP/1.x SP 3DIGIT [SP reason] CRLF`
  kBadStatusCode,  // status code not three digits in 100-999
  // line structure
  kBareCr,  // CR not followed by LF
  kBareLf,  // line ended by LF without CR
  // field lines
  kObsFold,                // a field line starting with SP/HTAB (obsolete line folding)
  kEmptyHeaderName,        // ":value"
  kBadHeaderName,          // a byte in the name that is not a tchar
  kWhitespaceBeforeColon,  // "Name : value"
  kMissingColon,           // a field line without ':'
  kBadHeaderValue,         // NUL or another CTL (except HTAB) or DEL in a value
  kHeadTooLarge,           // head longer than Limits::max_head_bytes (431)
  kTooManyHeaders,         // more than Limits::max_headers field lines (431)
  // field semantics
  kMissingHost,                        // HTTP/1.1 request without Host
  kDuplicateHost,                      // more than one Host field
  kBadHost,                            // Host is not uri-host [":" port]
  kBadContentLength,                   // Content-Length not 1*DIGIT (signs, spaces, empty, ...)
  kContentLengthList,                  // Content-Length "5, 5" (a list, even of equal values)
  kContentLengthTooLarge,              // Content-Length above 2^63-1
  kDuplicateContentLength,             // more than one Content-Length field, even equal
  kBadTransferEncoding,                // anything but one Transfer-Encoding field, exactly "chunked"
  kTransferEncodingOnHttp10,           // Transfer-Encoding in an HTTP/1.0 message
  kContentLengthAndTransferEncoding,   // both framing fields: the classic smuggling vector
  kBadConnection,                      // a Connection list element that is not a token
  // body (BodyDecoder)
  kBadChunkSize,          // chunk-size missing, not hex, or followed by junk
  kChunkSizeTooLarge,     // more than 16 hex digits
  kChunkLineTooLong,      // chunk-size line (with extensions) above 4 KiB
  kBadChunkExtension,     // chunk extension not `;name[=token|quoted-string]`
  kMissingChunkCrlf,      // chunk data not followed by CRLF
  kTrailersTooLarge,      // trailer section above max_head_bytes or max_headers (431)
};

enum class ParseStatus : uint8_t { kNeedMore, kComplete, kError };

// The status a server answers when a *request* fails with `e`: 400, 414, 431 or 505 (and 0 for
// kNone). Transfer codings other than chunked get 400, not 501: accepting the message framing
// of a coding we do not implement would be unsafe anyway, and 400 tells intermediaries not to
// retry. The response-only enumerators (kBadStatusLine, kBadStatusCode) map to 502. Any error
// from ResponseParser, whatever its enumerator, is answered by a proxy with
// kResponseErrorStatus: the client did nothing wrong.
int status_for(ParseError e);
inline constexpr int kResponseErrorStatus = 502;

// Short human-readable cause, e.g. "both Content-Length and Transfer-Encoding". Static storage.
std::string_view describe(ParseError e);

struct RequestHead {
  std::string_view method;
  std::string_view target;
  uint8_t version_minor = 1;   // 0 or 1
  std::vector<Header> headers;  // in received order
  std::string_view host;        // Host value; empty when absent (HTTP/1.0 only) or sent empty
  Framing framing = Framing::kNone;  // kNone, kContentLength or kChunked
  uint64_t content_length = 0;       // valid when framing == kContentLength
  bool keep_alive = true;            // version default, overridden by Connection close/keep-alive
  bool expect_continue = false;      // HTTP/1.1 and Expect: 100-continue
  bool unknown_expect = false;       // an Expect value other than 100-continue (server: 417)
  bool has_upgrade = false;          // Connection lists "upgrade"
  // Every element of every Connection field, OWS-trimmed, case as received (compare with
  // iequals); a proxy strips the fields these name (RFC 9110 §7.6.1).
  std::vector<std::string_view> connection_tokens;

  void clear();
};

struct ResponseHead {
  uint16_t status = 0;
  std::string_view reason;  // may be empty
  uint8_t version_minor = 1;
  std::vector<Header> headers;
  Framing framing = Framing::kNone;
  uint64_t content_length = 0;  // the Content-Length value when present (also for HEAD/304)
  bool keep_alive = true;       // false when the body is delimited by close
  std::vector<std::string_view> connection_tokens;

  void clear();
};

}  // namespace portico::codec::http1
