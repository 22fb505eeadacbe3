// Logs through the real gateway: `portico.access_log_fields` shapes the access log line; Kong's
// `file-log` plugin writes its own file in Kong's format with credentials redacted; SIGUSR1
// reopens both files after a rotation and no line is lost; a file that cannot be written costs
// nothing to the requests; the example examples/logging.yaml runs as documented; latency
// attribution: `portico.headers` (latency_tokens, server_timing) and the log's time split.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <sys/stat.h>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "harness/client.h"
#include "harness/gateway.h"
#include "harness/temp_dir.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

namespace json = boost::json;

std::vector<json::object> json_lines(const std::string& text) {
  std::vector<json::object> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    EXPECT_FALSE(ec) << line;
    if (!ec && v.is_object()) out.push_back(v.as_object());
  }
  return out;
}

size_t line_count(const std::string& path) { return json_lines(read_file(path)).size(); }

std::string logging_config(const Upstream& up, const std::string& dir, std::string_view file_log_extra = {}) {
  return render(R"(_format_version: "3.0"
portico:
  listen: ["127.0.0.1:0"]
  admin_listen: "127.0.0.1:0"
  workers: 2
  access_log: {{DIR}}/access.log
  access_log_fields:
    status: $status
    route: $route
    tenant: $header.x-tenant
    line: "$method $path -> $status"
    ms: $latency_ms
services:
  - name: s
    url: http://127.0.0.1:{{PORT}}
    routes:
      - name: logged
        paths: [/logged]
        plugins:
          - name: file-log
            config:
              path: {{DIR}}/file.log
              custom_fields: {tenant: $header.x-tenant}
{{EXTRA}}
      - name: quiet
        paths: [/quiet]
)",
                {{"DIR", dir}, {"PORT", std::to_string(up.port())}, {"EXTRA", std::string(file_log_extra)}});
}

TEST(LoggingTest, AccessLogFieldsAndFileLogLinesForEveryRequest) {
  Upstream up;
  TempDir dir;
  Gateway gw(logging_config(up, dir.path()));
  for (int i = 0; i < 5; ++i) {
    Response r = fetch(gw.port(), http_request("GET", "/logged?x=" + std::to_string(i),
                                               {{"X-Tenant", "acme"}, {"Authorization", "Bearer top-secret"}}));
    ASSERT_EQ(r.status, 200) << r.describe();
  }
  ASSERT_EQ(fetch(gw.port(), http_request("GET", "/quiet")).status, 200);
  ASSERT_EQ(fetch(gw.port(), http_request("GET", "/nowhere")).status, 404);
  ASSERT_TRUE(eventually([&] { return line_count(dir.file("access.log")) == 7 && line_count(dir.file("file.log")) == 5; }))
      << read_file(dir.file("access.log")) << "\n---\n" << read_file(dir.file("file.log"));

  auto access = json_lines(read_file(dir.file("access.log")));
  size_t logged = 0;
  for (const auto& o : access) {
    ASSERT_EQ(o.size(), 5u) << json::serialize(o);  // exactly the configured fields
    EXPECT_TRUE(o.at("ms").is_number());
    if (o.at("route").as_string() == "logged") {
      ++logged;
      EXPECT_EQ(o.at("status").as_int64(), 200);
      EXPECT_EQ(o.at("tenant").as_string(), "acme");
      EXPECT_EQ(std::string(o.at("line").as_string()).rfind("GET /logged -> 200", 0), 0u);
    }
  }
  EXPECT_EQ(logged, 5u);
  EXPECT_NE(read_file(dir.file("access.log")).find("\"status\":404"), std::string::npos);

  const std::string file_text = read_file(dir.file("file.log"));
  EXPECT_EQ(file_text.find("top-secret"), std::string::npos) << file_text;  // redacted
  for (const auto& o : json_lines(file_text)) {
    EXPECT_EQ(o.at("route").as_object().at("name").as_string(), "logged");
    EXPECT_EQ(o.at("service").as_object().at("name").as_string(), "s");
    EXPECT_EQ(o.at("response").as_object().at("status").as_int64(), 200);
    EXPECT_EQ(o.at("request").as_object().at("headers").as_object().at("authorization").as_string(), "REDACTED");
    EXPECT_EQ(o.at("tenant").as_string(), "acme");
    EXPECT_EQ(o.at("upstream").as_object().at("address").as_string(), "127.0.0.1:" + std::to_string(up.port()));
    const auto& lat = o.at("latencies").as_object();
    EXPECT_GE(lat.at("request").to_number<double>(), lat.at("proxy").to_number<double>());
  }
}

TEST(LoggingTest, Sigusr1ReopensLogFilesAfterARotationWithoutLosingLines) {
  Upstream up;
  TempDir dir;
  Gateway gw(logging_config(up, dir.path()));
  auto send = [&](int n) {
    for (int i = 0; i < n; ++i) ASSERT_EQ(fetch(gw.port(), http_request("GET", "/logged")).status, 200);
  };
  send(3);
  ASSERT_TRUE(eventually([&] { return line_count(dir.file("file.log")) == 3 && line_count(dir.file("access.log")) == 3; }));
  // logrotate's "move then signal".
  ASSERT_EQ(std::rename(dir.file("access.log").c_str(), dir.file("access.log.1").c_str()), 0);
  ASSERT_EQ(std::rename(dir.file("file.log").c_str(), dir.file("file.log.1").c_str()), 0);
  ASSERT_EQ(::kill(gw.pid(), SIGUSR1), 0);
  ASSERT_TRUE(eventually([&] { return gw.logs().find("SIGUSR1: reopening log files") != std::string::npos; }));
  send(4);
  ASSERT_TRUE(eventually([&] { return line_count(dir.file("file.log")) == 4 && line_count(dir.file("access.log")) == 4; }))
      << gw.logs();
  EXPECT_EQ(line_count(dir.file("file.log.1")), 3u);
  EXPECT_EQ(line_count(dir.file("access.log.1")), 3u);
  // The gateway still answers and shuts down cleanly.
  auto status = gw.stop();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->code, 0);
}

TEST(LoggingTest, ReopenTrueFollowsARotationWithoutASignal) {
  Upstream up;
  TempDir dir;
  Gateway gw(logging_config(up, dir.path(), "              reopen: true"));
  ASSERT_EQ(fetch(gw.port(), http_request("GET", "/logged")).status, 200);
  ASSERT_TRUE(eventually([&] { return line_count(dir.file("file.log")) == 1; }));
  ASSERT_EQ(std::rename(dir.file("file.log").c_str(), dir.file("file.log.1").c_str()), 0);
  ASSERT_EQ(fetch(gw.port(), http_request("GET", "/logged")).status, 200);
  ASSERT_TRUE(eventually([&] { return line_count(dir.file("file.log")) == 1; })) << gw.logs();
  EXPECT_EQ(line_count(dir.file("file.log.1")), 1u);
}

TEST(LoggingTest, AnUnwritableLogFileCostsTheRequestsNothing) {
  Upstream up;
  TempDir dir;
  // The file-log path is a directory: every write fails.
  std::string yaml = logging_config(up, dir.path());
  ASSERT_EQ(::mkdir(dir.file("file.log").c_str(), 0755), 0);
  Gateway gw(yaml);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(fetch(gw.port(), http_request("GET", "/logged")).status, 200);
  ASSERT_TRUE(eventually([&] { return gw.logs().find("cannot open log file " + dir.file("file.log")) != std::string::npos; }))
      << gw.logs();
  EXPECT_TRUE(eventually([&] { return line_count(dir.file("access.log")) == 20; }));
  EXPECT_TRUE(eventually([&] { return status_counter(gw, "log_plugin_write_errors") > 0; }));
}

TEST(LoggingTest, BadTemplatesAreConfigErrorsWithTheirPosition) {
  Upstream up;
  std::string yaml = logging_config(up, "/tmp");
  const std::string good = "tenant: $header.x-tenant\n    line";
  auto at = yaml.find(good);
  ASSERT_NE(at, std::string::npos);
  yaml.replace(at, std::string("tenant: $header.x-tenant").size(), "tenant: $header_x");
  auto check = Gateway::check(yaml, "logging.yaml");
  EXPECT_EQ(check.exit_code, 1) << check.err;
  EXPECT_NE(check.err.find("logging.yaml:10:13: portico.access_log_fields.tenant: unknown variable \"header_x\""),
            std::string::npos)
      << check.err;
}

TEST(LoggingTest, TheLoggingExampleRunsAsDocumented) {
  Upstream up;
  TempDir dir;
  std::string yaml = read_example("logging.yaml");
  ASSERT_FALSE(yaml.empty());
  for (auto [from, to] : {std::pair<std::string, std::string>{"/var/log/portico", dir.path()},
                          {"0.0.0.0:8000", "127.0.0.1:0"},
                          {"url: http://127.0.0.1:9000", "url: http://127.0.0.1:" + std::to_string(up.port())}}) {
    for (size_t at = yaml.find(from); at != std::string::npos; at = yaml.find(from, at + to.size())) yaml.replace(at, from.size(), to);
  }
  Gateway gw(yaml);
  ASSERT_EQ(fetch(gw.port(), http_request("GET", "/orders/1", {{"X-Tenant", "t1"}})).status, 200);
  ASSERT_TRUE(eventually([&] { return line_count(dir.file("orders.log")) == 1 && line_count(dir.file("access.log")) == 1; }));
  auto access = json_lines(read_file(dir.file("access.log")));
  EXPECT_EQ(access[0].at("tenant").as_string(), "t1");
  EXPECT_EQ(access[0].at("request").as_string(), "GET /orders/1");
  EXPECT_EQ(json_lines(read_file(dir.file("orders.log")))[0].at("tenant").as_string(), "t1");
}

// Server-Timing's `name;dur=x` entries.
std::map<std::string, double> server_timing(const std::string& value) {
  std::map<std::string, double> out;
  std::istringstream in(value);
  std::string item;
  while (std::getline(in, item, ',')) {
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    auto semi = item.find(";dur=");
    if (semi == std::string::npos) continue;
    out[item.substr(0, semi)] = std::stod(item.substr(semi + 5));
  }
  return out;
}

TEST(LatencyAttribution, HeadersAndLogSeparateGatewayConnectAndUpstreamTime) {
  Upstream up;
  up.set_handler([](const RecordedRequest& r) {
    UpstreamResponse resp;
    resp.body = "slow";
    if (r.target == "/slow") resp.delay = Millis(150);
    return resp;
  });
  TempDir dir;
  Gateway gw(render(R"(_format_version: "3.0"
portico:
  listen: ["127.0.0.1:0"]
  admin_listen: "127.0.0.1:0"
  workers: 1
  headers: [latency_tokens, server_timing]
  access_log: {{DIR}}/access.log
  access_log_fields:
    path: $path
    status: $status
    latency_ms: $latency_ms
    gateway_ms: $gateway_ms
    connect_ms: $connect_ms
    upstream_ms: $upstream_ms
    receive_ms: $receive_ms
    request_filters_ms: $request_filters_ms
    response_filters_ms: $response_filters_ms
services:
  - name: s
    url: http://127.0.0.1:{{PORT}}
    routes:
      - {name: r, paths: [/]}
      - name: teapot
        paths: [/teapot]
        plugins: [{name: request-termination, config: {status_code: 418}}]
)",
                    {{"DIR", dir.path()}, {"PORT", std::to_string(up.port())}}));
  Client c(gw.port());
  ASSERT_TRUE(c.send(http_request("GET", "/slow")));
  Response slow = c.read_response();
  ASSERT_EQ(slow.status, 200) << slow.describe();
  const double upstream_header = std::stod(slow.header("X-Portico-Upstream-Latency").value_or("-1"));
  const double proxy_header = std::stod(slow.header("X-Portico-Proxy-Latency").value_or("-1"));
  EXPECT_GE(upstream_header, 150);
  EXPECT_LT(upstream_header, 1000);
  EXPECT_GE(proxy_header, 0);
  EXPECT_LT(proxy_header, 100) << "the upstream's 150 ms counted as gateway time";
  auto timing = server_timing(slow.header("Server-Timing").value_or(""));
  ASSERT_TRUE(timing.count("gateway") && timing.count("upstream")) << slow.describe();
  EXPECT_GE(timing["upstream"], 150.0);
  EXPECT_LT(timing["gateway"], 100.0);
  EXPECT_TRUE(timing.count("connect")) << "a new connection was made";
  // A second request on the pooled connection: no connect time.
  ASSERT_TRUE(c.send(http_request("GET", "/fast")));
  Response fast = c.read_response();
  ASSERT_EQ(fast.status, 200);
  EXPECT_FALSE(server_timing(fast.header("Server-Timing").value_or("")).count("connect")) << fast.describe();
  // A local reply: Kong's response latency, and gateway time only.
  Response local = fetch(gw.port(), http_request("GET", "/teapot"));
  ASSERT_EQ(local.status, 418) << local.describe();
  EXPECT_TRUE(local.header("X-Portico-Response-Latency").has_value()) << local.describe();
  EXPECT_FALSE(local.header("X-Portico-Upstream-Latency").has_value()) << local.describe();
  auto local_timing = server_timing(local.header("Server-Timing").value_or(""));
  EXPECT_EQ(local_timing.size(), 1u) << local.describe();
  EXPECT_TRUE(local_timing.count("gateway"));

  ASSERT_TRUE(eventually([&] { return line_count(dir.file("access.log")) >= 2; }));
  auto lines = json_lines(read_file(dir.file("access.log")));
  const auto& first = lines[0];
  EXPECT_EQ(first.at("path").as_string(), "/slow");
  const double total = first.at("latency_ms").to_number<double>();
  const double parts = first.at("gateway_ms").to_number<double>() + first.at("connect_ms").to_number<double>() +
                       first.at("upstream_ms").to_number<double>() + first.at("receive_ms").to_number<double>();
  EXPECT_NEAR(parts, total, 0.01);  // the split adds up
  EXPECT_GE(first.at("upstream_ms").to_number<double>(), 150.0);
  EXPECT_GT(first.at("connect_ms").to_number<double>(), 0.0);
  EXPECT_LT(first.at("gateway_ms").to_number<double>(), 100.0);
  EXPECT_EQ(lines[1].at("connect_ms").to_number<double>(), 0.0);  // pooled
  EXPECT_GE(first.at("request_filters_ms").to_number<double>(), 0.0);
}

TEST(LatencyAttribution, HeadersAreOffByDefaultAndBadValuesAreConfigErrors) {
  Upstream up;
  Gateway gw(config_prelude() + render(R"(
services:
  - name: s
    url: http://127.0.0.1:{{PORT}}
    routes: [{name: r, paths: [/]}]
)",
                                       {{"PORT", std::to_string(up.port())}}));
  Response r = fetch(gw.port(), http_request("GET", "/"));
  ASSERT_EQ(r.status, 200);
  EXPECT_FALSE(r.header("X-Portico-Upstream-Latency").has_value());
  EXPECT_FALSE(r.header("Server-Timing").has_value());
  auto check = Gateway::check("_format_version: \"3.0\"\nportico:\n  headers: [latency_tokens, via]\n", "h.yaml");
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_NE(check.err.find("h.yaml:3:12: portico.headers: unknown header group \"via\""), std::string::npos) << check.err;
}

}  // namespace
}  // namespace portico::integration
