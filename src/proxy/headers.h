// Header rules the proxy applies in both directions.
#pragma once

#include <string_view>
#include <vector>

#include "http/header_map.h"

namespace portico::proxy {

inline constexpr std::string_view kServerToken = "portico/0.1.0";
inline constexpr std::string_view kViaToken = "1.1 portico";

// Hop-by-hop fields (RFC 9110 §7.6.1) plus the legacy ones proxies still see. They describe one
// connection and must never be forwarded; the proxy writes its own framing fields.
inline bool is_hop_by_hop(std::string_view name) {
  switch (name.size()) {
    case 2: return http::iequals(name, "te");
    case 7: return http::iequals(name, "trailer") || http::iequals(name, "upgrade");
    case 10: return http::iequals(name, "connection") || http::iequals(name, "keep-alive");
    case 16: return http::iequals(name, "proxy-connection");
    case 17: return http::iequals(name, "transfer-encoding");
    default: return false;
  }
}

inline bool iequals_any(std::string_view name, const std::vector<std::string_view>& list) {
  for (auto t : list) {
    if (http::iequals(name, t)) return true;
  }
  return false;
}

}  // namespace portico::proxy
