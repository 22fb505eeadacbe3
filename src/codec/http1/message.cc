#include "codec/http1/message.h"

namespace portico::codec::http1 {

int status_for(ParseError e) {
  switch (e) {
    case ParseError::kNone:
      return 0;
    case ParseError::kUriTooLong:
      return 414;
    case ParseError::kHeadTooLarge:
    case ParseError::kTooManyHeaders:
    case ParseError::kTrailersTooLarge:
      return 431;
    case ParseError::kUnsupportedVersion:
      return 505;
    case ParseError::kBadStatusLine:
    case ParseError::kBadStatusCode:
      return 502;
    default:
      return 400;
  }
}

std::string_view describe(ParseError e) {
  switch (e) {
    case ParseError::kNone: return "no error";
    case ParseError::kTooManyEmptyLines: return "too many empty lines before the request line";
    case ParseError::kBadRequestLine: return "malformed request line";
    case ParseError::kBadMethod: return "invalid method";
    case ParseError::kBadTarget: return "invalid request target";
    case ParseError::kUriTooLong: return "request target too long";
    case ParseError::kBadVersion: return "malformed HTTP version";
    case ParseError::kUnsupportedVersion: return "unsupported HTTP version";
    case ParseError::kBadStatusLine: return "malformed status line";
    case ParseError::kBadStatusCode: return "invalid status code";
    case ParseError::kBareCr: return "CR not followed by LF";
    case ParseError::kBareLf: return "line ended by LF without CR";
    case ParseError::kObsFold: return "obsolete line folding";
    case ParseError::kEmptyHeaderName: return "empty header name";
    case ParseError::kBadHeaderName: return "invalid character in header name";
    case ParseError::kWhitespaceBeforeColon: return "whitespace between header name and colon";
    case ParseError::kMissingColon: return "header line without colon";
    case ParseError::kBadHeaderValue: return "invalid character in header value";
    case ParseError::kHeadTooLarge: return "header section too large";
    case ParseError::kTooManyHeaders: return "too many header fields";
    case ParseError::kMissingHost: return "missing Host header";
    case ParseError::kDuplicateHost: return "more than one Host header";
    case ParseError::kBadHost: return "invalid Host header";
    case ParseError::kBadContentLength: return "invalid Content-Length";
    case ParseError::kContentLengthList: return "Content-Length is a list";
    case ParseError::kContentLengthTooLarge: return "Content-Length too large";
    case ParseError::kDuplicateContentLength: return "more than one Content-Length header";
    case ParseError::kBadTransferEncoding: return "Transfer-Encoding other than chunked";
    case ParseError::kTransferEncodingOnHttp10: return "Transfer-Encoding in an HTTP/1.0 message";
    case ParseError::kContentLengthAndTransferEncoding:
      return "both Content-Length and Transfer-Encoding";
    case ParseError::kBadConnection: return "invalid Connection header";
    case ParseError::kBadChunkSize: return "invalid chunk size";
    case ParseError::kChunkSizeTooLarge: return "chunk size too large";
    case ParseError::kChunkLineTooLong: return "chunk size line too long";
    case ParseError::kBadChunkExtension: return "invalid chunk extension";
    case ParseError::kMissingChunkCrlf: return "chunk data not followed by CRLF";
    case ParseError::kTrailersTooLarge: return "trailer section too large";
  }
  return "unknown error";
}

void RequestHead::clear() {
  method = {};
  target = {};
  version_minor = 1;
  headers.clear();
  host = {};
  framing = Framing::kNone;
  content_length = 0;
  keep_alive = true;
  expect_continue = false;
  unknown_expect = false;
  has_upgrade = false;
  connection_tokens.clear();
}

void ResponseHead::clear() {
  status = 0;
  reason = {};
  version_minor = 1;
  headers.clear();
  framing = Framing::kNone;
  content_length = 0;
  keep_alive = true;
  connection_tokens.clear();
}

}  // namespace portico::codec::http1
