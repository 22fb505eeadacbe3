// A micro-benchmark more than a test: loads a generated Kong file of 100,000 routes (~10 MB) and
// prints the time, so regressions are visible in the test log. It asserts correctness, never
// speed (machines differ); Debug builds use a tenth of the size to keep the suite quick.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <ctime>

#include "test_util.h"

namespace portico::config::testing {
namespace {

#ifdef NDEBUG
constexpr int kRoutes = 100000;
#else
constexpr int kRoutes = 10000;
#endif
constexpr int kServices = 1000;

std::string generate() {
  std::string text = "_format_version: \"3.0\"\nservices:\n";
  text.reserve(static_cast<size_t>(kRoutes) * 110);
  for (int s = 0; s < kServices; ++s) {
    text += "  - name: svc-" + std::to_string(s) + "\n    url: http://backend-" +
            std::to_string(s) + ".internal:8080\n";
  }
  text += "routes:\n";
  for (int r = 0; r < kRoutes; ++r) {
    std::string n = std::to_string(r);
    text += "  - name: route-" + n + "\n    service: svc-" + std::to_string(r % kServices) +
            "\n    paths: [/api/v1/items-" + n + "]\n    methods: [GET, POST]\n";
  }
  text += "plugins:\n  - name: prometheus\n";
  return text;
}

TEST(LargeConfig, HundredThousandRoutes) {
  std::string text = generate();
  auto start = std::chrono::steady_clock::now();
  std::clock_t cpu_start = std::clock();
  LoadResult result = load_string(text, "large.yaml");
  double cpu_ms = 1000.0 * static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  auto elapsed =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
  ASSERT_TRUE(result.ok()) << result.errors.to_string();
  ASSERT_EQ(result.config->routes.size(), static_cast<size_t>(kRoutes));
  EXPECT_EQ(result.config->routes.back().service, (kRoutes - 1) % kServices);
  // CPU time is the steadier number on a busy machine.
  std::printf("[ bench    ] %d routes, %.1f MB: loaded in %.0f ms (%.0f ms CPU)\n", kRoutes,
              static_cast<double>(text.size()) / 1e6, elapsed.count(), cpu_ms);
}

}  // namespace
}  // namespace portico::config::testing
