// The process around the proxy: graceful shutdown on SIGTERM/SIGINT (drain in-flight requests,
// stop accepting, exit 0), `portico check`, --version/--help, listeners and the admin /status.

#include <signal.h>

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "harness/client.h"
#include "harness/gateway.h"
#include "harness/test_pki.h"
#include "harness/json_body.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string services(std::uint16_t port) {
  return render(R"(
services:
  - name: echo
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: all
        paths: ["/"]
        strip_path: false
)",
                {{"UP", std::to_string(port)}});
}

// Polls until connecting to `port` is refused; false at the deadline.
bool wait_refused(std::uint16_t port, Millis timeout) {
  auto deadline = Clock::now() + timeout;
  while (!connection_refused(port)) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

TEST(LifecycleTest, SigtermFinishesTheInFlightRequestRefusesNewOnesAndExitsZero) {
  Upstream up;
  up.set_handler([](const RecordedRequest&) {
    UpstreamResponse r;
    r.delay = 1500ms;
    r.body = "finished during drain";
    return r;
  });
  Gateway gw(config_prelude() + services(up.port()));
  Client c(gw.port());
  ASSERT_TRUE(c.send(http_request("GET", "/slow")));
  ASSERT_TRUE(up.wait_for_requests(1, 2s)) << "request never reached the upstream";
  ASSERT_TRUE(gw.process().signal(SIGTERM));
  EXPECT_TRUE(wait_refused(gw.port(), 1s)) << "still accepting connections 1 s after SIGTERM";
  Response r = c.read_response({.timeout = 5s});
  ASSERT_TRUE(r.ok()) << "in-flight request was not completed: " << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.text(), "finished during drain");
  auto st = gw.process().wait_exit(5s);
  ASSERT_TRUE(st.has_value()) << "gateway did not exit within 5 s of finishing its last request";
  EXPECT_TRUE(st->exited && st->code == 0) << st->describe();
}

TEST(LifecycleTest, IdleKeepaliveConnectionsDoNotHoldUpShutdown) {
  Upstream up;
  Gateway gw(config_prelude() + services(up.port()));  // drain timeout 10 s by default
  Client c(gw.port());
  Response r = c.request(http_request("GET", "/x"));
  ASSERT_TRUE(r.ok()) << r.error;
  auto start = Clock::now();
  auto st = gw.stop(5s);
  ASSERT_TRUE(st.has_value()) << "gateway waited on an idle keep-alive connection";
  EXPECT_TRUE(st->exited && st->code == 0) << st->describe();
  EXPECT_LT(Clock::now() - start, 3s);
  EXPECT_TRUE(c.wait_closed(1s));
}

TEST(LifecycleTest, SigintStopsCleanly) {
  Upstream up;
  Gateway gw(config_prelude() + services(up.port()));
  ASSERT_TRUE(fetch(gw.port(), http_request("GET", "/x")).ok());
  ASSERT_TRUE(gw.process().signal(SIGINT));
  auto st = gw.process().wait_exit(5s);
  ASSERT_TRUE(st.has_value()) << "no exit after SIGINT";
  EXPECT_TRUE(st->exited && st->code == 0) << st->describe();
}

TEST(LifecycleTest, DrainTimeoutBoundsShutdown) {
  Upstream up;
  up.set_handler([](const RecordedRequest&) {
    UpstreamResponse r;
    r.delay = 20s;
    return r;
  });
  Gateway gw(config_prelude("  timeouts: {client_header: 60000, client_body: 60000, keepalive: 60000, drain: 500}\n") +
             services(up.port()));
  Client c(gw.port());
  ASSERT_TRUE(c.send(http_request("GET", "/stuck")));
  ASSERT_TRUE(up.wait_for_requests(1, 2s));
  auto start = Clock::now();
  auto st = gw.stop(5s);
  auto elapsed = Clock::now() - start;
  ASSERT_TRUE(st.has_value()) << "gateway ignored its 500 ms drain timeout";
  EXPECT_TRUE(st->exited && st->code == 0) << st->describe();
  EXPECT_GE(elapsed, 400ms) << "exited without waiting for the in-flight request";
  EXPECT_LT(elapsed, 3s);
  EXPECT_TRUE(c.wait_closed(1s));
}

constexpr std::string_view kGoodConfig = R"(_format_version: "3.0"
services:
  - name: svc
    url: http://127.0.0.1:9/base
    retries: 2
    routes:
      - name: r
        paths: ["/api"]
        methods: ["GET", "POST"]
        strip_path: true
    plugins:
      - name: request-termination
        config: {status_code: 200, echo: true}
)";

TEST(LifecycleTest, CheckAcceptsAGoodFile) {
  CheckResult r = Gateway::check(kGoodConfig);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find(r.config_path + ":"), std::string::npos) << r.err;
}

TEST(LifecycleTest, CheckRejectsAnUnknownFieldWithFileLineColumn) {
  // line 5, column 5: the unknown key.
  CheckResult r = Gateway::check(R"(_format_version: "3.0"
services:
  - name: svc
    url: http://127.0.0.1:9
    bogus_field: 1
    routes:
      - name: r
        paths: ["/"]
)",
                                 "bad.yaml");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  int line = 0, column = 0;
  const RE2 re("(?m)^" + RE2::QuoteMeta(r.config_path) + R"(:(\d+):(\d+): .*bogus_field)");
  ASSERT_TRUE(RE2::PartialMatch(r.err, re, &line, &column))
      << "expected '" << r.config_path << ":LINE:COLUMN: ... bogus_field ...' on stderr, got:\n" << r.err;
  EXPECT_EQ(line, 5) << r.err;
  EXPECT_EQ(column, 5) << r.err;
}

TEST(LifecycleTest, CheckReportsEveryErrorAndBadValues) {
  CheckResult r = Gateway::check(R"(_format_version: "3.0"
services:
  - name: svc
    url: http://127.0.0.1:9
    retries: -1
    routes:
      - name: r
        paths: ["/"]
        methods: 42
)",
                                 "two-errors.yaml");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const std::string prefix = r.config_path + ":";
  EXPECT_NE(r.err.find(prefix + "5:"), std::string::npos) << "retries: -1 not reported at line 5:\n" << r.err;
  EXPECT_NE(r.err.find(prefix + "9:"), std::string::npos) << "methods: 42 not reported at line 9:\n" << r.err;
}

TEST(LifecycleTest, CheckRejectsYamlSyntaxErrorsWithALocation) {
  CheckResult r = Gateway::check("_format_version: \"3.0\"\nservices:\n  - name: [unclosed\n", "syntax.yaml");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const RE2 re("(?m)^" + RE2::QuoteMeta(r.config_path) + R"(:\d+:\d+: )");
  EXPECT_TRUE(RE2::PartialMatch(r.err, re)) << r.err;
}

TEST(LifecycleTest, CheckOfAMissingFileFails) {
  RunResult r = run_command(portico_binary(), {"check", "-c", "/nonexistent/portico.yaml"}, 10s);
  EXPECT_EQ(r.exit_code(), 1) << r.err;
  EXPECT_NE(r.err.find("/nonexistent/portico.yaml"), std::string::npos) << r.err;
}

TEST(LifecycleTest, RunWithABadConfigExitsWithTheSameErrors) {
  TempDir dir;
  std::string path = dir.write_file("bad.yaml", "_format_version: \"3.0\"\nservices:\n  - name: s\n    nope: 1\n");
  RunResult r = run_command(portico_binary(), {"run", "-c", path}, 10s);
  EXPECT_EQ(r.exit_code(), 1) << r.err;
  EXPECT_NE(r.err.find(path + ":4:"), std::string::npos) << r.err;
}

TEST(LifecycleTest, CheckAcceptsEveryExampleConfig) {
  std::filesystem::path examples = std::filesystem::path(portico_source_dir()) / "examples";
  // examples/upstream-tls.yaml takes its PEMs from the environment (made now, never stored).
  const Pem ca = make_ca("Example CA");
  const Pem client = make_leaf(ca, "example-client", {}, {}, true);
  ::setenv("PORTICO_UPSTREAM_CA", ca.cert.c_str(), 1);
  ::setenv("PORTICO_CLIENT_CERT", client.cert.c_str(), 1);
  ::setenv("PORTICO_CLIENT_KEY", client.key.c_str(), 1);
  // examples/tls.yaml: a served certificate and the CA its clients' certificates chain to.
  ::setenv("PORTICO_TLS_CERT", client.cert.c_str(), 1);
  ::setenv("PORTICO_TLS_KEY", client.key.c_str(), 1);
  ::setenv("PORTICO_CLIENT_CA", ca.cert.c_str(), 1);
  // examples/jwt-authorizer.yaml: the identity provider's JWKS URL (check never fetches it).
  ::setenv("PORTICO_JWKS_URI", "https://127.0.0.1:9/.well-known/jwks.json", 1);
  int checked = 0;
  if (std::filesystem::exists(examples)) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(examples)) {
      auto ext = entry.path().extension();
      if (ext != ".yaml" && ext != ".yml") continue;
      RunResult r = run_command(portico_binary(), {"check", "-c", entry.path().string()}, 10s);
      EXPECT_EQ(r.exit_code(), 0) << entry.path() << ":\n" << r.err;
      ++checked;
    }
  }
  if (checked == 0) GTEST_SKIP() << "no example configs under " << examples;
}

TEST(LifecycleTest, VersionPrintsNameAndVersion) {
  RunResult r = run_command(portico_binary(), {"--version"}, 10s);
  EXPECT_EQ(r.exit_code(), 0) << r.err;
  std::string all = r.out + r.err;
  EXPECT_NE(to_lower(all).find("portico"), std::string::npos) << all;
  EXPECT_TRUE(RE2::PartialMatch(all, R"(\d+\.\d+\.\d+)")) << all;
}

TEST(LifecycleTest, HelpNamesTheCommands) {
  RunResult r = run_command(portico_binary(), {"--help"}, 10s);
  EXPECT_EQ(r.exit_code(), 0) << r.err;
  std::string all = r.out + r.err;
  for (const char* word : {"run", "check", "--listen", "--workers"})
    EXPECT_NE(all.find(word), std::string::npos) << word << " missing from --help:\n" << all;
}

TEST(LifecycleTest, UnknownCommandFails) {
  RunResult r = run_command(portico_binary(), {"frobnicate"}, 10s);
  ASSERT_TRUE(r.status.has_value()) << "portico frobnicate did not exit";
  EXPECT_TRUE(r.status->exited && r.status->code != 0) << r.status->describe();
}

TEST(LifecycleTest, SeveralListenersFromConfigAllServe) {
  Upstream up;
  Gateway gw(R"(_format_version: "3.0"
portico:
  listen: ["127.0.0.1:0", "127.0.0.1:0"]
  admin_listen: "127.0.0.1:0"
  workers: 2
)" + services(up.port()));
  ASSERT_EQ(gw.proxy_ports().size(), 2u) << gw.ready_line();
  EXPECT_NE(gw.port(0), gw.port(1));
  for (auto port : gw.proxy_ports()) {
    Response r = fetch(port, http_request("GET", "/x"));
    ASSERT_TRUE(r.ok()) << "listener " << port << ": " << r.error;
    EXPECT_EQ(r.status, 200);
  }
}

TEST(LifecycleTest, CommandLineListenAndWorkers) {
  Upstream up;
  Gateway gw(std::string("_format_version: \"3.0\"\n") + services(up.port()),
             {.extra_args = {"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--workers", "1"}});
  ASSERT_EQ(gw.proxy_ports().size(), 1u) << gw.ready_line();
  Response r = fetch(gw.port(), http_request("GET", "/x"));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 200);
}

TEST(LifecycleTest, AdminStatusIsJson) {
  Upstream up;
  Gateway gw(config_prelude() + services(up.port()));
  ASSERT_NE(gw.admin_port(), 0) << "no admin= in ready line: " << gw.ready_line();
  Response r = fetch(gw.admin_port(), http_request("GET", "/status"));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 200);
  auto ct = r.header("Content-Type");
  EXPECT_TRUE(ct && ct->find("application/json") != std::string::npos) << r.raw_head;
  std::string err;
  auto v = parse_json(r.text(), &err);
  ASSERT_TRUE(v.has_value()) << err << ": " << r.text();
  EXPECT_TRUE(v->is_object()) << r.text();
  // The process's resident memory (Kong's /status has a `memory` section too).
  ASSERT_TRUE(v->as_object().contains("memory")) << r.text();
  EXPECT_GT(v->as_object().at("memory").at("resident_bytes").to_number<double>(), 1e6) << r.text();
  EXPECT_EQ(up.request_count(), 0u) << "admin request leaked to the proxy upstream";
}


// SIGHUP re-reads the file: a new route answers, every worker reports the new config version, and
// an invalid file is refused while the running config keeps serving.
TEST(LifecycleTest, SighupReloadsAndKeepsServingOnBadConfig) {
  Upstream up;
  Gateway gw(config_prelude() + services(up.port()));
  auto version_of = [&](std::string* workers_versions) {
    Response r = fetch(gw.admin_port(), http_request("GET", "/status"));
    auto v = parse_json(r.text());
    if (!v || !v->is_object()) return std::string();
    const auto& o = v->as_object();
    if (workers_versions) {
      workers_versions->clear();
      for (const auto& w : o.at("workers").as_array()) {
        *workers_versions += std::string(w.as_object().at("config_version").as_string()) + ",";
      }
    }
    return std::string(o.at("configuration_hash").as_string());
  };
  std::string before = version_of(nullptr);
  ASSERT_FALSE(before.empty());
  EXPECT_EQ(fetch(gw.port(), http_request("GET", "/added")).status, 200);  // routed to the upstream

  {
    std::ofstream f(gw.config_path(), std::ios::trunc);
    f << config_prelude() << services(up.port()) << R"(
routes:
  - name: added
    paths: ["/added"]
    plugins:
      - name: request-termination
        config: {status_code: 418, message: "reloaded"}
)";
  }
  ASSERT_EQ(::kill(gw.pid(), SIGHUP), 0);
  std::string after;
  std::string workers;
  auto deadline = Clock::now() + 5s;
  while (Clock::now() < deadline) {
    after = version_of(&workers);
    if (after != before && workers == after + "," + after + ",") break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_NE(after, before) << gw.logs();
  EXPECT_EQ(workers, after + "," + after + ",") << "every worker runs the new version";
  Response r = fetch(gw.port(), http_request("GET", "/added"));
  EXPECT_EQ(r.status, 418) << r.describe();
  EXPECT_EQ(json_message(r.text()), "reloaded");

  {
    std::ofstream f(gw.config_path(), std::ios::trunc);
    f << config_prelude() << "services: [{name: broken, url: 12}]\n";
  }
  ASSERT_EQ(::kill(gw.pid(), SIGHUP), 0);
  deadline = Clock::now() + 5s;
  while (Clock::now() < deadline && gw.logs().find("reload of") == std::string::npos) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_NE(gw.logs().find("reload of"), std::string::npos) << gw.logs();
  EXPECT_EQ(version_of(nullptr), after) << "a bad file must not replace the running config";
  EXPECT_EQ(fetch(gw.port(), http_request("GET", "/added")).status, 418);
}


// Kong-shaped connection gauges: a client that has sent part of a head is "reading", an idle
// keep-alive connection is "waiting".
TEST(LifecycleTest, StatusCountsReadingAndWaitingConnections) {
  Upstream up;
  Gateway gw(config_prelude() + services(up.port()));
  auto gauges = [&]() {
    Response r = fetch(gw.admin_port(), http_request("GET", "/status"));
    auto v = parse_json(r.text());
    const auto& server = v->as_object().at("server").as_object();
    return std::make_pair(server.at("connections_reading").to_number<int64_t>(),
                          server.at("connections_waiting").to_number<int64_t>());
  };
  auto wait_for = [&](std::pair<int64_t, int64_t> want) {
    auto deadline = Clock::now() + 3s;
    std::pair<int64_t, int64_t> got;
    while ((got = gauges()) != want && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
    return got;
  };
  {
    Client partial(gw.port());
    partial.send("GET / HTTP/1.1\r\nHost: x\r\n");
    EXPECT_EQ(wait_for({1, 0}), (std::pair<int64_t, int64_t>{1, 0}));
  }
  EXPECT_EQ(wait_for({0, 0}), (std::pair<int64_t, int64_t>{0, 0}));
  {
    Client idle(gw.port());
    EXPECT_EQ(wait_for({0, 1}), (std::pair<int64_t, int64_t>{0, 1}));
  }
}

}  // namespace
}  // namespace portico::integration
