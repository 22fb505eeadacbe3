#include "filters/header_ops.h"

#include <utility>

#include "codec/http1/token.h"

namespace portico::filters {

bool is_kong_header_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

namespace {

using codec::http1::is_field_value;
using codec::http1::is_token;

constexpr std::string_view kHost = "host";

std::string_view op_name(HeaderOps::Kind kind) {
  switch (kind) {
    case HeaderOps::Kind::kRemove: return "remove";
    case HeaderOps::Kind::kRename: return "rename";
    case HeaderOps::Kind::kReplace: return "replace";
    case HeaderOps::Kind::kAdd: return "add";
    case HeaderOps::Kind::kAppend: return "append";
  }
  return "";
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string bad_name(std::string_view name) {
  return "'" + std::string(name) +
         "' is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)";
}

std::string host_elsewhere(HeaderOps::Kind kind) {
  return "the Host header cannot be used in " + std::string(op_name(kind)) +
         ".headers (Kong ignores it there); change it with replace.headers";
}

// Splits "name:value" the way Kong's transformers do (pattern `^([^:]+):*(.-)$`): the name ends at
// the first colon and every colon right after it is skipped. Returns false without a colon or name.
bool split_pair(std::string_view entry, std::string_view& name, std::string_view& value) {
  size_t colon = entry.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  name = entry.substr(0, colon);
  size_t rest = colon;
  while (rest < entry.size() && entry[rest] == ':') ++rest;
  value = entry.substr(rest);
  return true;
}

// Validates one list item; returns an empty string when it is fine, else the error message.
std::string check_entry(HeaderOps::Kind kind, const HeaderOps::Options& options,
                        std::string_view entry, HeaderOps::Entry& out) {
  using Kind = HeaderOps::Kind;
  if (kind == Kind::kRemove) {
    std::string_view name = trim_ows(entry);
    if (!is_token(name)) return bad_name(name);
    if (options.host_only_in_replace && http::iequals(name, kHost)) return host_elsewhere(kind);
    out.name = name;
    return {};
  }

  std::string_view name, value;
  if (!split_pair(entry, name, value)) {
    return kind == Kind::kRename
               ? "'" + std::string(entry) + "' is not an 'old-name:new-name' pair"
               : "'" + std::string(entry) + "' is not a 'name:value' pair";
  }
  name = trim_ows(name);
  // A receiver strips whitespace around a field value anyway; dropping it here keeps the value a
  // valid field-value, which must not start or end with SP/HTAB.
  value = trim_ows(value);
  if (!is_token(name)) return bad_name(name);

  if (kind == Kind::kRename) {
    if (value.empty()) return "'" + std::string(entry) + "' has no new name";
    if (!is_token(value)) return bad_name(value);
    if (options.host_only_in_replace && http::iequals(name, kHost)) return host_elsewhere(kind);
  } else {
    if (value.empty()) {
      return "'" + std::string(entry) +
             "' has an empty value (Kong skips such entries); give a value or remove the entry";
    }
    if (!is_field_value(value)) {
      return "the value of header '" + std::string(name) +
             "' contains a control character (only visible characters, spaces and tabs are "
             "allowed)";
    }
    if (options.reject_templates && value.find("$(") != std::string_view::npos) {
      return "the value of header '" + std::string(name) +
             "' uses a template $(...), which is not supported yet";
    }
    if (options.host_only_in_replace && kind != Kind::kReplace && http::iequals(name, kHost)) {
      return host_elsewhere(kind);
    }
  }
  out.name = name;
  out.value = value;
  return {};
}

}  // namespace

void HeaderOps::read(core::ObjectReader& op, Kind kind, const Options& options) {
  std::vector<std::string> items;
  if (!op.get("headers", items)) return;
  // get() succeeded, so the key is present and holds a list: its items carry the marks.
  const core::ConfigNode& list = *op.node().find("headers");
  std::string list_path = op.path_of("headers");
  for (size_t i = 0; i < items.size(); ++i) {
    Entry entry;
    std::string error = check_entry(kind, options, items[i], entry);
    if (!error.empty()) {
      op.errors().add(list[i], core::path_index(list_path, i), std::move(error));
      continue;
    }
    switch (kind) {
      case Kind::kRemove: remove_.push_back(std::move(entry.name)); break;
      case Kind::kRename: rename_.push_back(std::move(entry)); break;
      case Kind::kReplace: replace_.push_back(std::move(entry)); break;
      case Kind::kAdd: add_.push_back(std::move(entry)); break;
      case Kind::kAppend: append_.push_back(std::move(entry)); break;
    }
  }
}

void HeaderOps::apply(http::HeaderMap& headers) const {
  for (const auto& name : remove_) headers.remove(name);
  for (const auto& [from, to] : rename_) {
    if (!headers.contains(from)) continue;
    // Kong sets the new name to the old values, so whatever the new name held before is replaced.
    if (!http::iequals(from, to)) headers.remove(to);
    headers.rename(from, to);
  }
  for (const auto& [name, value] : replace_) {
    if (headers.contains(name)) headers.set(name, value);
  }
  for (const auto& [name, value] : add_) {
    if (!headers.contains(name)) headers.add(name, value);
  }
  for (const auto& [name, value] : append_) headers.add(name, value);
}

void reject_unless_default(core::ObjectReader& reader, std::string_view key,
                           std::string_view message) {
  const core::ConfigNode* value = reader.child(key);
  if (value == nullptr) return;
  bool is_default = (value->is_sequence() || value->is_map()) ? value->empty()
                                                               : value->scalar().empty();
  if (!is_default) reader.error(key, std::string(message));
}

}  // namespace portico::filters
