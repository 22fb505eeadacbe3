// Field value checks shared by the Kong schema readers (internal to src/config).
//
// Contract: pure functions, no allocation beyond their results. The check_* functions return an
// empty string when the value is valid, else a user-facing message that quotes the value and says
// what is expected (the caller adds file:line:column and the path).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/model.h"

namespace portico::config {

// 8-4-4-4-12 hex digits, any case (Kong accepts any UUID version).
bool is_uuid(std::string_view text);
std::string check_uuid(std::string_view text);

// Kong's utf8_name: letters, digits, '.', '-', '_', '~' and any non-ASCII UTF-8 character.
std::string check_name(std::string_view text);
// Kong tags: non-empty, printable, no ',' and no whitespace.
std::string check_tag(std::string_view text);

// A service host: hostname, IPv4 or IPv6 address. Brackets around IPv6 are removed from `host`.
std::string check_service_host(std::string& host);
// A service path: starts with '/', RFC 3986 path characters, no empty segments' effects checked
// beyond that, no query or fragment.
std::string check_service_path(std::string_view path);

// A route host: hostname[:port] with at most one wildcard label at the start (*.example.com) or
// at the end (example.*), IPv4, or [IPv6][:port]. Lower-cases `host` in place.
std::string check_route_host(std::string& host);
// A route path: "/prefix" (RFC 3986 path characters, valid %-escapes) or "~regex" (non-empty;
// the router compiles it).
std::string check_route_path(std::string_view path);
// An HTTP method: upper-case letters only, as Kong requires.
std::string check_method(std::string_view method);

struct ServiceUrl {
  std::string protocol;
  std::string host;
  std::optional<uint16_t> port;
  std::string path;
};
// Kong's `url` shorthand: scheme://host[:port][/path]; no credentials, query or fragment.
std::string parse_service_url(std::string_view url, ServiceUrl& out);

// IP literals (IPv6 without brackets).
bool is_ipv4(std::string_view text);
bool is_ipv6(std::string_view text);

// "IPv4:port" or "[IPv6]:port"; port 0..65535 (0 = ephemeral); then optional flags separated by
// spaces (Kong's form): `ssl` sets Listen::ssl, any other flag is an error.
std::string parse_listen(std::string_view text, Listen& out);

}  // namespace portico::config
