// `portico routes`: which route a request would take, and why, without sending traffic.
//
// Contract: runs in the CLI process (no workers). Loads and compiles the file exactly as `run`
// does (service hosts are not resolved), matches one described request and prints the route, the
// criteria that matched, the service, the request line and Host sent upstream, and the plugin
// chain in execution order. Returns the process exit code: 0 matched, 1 no route / config
// errors, 2 usage errors.
#pragma once

#include <string>
#include <vector>

namespace portico::server {

struct RouteQuery {
  std::string config_path;
  std::string request;               // "GET https://api.example.com/v1/orders?x=1" or "GET /path"
  std::vector<std::string> headers;  // "Name: value"
};

int explain_route(const RouteQuery& query);

}  // namespace portico::server
