#include "upstream/hash_policy.h"

#include "core/ascii.h"

namespace portico::upstream {
namespace {

using core::iequals;
constexpr auto trim = core::trim_ows;

// Joins every value `next` yields. The first value is returned as a view so the common single
// occurrence costs no copy; only a second occurrence touches `scratch`.
template <typename Next>
std::string_view join_all(Next&& next, std::string& scratch) {
  std::string_view first;
  bool joined = false;
  while (auto value = next()) {
    if (value->empty()) continue;
    if (first.empty() && !joined) {
      first = *value;
      continue;
    }
    if (!joined) {
      scratch.assign(first);
      joined = true;
    }
    scratch.push_back(',');
    scratch.append(*value);
  }
  return joined ? std::string_view(scratch) : first;
}

std::string_view header_values(std::span<const HeaderField> headers, std::string_view name,
                               std::string& scratch) {
  if (name.empty()) return {};
  size_t i = 0;
  auto next = [&]() -> std::optional<std::string_view> {
    for (; i < headers.size(); ++i) {
      if (iequals(headers[i].name, name)) return trim(headers[i++].value);
    }
    return std::nullopt;
  };
  return join_all(next, scratch);
}

std::string_view query_values(std::string_view query, std::string_view name, std::string& scratch) {
  if (name.empty()) return {};
  auto next = [&]() -> std::optional<std::string_view> {
    while (!query.empty()) {
      const size_t amp = query.find('&');
      std::string_view pair = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
      const size_t eq = pair.find('=');
      if (pair.substr(0, eq) != name) continue;
      return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    }
    return std::nullopt;
  };
  return join_all(next, scratch);
}

std::string_view capture_value(std::span<const HeaderField> captures, std::string_view name) {
  for (const HeaderField& capture : captures) {
    if (capture.name == name) return capture.value;
  }
  return {};
}

std::string_view cookie_value(std::span<const HeaderField> headers, std::string_view name) {
  if (name.empty()) return {};
  // HTTP/2 may split cookies over several Cookie fields (RFC 9113 8.2.3): look in each.
  for (const HeaderField& header : headers) {
    if (!iequals(header.name, "cookie")) continue;
    std::string_view value = find_cookie(header.value, name);
    if (!value.empty()) return value;
  }
  return {};
}

std::string_view key_for(HashOn source, const HashPolicy& policy, bool fallback,
                         const RequestFacts& facts, std::string& scratch) {
  switch (source) {
    case HashOn::kNone: return {};
    case HashOn::kConsumer: return facts.consumer_id;
    case HashOn::kIp: return facts.client_ip;
    case HashOn::kHeader:
      return header_values(facts.headers,
                           fallback ? policy.hash_fallback_header : policy.hash_on_header, scratch);
    case HashOn::kCookie: return cookie_value(facts.headers, policy.hash_on_cookie);
    case HashOn::kPath: return facts.path;
    case HashOn::kQueryArg:
      return query_values(facts.query,
                          fallback ? policy.hash_fallback_query_arg : policy.hash_on_query_arg,
                          scratch);
    case HashOn::kUriCapture:
      return capture_value(facts.uri_captures, fallback ? policy.hash_fallback_uri_capture
                                                        : policy.hash_on_uri_capture);
  }
  return {};
}

}  // namespace

std::optional<HashOn> parse_hash_on(std::string_view name) {
  if (name == "none") return HashOn::kNone;
  if (name == "consumer") return HashOn::kConsumer;
  if (name == "ip") return HashOn::kIp;
  if (name == "header") return HashOn::kHeader;
  if (name == "cookie") return HashOn::kCookie;
  if (name == "path") return HashOn::kPath;
  if (name == "query_arg") return HashOn::kQueryArg;
  if (name == "uri_capture") return HashOn::kUriCapture;
  return std::nullopt;
}

bool mints_cookie(const HashPolicy& policy) {
  return policy.hash_on == HashOn::kCookie || policy.hash_fallback == HashOn::kCookie;
}

void format_set_cookie(const HashPolicy& policy, std::string_view value, std::string& out) {
  static constexpr std::string_view kPath = "; Path=";
  static constexpr std::string_view kAttributes = "; SameSite=Lax; HttpOnly";
  const std::string_view path = policy.hash_on_cookie_path.empty() ? std::string_view("/")
                                                                    : policy.hash_on_cookie_path;
  out.clear();
  out.reserve(policy.hash_on_cookie.size() + 1 + value.size() + kPath.size() + path.size() +
              kAttributes.size());
  out.append(policy.hash_on_cookie);
  out.push_back('=');
  out.append(value);
  out.append(kPath);
  out.append(path);
  out.append(kAttributes);
}

std::string_view find_cookie(std::string_view cookie_header, std::string_view name) {
  while (!cookie_header.empty()) {
    const size_t semi = cookie_header.find(';');
    std::string_view pair = trim(cookie_header.substr(0, semi));
    cookie_header = semi == std::string_view::npos ? std::string_view{}
                                                   : cookie_header.substr(semi + 1);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos || trim(pair.substr(0, eq)) != name) continue;
    std::string_view value = trim(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    return value;
  }
  return {};
}

std::string_view select_hash_key(const HashPolicy& policy, const RequestFacts& facts,
                                 std::string& scratch) {
  std::string_view key = key_for(policy.hash_on, policy, false, facts, scratch);
  if (!key.empty() || policy.hash_on == HashOn::kNone) return key;
  return key_for(policy.hash_fallback, policy, true, facts, scratch);
}

}  // namespace portico::upstream
