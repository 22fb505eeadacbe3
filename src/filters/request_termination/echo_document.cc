#include "filters/request_termination/echo_document.h"

#include <vector>

#include "filters/request_termination/query_args.h"

namespace portico::filters {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

// Kong reports the host as nginx's $host: lower-case, without the port.
std::string host_without_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    if (close != std::string_view::npos) host = host.substr(0, close + 1);
  } else {
    size_t colon = host.rfind(':');
    if (colon != std::string_view::npos) host = host.substr(0, colon);
  }
  return to_lower(host);
}

// One JSON member whose value is a scalar when it occurs once and an array when repeated: how
// Kong (through nginx) reports repeated headers and query arguments.
struct Member {
  std::string name;
  struct Value {
    bool is_true;  // a query argument without '=' is reported as `true`
    std::string text;
  };
  std::vector<Value> values;
};

Member& member_for(std::vector<Member>& members, std::string name) {
  for (auto& m : members) {
    if (m.name == name) return m;
  }
  members.push_back(Member{std::move(name), {}});
  return members.back();
}

void append_value(std::string& out, const Member::Value& v) {
  if (v.is_true) {
    out += "true";
  } else {
    append_json_string(out, v.text);
  }
}

void append_members(std::string& out, const std::vector<Member>& members) {
  out += '{';
  bool first = true;
  for (const auto& m : members) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, m.name);
    out += ':';
    if (m.values.size() == 1) {
      append_value(out, m.values[0]);
      continue;
    }
    out += '[';
    for (size_t i = 0; i < m.values.size(); ++i) {
      if (i != 0) out += ',';
      append_value(out, m.values[i]);
    }
    out += ']';
  }
  out += '}';
}

void append_named(std::string& out, std::string_view key, std::string_view name) {
  append_json_string(out, key);
  out += ':';
  if (name.empty()) {
    out += "null";
    return;
  }
  out += "{\"name\":";
  append_json_string(out, name);
  out += '}';
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += "\\u00";
          out += kHex[u >> 4];
          out += kHex[u & 15];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void build_echo_document(const filter::Exchange& exchange, const std::string* message,
                         std::string& out) {
  const http::Request& request = exchange.request;

  std::vector<Member> headers;
  for (const auto& field : request.headers) {
    member_for(headers, to_lower(field.name)).values.push_back({false, std::string(field.value)});
  }

  std::vector<Member> query;
  for_each_query_arg(request.query, [&](std::string_view key, std::string_view value, bool has_value) {
    std::string decoded_key;
    url_decode(key, decoded_key);
    Member::Value v{!has_value, {}};
    if (has_value) url_decode(value, v.text);
    member_for(query, std::move(decoded_key)).values.push_back(std::move(v));
  });

  out.clear();
  out += '{';
  if (message != nullptr) {
    out += "\"message\":";
    append_json_string(out, *message);
    out += ',';
  }
  out += "\"request\":{\"scheme\":";
  append_json_string(out, request.scheme);
  out += ",\"host\":";
  append_json_string(out, host_without_port(request.host));
  out += ",\"port\":";
  out += std::to_string(request.server_port);
  out += ",\"method\":";
  append_json_string(out, request.method);
  out += ",\"path\":";
  append_json_string(out, request.path);
  out += ",\"headers\":";
  append_members(out, headers);
  out += ",\"query\":";
  append_members(out, query);
  out += ",\"uri_captures\":{\"named\":{";
  for (size_t i = 0; i < exchange.uri_captures.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, exchange.uri_captures[i].first);
    out += ':';
    append_json_string(out, exchange.uri_captures[i].second);
  }
  out += "}}},";
  append_named(out, "matched_route", exchange.route_name);
  out += ',';
  append_named(out, "matched_service", exchange.service_name);
  out += '}';
}

}  // namespace portico::filters
