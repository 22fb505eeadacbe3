// docs/portico.schema.json (the JSON Schema published for editors) lists exactly the fields the
// loader accepts, entity by entity: a field added to one and not the other fails here.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <fstream>
#include <set>
#include <sstream>

#include "test_util.h"

namespace portico::config {
namespace {

boost::json::value load_schema() {
  std::ifstream f(std::string(PORTICO_SOURCE_DIR) + "/docs/portico.schema.json");
  std::stringstream ss;
  ss << f.rdbuf();
  return boost::json::parse(ss.str());
}

std::set<std::string> schema_fields(const boost::json::object& props) {
  std::set<std::string> out;
  for (const auto& [k, v] : props) out.insert(std::string(k));
  return out;
}

// The loader's own list of known fields, from its "unknown field" error at `path`.
std::set<std::string> loader_fields(const core::ConfigErrors& errors, const std::string& path) {
  for (const auto& e : errors) {
    if (e.path != path) continue;
    auto at = e.message.find("expected one of: ");
    if (at == std::string::npos) continue;
    std::set<std::string> out;
    std::stringstream list(e.message.substr(at + 17));
    std::string item;
    while (std::getline(list, item, ',')) {
      while (!item.empty() && item.front() == ' ') item.erase(0, 1);
      out.insert(item);
    }
    return out;
  }
  ADD_FAILURE() << "no unknown-field error at " << path << ":\n" << errors.to_string();
  return {};
}

TEST(SchemaSync, EveryEntityListsTheLoadersFields) {
  auto schema = load_schema();
  const auto& root = schema.as_object();
  const auto& defs = root.at("$defs").as_object();
  LoadResult r = load_string(testing::text(R"(
_format_version: "3.0"
zz: 1
services:
  - {name: s, host: h, zz: 1}
routes:
  - {name: r, paths: ["/"], service: s, zz: 1}
consumers:
  - {username: u, zz: 1}
keyauth_credentials:
  - {key: k, consumer: u, zz: 1}
basicauth_credentials:
  - {username: b, password: p, consumer: u, zz: 1}
acls:
  - {group: g, consumer: u, zz: 1}
ca_certificates:
  - {cert: x, zz: 1}
certificates:
  - {cert: x, key: y, zz: 1}
upstreams:
  - name: up
    zz: 1
    targets:
      - {target: 1.2.3.4, zz: 1}
plugins:
  - {name: request-termination, zz: 1}
portico:
  zz: 1
  limits: {zz: 1}
  timeouts: {zz: 1}
  upstream_keepalive: {zz: 1}
)"),
                               "kong.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(loader_fields(r.errors, "zz"), schema_fields(root.at("properties").as_object()));
  EXPECT_EQ(loader_fields(r.errors, "services[0].zz"), schema_fields(defs.at("service").at("properties").as_object()));
  EXPECT_EQ(loader_fields(r.errors, "routes[0].zz"), schema_fields(defs.at("route").at("properties").as_object()));
  EXPECT_EQ(loader_fields(r.errors, "consumers[0].zz"), schema_fields(defs.at("consumer").at("properties").as_object()));
  EXPECT_EQ(loader_fields(r.errors, "upstreams[0].zz"), schema_fields(defs.at("upstream").at("properties").as_object()));
  EXPECT_EQ(loader_fields(r.errors, "keyauth_credentials[0].zz"),
            schema_fields(defs.at("keyauth_credential").at("properties").as_object()));
  EXPECT_EQ(loader_fields(r.errors, "basicauth_credentials[0].zz"),
            schema_fields(defs.at("basicauth_credential").at("properties").as_object()));
  EXPECT_EQ(loader_fields(r.errors, "acls[0].zz"), schema_fields(defs.at("acl").at("properties").as_object()));
  EXPECT_EQ(loader_fields(r.errors, "ca_certificates[0].zz"),
            schema_fields(defs.at("ca_certificate").at("properties").as_object()));
  EXPECT_EQ(loader_fields(r.errors, "certificates[0].zz"),
            schema_fields(defs.at("certificate").at("properties").as_object()));
  EXPECT_EQ(loader_fields(r.errors, "upstreams[0].targets[0].zz"),
            schema_fields(defs.at("upstream").at("properties").at("targets").at("items").at("properties").as_object()));
  // Top-level plugins also take `service`, which the loader lists only where it applies.
  auto plugin = schema_fields(defs.at("plugin").at("properties").as_object());
  auto loaded_plugin = loader_fields(r.errors, "plugins[0].zz");
  loaded_plugin.insert("service");
  EXPECT_EQ(loaded_plugin, plugin);
  const auto& portico = defs.at("portico").at("properties").as_object();
  EXPECT_EQ(loader_fields(r.errors, "portico.zz"), schema_fields(portico));
  for (const char* block : {"limits", "timeouts", "upstream_keepalive"}) {
    EXPECT_EQ(loader_fields(r.errors, std::string("portico.") + block + ".zz"),
              schema_fields(portico.at(block).at("properties").as_object()))
        << block;
  }
}

}  // namespace
}  // namespace portico::config
