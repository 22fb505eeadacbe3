// Path normalisation through the real gateway: routing and the upstream both see the normalised
// path, so no encoding or dot-segment trick reaches a route (or an upstream resource) that the
// normalised path would not select; malformed paths are refused with 400.

#include <gtest/gtest.h>

#include <memory>

#include "harness/client.h"
#include "harness/gateway.h"
#include "harness/json_body.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

class NormalizationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto* up : {&public_, &private_}) {
      Upstream* self = up;
      up->set_handler([self, this](const RecordedRequest&) {
        UpstreamResponse r;
        r.body = self == &public_ ? "public" : "private";
        return r;
      });
    }
    gw_ = std::make_unique<Gateway>(config_prelude() + render(R"(
services:
  - name: public
    url: http://127.0.0.1:{{PUB}}
    routes:
      - name: public
        paths: ["/public"]
        strip_path: false
  - name: private
    url: http://127.0.0.1:{{PRIV}}
    routes:
      - name: private
        paths: ["/private"]
        strip_path: false
)",
                                                               {{"PUB", std::to_string(public_.port())},
                                                                {"PRIV", std::to_string(private_.port())}}));
  }

  // Which upstream answered, and the target it was sent.
  std::pair<std::string, std::string> route_of(const std::string& target) {
    Response r = fetch(gw_->port(), http_request("GET", target));
    EXPECT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.status, 200) << target << ": " << r.describe();
    Upstream& up = r.text() == "public" ? public_ : private_;
    auto reqs = up.requests();
    return {r.text(), reqs.empty() ? std::string() : reqs.back().target};
  }

  Upstream public_;
  Upstream private_;
  std::unique_ptr<Gateway> gw_;
};

TEST_F(NormalizationTest, EncodedSlashIsNotASeparator) {
  auto [who, target] = route_of("/public/..%2fprivate");
  EXPECT_EQ(who, "public");
  EXPECT_EQ(target, "/public/..%2Fprivate");
}

TEST_F(NormalizationTest, EncodedDotSegmentsAreResolvedBeforeRouting) {
  auto [who, target] = route_of("/public/%2e%2e/private/x");
  EXPECT_EQ(who, "private");
  EXPECT_EQ(target, "/private/x") << "the upstream gets the path that was routed";
}

TEST_F(NormalizationTest, DuplicateSlashesAndDotsCollapse) {
  EXPECT_EQ(route_of("//private").first, "private");
  EXPECT_EQ(route_of("/private/./a/../b").second, "/private/b");
  EXPECT_EQ(route_of("/%70ublic/x").first, "public") << "%70 is an unreserved 'p'";
}

TEST_F(NormalizationTest, CaseSensitivePathsStaySeparate) {
  Response r = fetch(gw_->port(), http_request("GET", "/PRIVATE"));
  EXPECT_EQ(r.status, 404) << r.describe();
}

TEST_F(NormalizationTest, QueryIsNotNormalised) {
  auto [who, target] = route_of("/public/a/../b?x=/../y&z=%2e");
  EXPECT_EQ(who, "public");
  EXPECT_EQ(target, "/public/b?x=/../y&z=%2e");
}

TEST_F(NormalizationTest, BadEscapesAndNulAre400) {
  for (const char* target : {"/public/%zz", "/public/%4", "/public/a%00b"}) {
    Response r = fetch(gw_->port(), http_request("GET", target));
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.status, 400) << target << ": " << r.describe();
    EXPECT_TRUE(json_message(r.text()).has_value()) << r.text();
  }
  EXPECT_EQ(public_.request_count(), 0u);
  EXPECT_EQ(route_of("/public/ok").first, "public") << "the gateway still works";
}

}  // namespace
}  // namespace portico::integration
