#include "filters/builtin.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "filter/chain.h"
#include "test_support.h"

namespace portico::filters {
namespace {

TEST(BuiltinPlugins, RegisteredUnderKongNamesAndPriorities) {
  const filter::Registry& registry = testing::builtin_registry();
  EXPECT_EQ(registry.names(),
            (std::vector<std::string>{"acl", "basic-auth", "correlation-id", "fault-injection",
                                      "file-log", "ip-restriction", "jwt", "key-auth", "mtls-auth", "oauth2-introspection", "opentelemetry",
                                      "prometheus", "rate-limiting", "request-size-limiting", "request-termination",
                                      "request-transformer", "response-transformer"}));
  EXPECT_EQ(registry.find("oauth2-introspection")->priority, 1700);
  EXPECT_EQ(registry.find("jwt")->priority, 1450);
  EXPECT_EQ(registry.find("mtls-auth")->priority, 1600);
  EXPECT_EQ(registry.find("key-auth")->priority, 1250);
  EXPECT_EQ(registry.find("basic-auth")->priority, 1100);
  EXPECT_EQ(registry.find("ip-restriction")->priority, 990);
  EXPECT_EQ(registry.find("request-size-limiting")->priority, 951);
  EXPECT_EQ(registry.find("acl")->priority, 950);
  EXPECT_EQ(registry.find("rate-limiting")->priority, 910);
  EXPECT_EQ(registry.find("opentelemetry")->priority, 14);
  EXPECT_EQ(registry.find("correlation-id")->priority, 100001);
  EXPECT_EQ(registry.find("request-termination")->priority, 2);
  EXPECT_EQ(registry.find("fault-injection")->priority, 3);
  EXPECT_EQ(registry.find("response-transformer")->priority, 800);
  EXPECT_EQ(registry.find("request-transformer")->priority, 801);
}

TEST(BuiltinPlugins, ChainRunsThemInPriorityOrder) {
  auto termination = testing::load_plugin("plugins:\n- name: request-termination\n");
  auto fault = testing::load_plugin(
      "plugins:\n- name: fault-injection\n  config: {abort: {http_status: 500}}\n");
  auto request = testing::load_plugin("plugins:\n- name: request-transformer\n");
  auto response = testing::load_plugin("plugins:\n- name: response-transformer\n");
  ASSERT_TRUE(termination.filter && fault.filter && request.filter && response.filter);

  filter::Chain chain({{termination.filter, termination.priority, "request-termination"},
                       {fault.filter, fault.priority, "fault-injection"},
                       {response.filter, response.priority, "response-transformer"},
                       {request.filter, request.priority, "request-transformer"}});
  EXPECT_EQ(chain.on_request(), (std::vector<const filter::Filter*>{
                                    request.filter.get(), fault.filter.get(),
                                    termination.filter.get()}));
  EXPECT_EQ(chain.on_response(), (std::vector<const filter::Filter*>{response.filter.get()}));
}

}  // namespace
}  // namespace portico::filters
