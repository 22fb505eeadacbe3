#include "codec/http1/field_rules.h"

#include "codec/http1/token.h"

namespace portico::codec::http1 {
namespace {

constexpr uint64_t kMaxContentLength = (uint64_t{1} << 63) - 1;

bool is_reg_name_char(char c) { return detail::has_class(c, detail::kRegNameChar); }

// reg-name = *( unreserved / pct-encoded / sub-delims ); IPv4address is a subset of it.
bool is_reg_name(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (!is_reg_name_char(c)) return false;
    if (c == '%') {
      if (i + 2 >= s.size() || !is_hex_digit(s[i + 1]) || !is_hex_digit(s[i + 2])) return false;
      i += 2;
    }
  }
  return true;
}

// IP-literal = "[" ( IPv6address / IPvFuture ) "]"; checking the alphabet is enough to keep
// the value from smuggling delimiters, and the router compares hosts as strings anyway.
bool is_ip_literal_body(std::string_view s) {
  if (s.empty()) return false;
  if (s[0] == 'v' || s[0] == 'V') {  // IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
    size_t i = 1;
    while (i < s.size() && is_hex_digit(s[i])) ++i;
    if (i == 1 || i >= s.size() || s[i] != '.' || i + 1 == s.size()) return false;
    for (++i; i < s.size(); ++i) {
      if (s[i] == '%' || (!is_reg_name_char(s[i]) && s[i] != ':')) return false;
    }
    return true;
  }
  for (char c : s) {
    if (!is_hex_digit(c) && c != ':' && c != '.') return false;
  }
  return true;
}

bool is_port(std::string_view s) {
  for (char c : s) {
    if (!is_digit(c)) return false;
  }
  return true;
}

void note_connection_token(std::string_view token, FieldFacts& facts) {
  if (iequals_lower_token(token, "close")) {
    facts.close = true;
  } else if (iequals_lower_token(token, "keep-alive")) {
    facts.keep_alive = true;
  } else if (iequals_lower_token(token, "upgrade")) {
    facts.upgrade = true;
  }
}

// #token list: empty elements are allowed and skipped (RFC 9110 §5.6.1.2).
ParseError parse_connection(std::string_view value, FieldFacts& facts,
                            std::vector<std::string_view>& tokens) {
  size_t i = 0;
  while (i <= value.size()) {
    size_t comma = value.find(',', i);
    if (comma == std::string_view::npos) comma = value.size();
    size_t b = i;
    size_t e = comma;
    while (b < e && is_ows(value[b])) ++b;
    while (e > b && is_ows(value[e - 1])) --e;
    if (e > b) {
      const std::string_view token = value.substr(b, e - b);
      if (!is_token(token)) return ParseError::kBadConnection;
      tokens.push_back(token);
      note_connection_token(token, facts);
    }
    i = comma + 1;
  }
  return ParseError::kNone;
}

}  // namespace

ParseError parse_content_length(std::string_view value, uint64_t& out) {
  if (value.empty()) return ParseError::kBadContentLength;
  uint64_t n = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (!is_digit(c)) {
      // Name the list case: "5, 5" is what a request smuggler tries first.
      return value.find(',') != std::string_view::npos ? ParseError::kContentLengthList
                                                       : ParseError::kBadContentLength;
    }
    const auto d = static_cast<uint64_t>(c - '0');
    if (n > (kMaxContentLength - d) / 10) {
      // Keep scanning so "99999999999999999999x" is reported as malformed, not as too large.
      for (size_t j = i + 1; j < value.size(); ++j) {
        if (!is_digit(value[j])) {
          return value.find(',') != std::string_view::npos ? ParseError::kContentLengthList
                                                           : ParseError::kBadContentLength;
        }
      }
      return ParseError::kContentLengthTooLarge;
    }
    n = n * 10 + d;
  }
  out = n;
  return ParseError::kNone;
}

bool is_valid_host(std::string_view value) {
  std::string_view host = value;
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    if (close == std::string_view::npos) return false;
    if (!is_ip_literal_body(host.substr(1, close - 1))) return false;
    const std::string_view rest = host.substr(close + 1);
    if (rest.empty()) return true;
    if (rest.front() != ':') return false;
    return is_port(rest.substr(1));
  }
  const size_t colon = host.find(':');
  if (colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
    if (!is_port(port)) return false;
    // "example.com:" (empty port) is RFC-valid, ":80" without a host is not.
    if (host.empty()) return false;
  }
  return is_reg_name(host);
}

ParseError inspect_fields(const std::vector<Header>& headers, bool is_request, FieldFacts& facts,
                          std::vector<std::string_view>& tokens) {
  for (const Header& h : headers) {
    // Dispatch on length first: most fields are rejected by one integer compare.
    switch (h.name.size()) {
      case 4:
        if (is_request && iequals_lower_token(h.name, "host")) {
          if (++facts.host_count > 1) return ParseError::kDuplicateHost;
          if (!is_valid_host(h.value)) return ParseError::kBadHost;
          facts.host = h.value;
        }
        break;
      case 6:
        if (is_request && iequals_lower_token(h.name, "expect")) {
          if (iequals(h.value, "100-continue")) {
            facts.expect_continue = true;
          } else {
            facts.unknown_expect = true;
          }
        }
        break;
      case 10:
        if (iequals_lower_token(h.name, "connection")) {
          const ParseError e = parse_connection(h.value, facts, tokens);
          if (e != ParseError::kNone) return e;
        }
        break;
      case 14:
        if (iequals_lower_token(h.name, "content-length")) {
          if (++facts.content_length_count > 1) return ParseError::kDuplicateContentLength;
          const ParseError e = parse_content_length(h.value, facts.content_length);
          if (e != ParseError::kNone) return e;
        }
        break;
      case 17:
        if (iequals_lower_token(h.name, "transfer-encoding")) {
          // Only a single final "chunked" is unambiguous; lists, repeats and other codings are
          // where front-end and back-end parsers disagree on the body length.
          if (++facts.transfer_encoding_count > 1) return ParseError::kBadTransferEncoding;
          if (!iequals(h.value, "chunked")) return ParseError::kBadTransferEncoding;
        }
        break;
      default:
        break;
    }
  }
  return ParseError::kNone;
}

}  // namespace portico::codec::http1
