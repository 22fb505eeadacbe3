// Test access to RouteTable's linear reference matcher (a friend of RouteTable).
#pragma once

#include "router/route_table.h"

namespace portico::router {

struct RouteTableTestPeer {
  static Match linear(const RouteTable& t, std::string_view method, std::string_view host,
                      std::string_view path, const http::HeaderMap& headers,
                      std::string_view sni = {}) {
    return t.match_linear(method, host, path, headers, sni);
  }
};

}  // namespace portico::router
