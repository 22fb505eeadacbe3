#include "config/validators.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>

namespace portico::config {
namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

// RFC 3986 pchar minus '%' (handled separately) plus '/': unreserved, sub-delims, ':', '@'.
bool is_path_char(char c) {
  constexpr std::string_view kPunctuation = "-._~!$&'()*+,;=:@/";
  return is_alpha(c) || is_digit(c) ||
         (c != '\0' && kPunctuation.find(c) != std::string_view::npos);
}

std::string printable(char c) {
  if (c == ' ') return "a space";
  if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
    return fmt::format("the control character 0x{:02x}", static_cast<unsigned char>(c));
  }
  if (static_cast<unsigned char>(c) >= 0x80) return "a non-ASCII character";
  return fmt::format("'{}'", c);
}

// Characters of a prefix/service path; `what` names the value in messages ("path", "url path").
std::string check_path_chars(std::string_view path, std::string_view what) {
  for (size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == '%') {
      if (i + 2 >= path.size() || !is_hex(path[i + 1]) || !is_hex(path[i + 2])) {
        return fmt::format(
            "{} \"{}\" has an invalid percent-escape at offset {} (expected %XX "
            "with two hex digits)",
            what, path, i);
      }
      i += 2;
      continue;
    }
    if (c == '?' || c == '#') {
      return fmt::format("{} \"{}\" must not contain a query or fragment ('?' or '#')", what, path);
    }
    if (!is_path_char(c)) {
      return fmt::format("{} \"{}\" contains {}, which must be percent-encoded", what, path,
                         printable(c));
    }
  }
  return {};
}

std::optional<uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  uint32_t port = 0;
  for (char c : text) {
    if (!is_digit(c)) return std::nullopt;
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port > 65535) return std::nullopt;
  return static_cast<uint16_t>(port);
}

bool looks_numeric(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return is_digit(c) || c == '.'; });
}

// RFC 1123 labels (underscores allowed, as in real-world service names), 1..63 chars each.
bool is_hostname(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = host.find('.', start);
    std::string_view label =
        host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_') return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::string check_plain_host(std::string_view host, std::string_view what) {
  if (host.empty()) return fmt::format("{} must not be empty", what);
  if (looks_numeric(host)) {
    if (is_ipv4(host)) return {};
    return fmt::format("{} \"{}\" is not a valid IPv4 address", what, host);
  }
  if (!is_hostname(host)) {
    return fmt::format(
        "{} \"{}\" is not a valid hostname (letters, digits, '-' and '_' in "
        "dot-separated labels of 1 to 63 characters)",
        what, host);
  }
  return {};
}

}  // namespace

bool is_ipv4(std::string_view text) {
  if (text.size() > 15) return false;
  in_addr addr;
  return inet_pton(AF_INET, std::string(text).c_str(), &addr) == 1;
}

bool is_ipv6(std::string_view text) {
  if (text.size() > 45) return false;
  in6_addr addr;
  return inet_pton(AF_INET6, std::string(text).c_str(), &addr) == 1;
}

bool is_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !is_hex(text[i])) return false;
  }
  return true;
}

std::string check_uuid(std::string_view text) {
  if (is_uuid(text)) return {};
  return fmt::format(
      "id \"{}\" is not a UUID (expected 8-4-4-4-12 hex digits, e.g. "
      "a1b2c3d4-0000-4000-8000-000000000001)",
      text);
}

std::string check_name(std::string_view text) {
  if (text.empty()) return "name must not be empty";
  for (char c : text) {
    bool ok = is_alpha(c) || is_digit(c) || c == '.' || c == '-' || c == '_' || c == '~' ||
              static_cast<unsigned char>(c) >= 0x80;
    if (!ok) {
      return fmt::format(
          "name \"{}\" contains {}; names may only contain letters, digits, '.', "
          "'-', '_' and '~'",
          text, printable(c));
    }
  }
  return {};
}

std::string check_tag(std::string_view text) {
  if (text.empty()) return "tag must not be empty";
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == ',' || c == ' ' || u < 0x20 || u == 0x7f) {
      return fmt::format("tag \"{}\" contains {}; tags may not contain ',' or whitespace", text,
                         printable(c));
    }
  }
  return {};
}

std::string check_service_host(std::string& host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (!is_ipv6(host)) return fmt::format("host \"[{}]\" is not a valid IPv6 address", host);
    return {};
  }
  if (host.find(':') != std::string::npos) {
    if (is_ipv6(host)) return {};
    return fmt::format("host \"{}\" must not contain a port; set 'port' instead", host);
  }
  return check_plain_host(host, "host");
}

std::string check_service_path(std::string_view path) {
  if (path.empty() || path.front() != '/') {
    return fmt::format("path \"{}\" must start with \"/\"", path);
  }
  return check_path_chars(path, "path");
}

std::string check_route_host(std::string& host) {
  std::transform(host.begin(), host.end(), host.begin(), lower);
  if (host.empty()) return "host must not be empty";
  std::string_view name = host;
  if (name.front() == '[') {
    size_t close = name.find(']');
    if (close == std::string_view::npos || !is_ipv6(name.substr(1, close - 1))) {
      return fmt::format("host \"{}\" is not a valid [IPv6] address", host);
    }
    std::string_view rest = name.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !parse_port(rest.substr(1)))) {
      return fmt::format("host \"{}\" has an invalid port (expected [IPv6]:0..65535)", host);
    }
    return {};
  }
  size_t colons = static_cast<size_t>(std::count(name.begin(), name.end(), ':'));
  if (colons > 1) {
    return fmt::format("host \"{}\": write IPv6 addresses in brackets, e.g. [::1]:8000", host);
  }
  if (colons == 1) {
    size_t colon = name.find(':');
    if (!parse_port(name.substr(colon + 1))) {
      return fmt::format("host \"{}\" has an invalid port (expected host:0..65535)", host);
    }
    name = name.substr(0, colon);
  }
  size_t stars = static_cast<size_t>(std::count(name.begin(), name.end(), '*'));
  std::string checked(name);
  if (stars > 1) {
    return fmt::format(
        "host \"{}\" has more than one wildcard; only one '*' is allowed, at the "
        "start (*.example.com) or the end (example.*)",
        host);
  }
  if (stars == 1) {
    if (name.size() > 2 && name.substr(0, 2) == "*.") {
      checked.front() = 'x';  // validate the wildcard label as an ordinary one
    } else if (name.size() > 2 && name.substr(name.size() - 2) == ".*") {
      checked.back() = 'x';
    } else {
      return fmt::format(
          "host \"{}\" has a misplaced wildcard; '*' must be a whole label at the "
          "start (*.example.com) or the end (example.*)",
          host);
    }
  }
  if (check_plain_host(checked, "host").empty()) return {};
  if (looks_numeric(checked)) return fmt::format("host \"{}\" is not a valid IPv4 address", host);
  return fmt::format(
      "host \"{}\" is not a valid hostname (letters, digits, '-' and '_' in "
      "dot-separated labels, optionally one wildcard label and a :port)",
      host);
}

std::string check_route_path(std::string_view path) {
  if (path.empty() || (path.front() != '/' && path.front() != '~')) {
    return fmt::format("path \"{}\" must start with \"/\" (prefix) or \"~\" (regex)", path);
  }
  if (path.front() == '~') {
    if (path.size() == 1) return "regex path \"~\" must have a pattern after '~'";
    return {};
  }
  return check_path_chars(path, "path");
}

std::string check_method(std::string_view method) {
  bool ok = !method.empty() &&
            std::all_of(method.begin(), method.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  if (ok) return {};
  return fmt::format("method \"{}\" must be upper-case letters, e.g. GET or POST", method);
}

std::string parse_service_url(std::string_view url, ServiceUrl& out) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) {
    return fmt::format(
        "url \"{}\" must look like scheme://host[:port][/path], e.g. "
        "http://orders.internal:8080/api",
        url);
  }
  std::string scheme(url.substr(0, scheme_end));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), lower);
  bool scheme_ok =
      is_alpha(scheme.front()) && std::all_of(scheme.begin(), scheme.end(), [](char c) {
        return is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.';
      });
  if (!scheme_ok) return fmt::format("url \"{}\" has an invalid scheme \"{}\"", url, scheme);
  std::string_view rest = url.substr(scheme_end + 3);
  size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view tail =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    return fmt::format("url \"{}\" must not contain credentials (user@host)", url);
  }
  if (tail.find_first_of("?#") != std::string_view::npos) {
    return fmt::format("url \"{}\" must not contain a query or fragment", url);
  }
  std::string host;
  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return fmt::format("url \"{}\" has an unterminated '[' in its host", url);
    }
    host = std::string(authority.substr(0, close + 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fmt::format("url \"{}\" has an invalid host", url);
      has_port = true;
      port_text = after.substr(1);
    }
  } else {
    size_t colon = authority.find(':');
    host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
  }
  if (host.empty()) return fmt::format("url \"{}\" has no host", url);
  if (has_port) {
    auto port = parse_port(port_text);
    if (!port) {
      return fmt::format("url \"{}\" has an invalid port \"{}\" (expected 0..65535)", url,
                         port_text);
    }
    out.port = *port;
  } else {
    out.port.reset();
  }
  if (std::string e = check_service_host(host); !e.empty()) {
    return fmt::format("url \"{}\": {}", url, e);
  }
  if (!tail.empty()) {
    if (std::string e = check_path_chars(tail, "path"); !e.empty()) {
      return fmt::format("url \"{}\": {}", url, e);
    }
  }
  out.protocol = std::move(scheme);
  out.host = std::move(host);
  out.path = std::string(tail);
  return {};
}

std::string parse_listen(std::string_view full, Listen& out) {
  // Kong's form: the address, then flags separated by spaces; Portico knows `ssl`.
  std::string_view text = full.substr(0, full.find(' '));
  out.ssl = false;
  for (size_t at = text.size(); at < full.size();) {
    size_t start = full.find_first_not_of(' ', at);
    if (start == std::string_view::npos) break;
    size_t end = full.find(' ', start);
    std::string_view flag = full.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    at = end == std::string_view::npos ? full.size() : end;
    if (flag == "ssl") {
      if (out.ssl) return fmt::format("listen address \"{}\": `ssl` is given twice", full);
      out.ssl = true;
    } else {
      return fmt::format(
          "listen address \"{}\": option \"{}\" is not supported (supported: ssl; http2, "
          "reuseport, proxy_protocol and the others are not yet)",
          full, flag);
    }
  }
  auto usage = [&] {
    return fmt::format("listen address \"{}\" must be IP:port, e.g. 0.0.0.0:8000 or [::1]:8000",
                       text);
  };
  std::string host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return usage();
    }
    host = std::string(text.substr(1, close - 1));
    if (!is_ipv6(host)) return fmt::format("listen address \"{}\": invalid IPv6 address", text);
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return usage();
    host = std::string(text.substr(0, colon));
    if (host.find(':') != std::string::npos) {
      return fmt::format("listen address \"{}\": write IPv6 addresses in brackets, e.g. [::]:8000",
                         text);
    }
    if (!is_ipv4(host)) {
      return fmt::format(
          "listen address \"{}\": \"{}\" is not an IPv4 address (hostnames are "
          "not accepted; use 0.0.0.0 or 127.0.0.1)",
          text, host);
    }
    port_text = text.substr(colon + 1);
  }
  auto port = parse_port(port_text);
  if (!port) {
    return fmt::format("listen address \"{}\" has an invalid port \"{}\" (expected 0..65535)", text,
                       port_text);
  }
  out.host = std::move(host);
  out.port = *port;
  return {};
}

}  // namespace portico::config
