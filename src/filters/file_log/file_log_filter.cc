#include "filters/file_log/file_log_filter.h"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <iterator>
#include <utility>

#include "core/object_reader.h"
#include "filters/request_termination/query_args.h"

namespace portico::filters {
namespace {

using observability::append_json_escaped;
using observability::append_json_string;

// Kong's top-level fields, in the order written; a custom field of the same name replaces one.
constexpr std::array<std::string_view, 9> kTopLevel = {"request", "response", "latencies", "client_ip", "started_at",
                                                      "route",   "service",  "consumer",  "upstream"};

// Credentials never reach the log: Authorization and cookies, and key-auth's default key names
// (`apikey`, which Kong also accepts as a query argument, and `x-api-key`).
bool redacted(std::string_view name) {
  return http::iequals(name, "authorization") || http::iequals(name, "proxy-authorization") ||
         http::iequals(name, "cookie") || http::iequals(name, "set-cookie") ||
         http::iequals(name, "apikey") || http::iequals(name, "x-api-key");
}

// A query argument whose value is a credential (decoded name compared case-sensitively, as the
// plugins look them up): key-auth's default key names, jwt's default `jwt`, and the OAuth2
// `access_token` (oauth2-introspection).
bool redacted_arg(std::string_view raw_key) {
  return decodes_to(raw_key, "apikey") || decodes_to(raw_key, "x-api-key") || decodes_to(raw_key, "jwt") ||
         decodes_to(raw_key, "access_token");
}

// The query string as JSON-escaped text, with credential values replaced by REDACTED.
void append_redacted_query(std::string& out, std::string_view query) {
  bool first = true;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view segment = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (!first) out += '&';
    first = false;
    const size_t eq = segment.find('=');
    if (eq != std::string_view::npos && redacted_arg(segment.substr(0, eq))) {
      append_json_escaped(out, segment.substr(0, eq + 1));
      out += "REDACTED";
    } else {
      append_json_escaped(out, segment);
    }
  }
}

void append_lower(std::string& out, std::string_view name) {
  for (char c : name) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

// {"name": "value" | ["v1", "v2"], ...} with lower-case names (Kong's shape).
void append_headers(std::string& out, const http::HeaderMap& headers) {
  out += '{';
  bool first = true;
  for (size_t i = 0; i < headers.size(); ++i) {
    const auto& f = headers[i];
    bool seen = false;
    for (size_t j = 0; j < i && !seen; ++j) seen = http::iequals(headers[j].name, f.name);
    if (seen) continue;
    if (!first) out += ',';
    first = false;
    out += '"';
    append_lower(out, f.name);
    out += "\":";
    const size_t count = headers.count(f.name);
    if (count > 1) out += '[';
    bool first_value = true;
    for (size_t j = i; j < headers.size(); ++j) {
      if (!http::iequals(headers[j].name, f.name)) continue;
      if (!first_value) out += ',';
      first_value = false;
      append_json_string(out, redacted(f.name) ? std::string_view("REDACTED") : headers[j].value);
    }
    if (count > 1) out += ']';
  }
  out += '}';
}

// Kong's querystring map: decoded keys; a key without '=' is true; a repeated key an array.
void append_querystring(std::string& out, std::string_view query) {
  out += '{';
  bool first = true;
  std::string key;
  std::string value;
  std::vector<std::string> done;
  for_each_query_arg(query, [&](std::string_view raw_key, std::string_view, bool) {
    key.clear();
    url_decode(raw_key, key);
    for (const auto& d : done) {
      if (d == key) return;
    }
    done.push_back(key);
    // Every value of this key, in order.
    std::vector<std::pair<bool, std::string>> values;
    for_each_query_arg(query, [&](std::string_view k, std::string_view v, bool has_value) {
      if (!decodes_to(k, key)) return;
      value.clear();
      if (has_value && redacted_arg(k)) {
        value = "REDACTED";
      } else {
        url_decode(v, value);
      }
      values.emplace_back(has_value, value);
    });
    if (!first) out += ',';
    first = false;
    append_json_string(out, key);
    out += ':';
    if (values.size() > 1) out += '[';
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out += ',';
      if (values[i].first) {
        append_json_string(out, values[i].second);
      } else {
        out += "true";
      }
    }
    if (values.size() > 1) out += ']';
  });
  out += '}';
}

}  // namespace

std::shared_ptr<const filter::Filter> FileLogFilter::create(const core::ConfigNode* node, const std::string& path,
                                                            core::ConfigErrors& errors) {
  if (node == nullptr) {
    errors.add(core::ConfigError{"", {}, path, "file-log needs config.path (the file to append to)"});
    return nullptr;
  }
  const size_t errors_before = errors.count();
  core::ObjectReader reader(*node, path, errors);
  std::string file;
  bool reopen = false;
  reader.require("path");
  if (reader.get("path", file)) {
    // Kong's pattern: no *, &, %, ` (nor control characters).
    bool ok = !file.empty();
    for (char c : file) ok = ok && c != '*' && c != '&' && c != '%' && c != '`' && static_cast<unsigned char>(c) >= 0x20;
    if (!ok) reader.error("path", "not a valid filename: \"" + file + "\" (must not be empty nor contain *, &, %, `)");
  }
  reader.get("reopen", reopen);
  filter::LogFields custom;
  if (reader.has("custom_fields_by_lua")) {
    const core::ConfigNode* lua = reader.child("custom_fields_by_lua");
    if (lua && !lua->is_null() && !(lua->is_map() && lua->empty())) {
      reader.error("custom_fields_by_lua",
                   "Portico runs no Lua: use custom_fields, a map of field name to template (e.g. "
                   "{tenant: \"${header.x-tenant}\"}), see \"Log fields\" in the configuration reference");
    }
  }
  if (const core::ConfigNode* fields = reader.map("custom_fields")) {
    custom.read(*fields, reader.path_of("custom_fields"), errors);
  }
  reader.finish();
  if (errors.count() != errors_before) return nullptr;
  return std::make_shared<FileLogFilter>(std::move(file), reopen, std::move(custom));
}

FileLogFilter::FileLogFilter(std::string path, bool reopen, filter::LogFields custom_fields)
    : path_(std::move(path)), reopen_(reopen), custom_fields_(std::move(custom_fields)) {
  static_assert(kTopLevel.size() <= sizeof(skip_) / sizeof(skip_[0]));
  for (size_t i = 0; i < kTopLevel.size(); ++i) skip_[i] = custom_fields_.has_key(kTopLevel[i]);
}

observability::AccessLog& FileLogFilter::destination() const {
  observability::AccessLog* d = destination_.load(std::memory_order_acquire);
  if (!d) {
    d = &observability::log_destination(path_, reopen_);
    destination_.store(d, std::memory_order_release);
  }
  return *d;
}

void FileLogFilter::append_line(const filter::Exchange& x, std::string& out) const {
  const size_t start = out.size();
  const auto& t = x.timings;
  const auto& rq = x.request;
  auto member = [&](size_t index) {
    if (skip_[index]) return false;
    out += ',';
    append_json_string(out, kTopLevel[index]);
    out += ':';
    return true;
  };
  if (member(0)) {
    out += "{\"method\":";
    append_json_string(out, rq.method);
    out += ",\"uri\":\"";
    append_json_escaped(out, rq.path);
    if (rq.has_query) {
      out += '?';
      append_redacted_query(out, rq.query);
    }
    out += "\",\"url\":\"";
    append_json_escaped(out, rq.scheme);
    out += "://";
    append_json_escaped(out, rq.host);
    append_json_escaped(out, rq.path);
    if (rq.has_query) {
      out += '?';
      append_redacted_query(out, rq.query);
    }
    fmt::format_to(std::back_inserter(out), "\",\"size\":{},\"querystring\":", x.bytes_received);
    append_querystring(out, rq.query);
    out += ",\"headers\":";
    append_headers(out, rq.headers);
    out += ",\"id\":";
    append_json_string(out, rq.request_id);
    out += '}';
  }
  if (member(1)) {
    fmt::format_to(std::back_inserter(out), "{{\"status\":{},\"size\":{},\"headers\":", x.status_sent, x.bytes_sent);
    append_headers(out, x.response.status != 0 ? x.response.headers : x.reply.headers);
    out += '}';
  }
  if (member(2)) {
    // Kong's split: proxy = the upstream's time to answer, receive = the response's transfer,
    // kong = the rest (plugins, balancing, connecting); the three add up to request.
    const filter::Latencies l = filter::latencies_of(t);
    fmt::format_to(std::back_inserter(out), "{{\"request\":{:.3f},\"kong\":{:.3f},\"proxy\":{:.3f},\"receive\":{:.3f}}}",
                   l.total, l.gateway + l.connect, l.upstream, l.receive);
  }
  if (member(3)) append_json_string(out, rq.client_ip);
  if (member(4)) fmt::format_to(std::back_inserter(out), "{}", filter::LogFields::started_at_ms(t));
  if (member(5)) {
    out += "{\"name\":";
    append_json_string(out, x.route_name);
    out += '}';
  }
  if (member(6)) {
    out += "{\"name\":";
    append_json_string(out, x.service_name);
    out += '}';
  }
  if (!x.consumer_id.empty() && member(7)) {
    out += "{\"id\":";
    append_json_string(out, x.consumer_id);
    out += '}';
  }
  if (member(8)) {
    out += "{\"address\":";
    append_json_string(out, x.upstream_address);
    fmt::format_to(std::back_inserter(out), ",\"attempts\":{}}}", x.upstream_attempts);
  }
  custom_fields_.append_members(x, out);
  if (out.size() > start) {
    out[start] = '{';
  } else {
    out += '{';
  }
  out += "}\n";
}

void FileLogFilter::on_log(filter::Exchange& exchange) const {
  observability::AccessLog& log = destination();
  append_line(exchange, observability::thread_log_buffer(log));
  observability::thread_log_line_done(log);
}

}  // namespace portico::filters
