// The admin API's config endpoints: `POST /config` (Kong DB-less: the body replaces the whole
// declarative config, as YAML, JSON, or Kong's form field `config`), `?check_hash=1`, invalid and
// oversized bodies, `GET /status/ready`, and 100 config changes (POST /config and SIGHUP) under
// steady keep-alive load without a failed request.

#include <signal.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "harness/client.h"
#include "harness/fake_dns.h"
#include "harness/gateway.h"
#include "harness/json_body.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A config whose route `/` reaches the upstream and whose route `/which` answers `message`
// locally; the portico block is the test prelude, so a posted config changes nothing that needs a
// restart.
std::string config_with(std::uint16_t up, const std::string& message) {
  return config_prelude() + render(R"(
services:
  - name: backend
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: all
        paths: ["/"]
routes:
  - name: which
    paths: ["/which"]
    plugins:
      - name: request-termination
        config: {status_code: 200, message: "{{MSG}}"}
)",
                                   {{"UP", std::to_string(up)}, {"MSG", message}});
}

std::string json_config_with(std::uint16_t up, const std::string& message) {
  return render(R"({
  "_format_version": "3.0",
  "portico": {"listen": ["127.0.0.1:0"], "admin_listen": "127.0.0.1:0", "workers": 2, "access_log": "stdout"},
  "services": [
    {"name": "backend", "url": "http://127.0.0.1:{{UP}}", "routes": [{"name": "all", "paths": ["/"]}]}
  ],
  "routes": [
    {"name": "which", "paths": ["/which"],
     "plugins": [{"name": "request-termination", "config": {"status_code": 200, "message": "{{MSG}}"}}]}
  ]
}
)",
                {{"UP", std::to_string(up)}, {"MSG", message}});
}

Response post_config(std::uint16_t admin, std::string_view body, std::string_view content_type,
                     std::string_view query = {}) {
  Headers h;
  if (!content_type.empty()) h.push_back({"Content-Type", std::string(content_type)});
  return fetch(admin, http_request("POST", "/config" + std::string(query), h, body), {.timeout = 15s});
}

std::string url_encode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

struct AdminStatus {
  std::string hash;
  std::vector<std::string> worker_versions;
  std::uint64_t reloads = 0;
};

AdminStatus admin_status(std::uint16_t admin) {
  AdminStatus s;
  Response r = fetch(admin, http_request("GET", "/status"));
  auto v = parse_json(r.text());
  if (!v || !v->is_object()) return s;
  const auto& o = v->as_object();
  s.hash = std::string(o.at("configuration_hash").as_string());
  for (const auto& w : o.at("workers").as_array()) {
    s.worker_versions.emplace_back(w.as_object().at("config_version").as_string());
  }
  s.reloads = o.at("counters").as_object().at("config_reloads").to_number<std::uint64_t>();
  return s;
}

bool every_worker_runs(const AdminStatus& s, const std::string& hash) {
  if (s.hash != hash || s.worker_versions.empty()) return false;
  for (const auto& v : s.worker_versions) {
    if (v != hash) return false;
  }
  return true;
}

// `/which` on `connections` fresh connections (SO_REUSEPORT spreads them over the workers): the
// messages seen.
std::set<std::string> which_on_many(std::uint16_t port, int connections = 12) {
  std::set<std::string> seen;
  for (int i = 0; i < connections; ++i) {
    Response r = fetch(port, http_request("GET", "/which"));
    seen.insert(r.status == 200 ? json_message(r.text()).value_or("?") : "status " + std::to_string(r.status));
  }
  return seen;
}

// The 201 body's version must be what /status reports, on the admin level and on every worker,
// at once (the answer waits until the workers run it).
void expect_live(Gateway& gw, const Response& r, const std::string& message) {
  ASSERT_EQ(r.status, 201) << r.describe() << "\n" << r.text();
  auto v = parse_json(r.text());
  ASSERT_TRUE(v && v->is_object()) << r.text();
  auto version = json_string(*v, "config_version");
  ASSERT_TRUE(version && !version->empty()) << r.text();
  EXPECT_EQ(v->as_object().at("routes").to_number<int>(), 2) << r.text();
  EXPECT_EQ(v->as_object().at("services").to_number<int>(), 1) << r.text();
  AdminStatus s = admin_status(gw.admin_port());
  EXPECT_TRUE(every_worker_runs(s, *version)) << "201 came before every worker ran " << *version << "; /status: "
                                              << s.hash;
  EXPECT_EQ(which_on_many(gw.port()), std::set<std::string>{message});
  EXPECT_EQ(fetch(gw.port(), http_request("GET", "/through")).status, 200);
}

TEST(AdminConfig, PostedYamlJsonAndFormsGoLiveOnEveryWorkerBeforeTheAnswer) {
  Upstream up;
  Gateway gw(config_with(up.port(), "from-file"));
  ASSERT_EQ(which_on_many(gw.port()), std::set<std::string>{"from-file"});

  {
    SCOPED_TRACE("application/x-yaml");
    expect_live(gw, post_config(gw.admin_port(), config_with(up.port(), "yaml"), "application/x-yaml"), "yaml");
  }
  {
    SCOPED_TRACE("application/json");
    expect_live(gw, post_config(gw.admin_port(), json_config_with(up.port(), "json"), "application/json"), "json");
  }
  {
    SCOPED_TRACE("application/json with Kong's attribute config");
    boost::json::object o;
    o["config"] = config_with(up.port(), "json-attribute");
    expect_live(gw, post_config(gw.admin_port(), boost::json::serialize(o), "application/json"), "json-attribute");
  }
  {
    SCOPED_TRACE("urlencoded form");
    std::string body = "other=1&config=" + url_encode(config_with(up.port(), "urlencoded")) + "&more=x%20y";
    expect_live(gw, post_config(gw.admin_port(), body, "application/x-www-form-urlencoded"), "urlencoded");
  }
  {
    SCOPED_TRACE("multipart form");
    std::string boundary = "----portico-test-7d9a";
    std::string body = "--" + boundary +
                       "\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nignored\r\n"
                       "--" + boundary +
                       "\r\nContent-Disposition: form-data; name=\"config\"; filename=\"kong.yml\"\r\n"
                       "Content-Type: application/x-yaml\r\n\r\n" +
                       config_with(up.port(), "multipart") + "\r\n--" + boundary + "--\r\n";
    expect_live(gw, post_config(gw.admin_port(), body, "multipart/form-data; boundary=" + boundary), "multipart");
  }
  {
    SCOPED_TRACE("no content type: read as YAML");
    expect_live(gw, post_config(gw.admin_port(), config_with(up.port(), "untyped"), ""), "untyped");
  }
  // A form without the field is refused and changes nothing.
  Response r = post_config(gw.admin_port(), "foo=bar", "application/x-www-form-urlencoded");
  EXPECT_EQ(r.status, 400) << r.describe();
  EXPECT_EQ(which_on_many(gw.port(), 4), std::set<std::string>{"untyped"});
}

TEST(AdminConfig, InvalidConfigAnswers400WithCheckErrorsAndKeepsTheRunningConfig) {
  Upstream up;
  Gateway gw(config_with(up.port(), "running"));
  const std::string before = admin_status(gw.admin_port()).hash;
  const std::string bad = config_prelude() + R"(
services:
  - name: backend
    url: http://127.0.0.1:1
    routes:
      - name: r
        paths: ["/"]
        stip_path: true
  - name: second
    url: 12
)";
  Response r = post_config(gw.admin_port(), bad, "application/x-yaml");
  ASSERT_EQ(r.status, 400) << r.describe() << r.text();
  auto v = parse_json(r.text());
  ASSERT_TRUE(v && v->is_object()) << r.text();
  const auto& errors = v->as_object().at("errors").as_array();
  ASSERT_GE(errors.size(), 2u) << r.text();
  // The same errors `portico check` prints for that text, with the file named "POST /config".
  CheckResult check = Gateway::check(bad, "posted.yaml");
  ASSERT_EQ(check.exit_code, 1) << check.err;
  for (const auto& e : errors) {
    const auto& o = e.as_object();
    EXPECT_EQ(o.at("file").as_string(), "POST /config");
    EXPECT_GT(o.at("line").to_number<int>(), 0) << r.text();
    EXPECT_GT(o.at("column").to_number<int>(), 0) << r.text();
    std::string text(o.at("text").as_string());
    ASSERT_EQ(text.rfind("POST /config:", 0), 0u) << text;
    std::string rest = text.substr(std::string("POST /config").size());  // ":line:column: path: message"
    EXPECT_NE(check.err.find(check.config_path + rest), std::string::npos)
        << "not in portico check's output: " << rest << "\ncheck said:\n" << check.err;
  }
  EXPECT_NE(r.text().find("stip_path"), std::string::npos) << r.text();
  EXPECT_NE(std::string(v->as_object().at("message").as_string()).find("POST /config:14:9"), std::string::npos)
      << r.text();

  // Not YAML at all: a syntax error with its position.
  r = post_config(gw.admin_port(), "services: [unclosed\n", "application/json");
  EXPECT_EQ(r.status, 400) << r.describe();
  EXPECT_NE(r.text().find("POST /config:"), std::string::npos) << r.text();

  EXPECT_EQ(admin_status(gw.admin_port()).hash, before);
  EXPECT_EQ(which_on_many(gw.port()), std::set<std::string>{"running"});
}

TEST(AdminConfig, CheckHashAnswers304WhenThePostedConfigIsTheRunningOne) {
  Upstream up;
  const std::string a = config_with(up.port(), "a");
  Gateway gw(a);
  const std::string hash = admin_status(gw.admin_port()).hash;
  Response r = post_config(gw.admin_port(), a, "application/x-yaml", "?check_hash=1");
  EXPECT_EQ(r.status, 304) << r.describe();
  EXPECT_EQ(admin_status(gw.admin_port()).reloads, 0u);

  const std::string b = config_with(up.port(), "b");
  r = post_config(gw.admin_port(), b, "application/x-yaml", "?check_hash=1");
  ASSERT_EQ(r.status, 201) << r.describe();
  auto v = parse_json(r.text());
  ASSERT_TRUE(v);
  EXPECT_NE(json_string(*v, "config_version"), hash);
  EXPECT_EQ(json_string(*v, "config_version"), admin_status(gw.admin_port()).hash);
  // Without check_hash the same config is applied again.
  r = post_config(gw.admin_port(), b, "application/x-yaml");
  EXPECT_EQ(r.status, 201) << r.describe();
  EXPECT_EQ(admin_status(gw.admin_port()).reloads, 2u);
  EXPECT_EQ(which_on_many(gw.port(), 4), std::set<std::string>{"b"});
}

TEST(AdminConfig, OversizedBodyAnswers413) {
  Upstream up;
  Gateway gw(config_with(up.port(), "running"));
  // 70 MB announced: refused on the head alone.
  Client c(gw.admin_port());
  Response r = c.request("POST /config HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-yaml\r\n"
                         "Content-Length: 70000000\r\n\r\n");
  EXPECT_EQ(r.status, 413) << r.describe();
  EXPECT_TRUE(c.wait_closed(5000ms));
  EXPECT_EQ(which_on_many(gw.port(), 4), std::set<std::string>{"running"});
}

// The code block after `heading` in docs/admin-api.md that opens with "```<lang>".
std::string doc_block(const std::string& heading, const std::string& lang) {
  std::ifstream f(std::filesystem::path(portico_source_dir()) / "docs" / "admin-api.md");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string doc = ss.str();
  size_t at = doc.find("\n" + heading + "\n");
  if (at == std::string::npos) return {};
  size_t open = doc.find("```" + lang + "\n", at);
  if (open == std::string::npos) return {};
  open = doc.find('\n', open) + 1;
  size_t close = doc.find("```", open);
  if (close == std::string::npos) return {};
  std::string block = doc.substr(open, close - open);
  // Indented blocks (inside list items): drop the common indentation.
  std::string out;
  std::istringstream lines(block);
  for (std::string line; std::getline(lines, line);) {
    size_t i = 0;
    while (i < line.size() && i < 2 && line[i] == ' ') ++i;
    out += line.substr(i) + "\n";
  }
  return out;
}

TEST(AdminConfig, DocsExampleWorksAsEveryEncoding) {
  Upstream up;
  up.set_handler([](const RecordedRequest& req) {
    UpstreamResponse r;
    r.body = "hello from " + req.target;
    return r;
  });
  std::string example = doc_block("## POST /config", "yaml");
  ASSERT_NE(example.find("127.0.0.1:9000"), std::string::npos) << "docs/admin-api.md example not found";
  example.replace(example.find("127.0.0.1:9000"), 14, "127.0.0.1:" + std::to_string(up.port()));
  const std::string documented_201 = doc_block("### Answers", "json");
  auto documented = parse_json(documented_201);
  ASSERT_TRUE(documented && documented->is_object()) << documented_201;

  Gateway gw(config_with(up.port(), "before"));
  EXPECT_EQ(fetch(gw.port(), http_request("GET", "/hello")).status, 200);  // via the `/` route
  EXPECT_EQ(which_on_many(gw.port(), 2), std::set<std::string>{"before"});
  const std::string boundary = "------------------------a1b2c3";
  const std::vector<std::pair<std::string, std::string>> posts = {
      {"application/x-yaml", example},
      {"multipart/form-data; boundary=" + boundary,
       "--" + boundary + "\r\nContent-Disposition: form-data; name=\"config\"; filename=\"kong.yml\"\r\n" +
           "Content-Type: application/octet-stream\r\n\r\n" + example + "\r\n--" + boundary + "--\r\n"},
      {"application/x-www-form-urlencoded", "config=" + url_encode(example)},
  };
  for (const auto& [type, body] : posts) {
    SCOPED_TRACE(type);
    Response r = post_config(gw.admin_port(), body, type);
    ASSERT_EQ(r.status, 201) << r.describe() << r.text();
    auto v = parse_json(r.text());
    ASSERT_TRUE(v && v->is_object()) << r.text();
    for (const auto& [key, value] : documented->as_object()) {
      EXPECT_TRUE(v->as_object().contains(key)) << "documented key " << key << " missing in " << r.text();
    }
    EXPECT_EQ(v->as_object().at("routes").to_number<int>(), 1);
    Response hello = fetch(gw.port(), http_request("GET", "/hello"));
    EXPECT_EQ(hello.status, 200) << hello.describe();
    EXPECT_EQ(hello.text(), "hello from /");  // strip_path defaults to true, as in Kong
    EXPECT_EQ(fetch(gw.port(), http_request("GET", "/which")).status, 404);  // the old config is gone
  }
  Response r = post_config(gw.admin_port(), example, "application/x-yaml", "?check_hash=1");
  EXPECT_EQ(r.status, 304);
  EXPECT_NE(gw.logs().find("takes effect on restart"), std::string::npos)
      << "a config without a portico block changes listen: logged";
}

// The admin API listens before host names resolve: readiness is 503 until every worker runs the
// config, then 200.
TEST(AdminConfig, ReadyIs503WhileNamesResolveThen200) {
  FakeDns dns;
  Upstream up;
  dns.set("slow.test", {"127.0.0.1"}, 60);
  dns.drop_next("slow.test", 2);  // the first try (A and AAAA) is lost: 1 s to the next
  const std::string yaml = config_prelude("  dns:\n    resolvers: [\"" + dns.address() +
                                          "\"]\n    hosts_file: \"\"\n    timeout: 1000\n") +
                           render(R"(
services:
  - name: backend
    url: http://slow.test:{{UP}}
    routes:
      - paths: ["/"]
)",
                                  {{"UP", std::to_string(up.port())}});
  GatewayOptions options;
  options.start_pattern = "admin api listening admin=";
  Gateway gw(yaml, options);
  ASSERT_NE(gw.admin_port(), 0);
  Response r = fetch(gw.admin_port(), http_request("GET", "/status/ready"));
  EXPECT_EQ(r.status, 503) << r.describe();
  auto v = parse_json(r.text());
  ASSERT_TRUE(v && v->is_object()) << r.text();
  EXPECT_FALSE(v->as_object().at("ready").as_bool());
  // A posted config waits for the start to finish.
  EXPECT_EQ(post_config(gw.admin_port(), yaml, "application/x-yaml").status, 503);

  ASSERT_TRUE(eventually([&] { return fetch(gw.admin_port(), http_request("GET", "/status/ready")).status == 200; },
                         10000ms))
      << gw.logs();
  std::string error;
  ASSERT_TRUE(gw.wait_ready(5000ms, &error)) << error;
  r = fetch(gw.admin_port(), http_request("GET", "/status/ready"));
  v = parse_json(r.text());
  ASSERT_TRUE(v && v->is_object()) << r.text();
  EXPECT_TRUE(v->as_object().at("ready").as_bool());
  EXPECT_EQ(fetch(gw.port(), http_request("GET", "/")).status, 200);
}

// A posted config with a new host name is answered once the name resolved and every worker runs
// it; one replaced by a newer config while its name resolves is answered 409 and never goes live.
TEST(AdminConfig, PostWaitsForNewNamesAndASupersededPostAnswers409) {
  FakeDns dns;
  Upstream up;
  up.set_handler([](const RecordedRequest&) {
    UpstreamResponse r;
    r.body = "via-name";
    return r;
  });
  dns.set("slow.test", {"127.0.0.1"}, 60);
  const std::string prelude = config_prelude("  dns:\n    resolvers: [\"" + dns.address() +
                                             "\"]\n    hosts_file: \"\"\n    timeout: 1000\n");
  auto named = [&](const std::string& host) {
    return prelude + render(R"(
services:
  - name: backend
    url: http://{{HOST}}:{{UP}}
    routes:
      - paths: ["/named"]
)",
                            {{"HOST", host}, {"UP", std::to_string(up.port())}});
  };
  auto local = [&](const std::string& message) {
    return prelude + render(R"(
routes:
  - name: which
    paths: ["/which"]
    plugins:
      - name: request-termination
        config: {status_code: 200, message: "{{MSG}}"}
)",
                            {{"MSG", message}});
  };
  Gateway gw(local("start"));

  // 1. The first try for the name is lost: the answer comes after the second (about 1 s).
  dns.drop_next("slow.test", 2);
  auto t0 = Clock::now();
  Response r = post_config(gw.admin_port(), named("slow.test"), "application/x-yaml");
  auto waited = Clock::now() - t0;
  ASSERT_EQ(r.status, 201) << r.describe() << r.text();
  EXPECT_GE(waited, 500ms) << "answered before the name could have resolved";
  Response via = fetch(gw.port(), http_request("GET", "/named"));
  EXPECT_EQ(via.status, 200) << via.describe();
  EXPECT_EQ(via.text(), "via-name");

  // 2. Another slow name, replaced by a newer post while it resolves.
  dns.set("slower.test", {"127.0.0.1"}, 60);
  dns.drop_next("slower.test", 2);
  Response first;
  std::thread poster([&] { first = post_config(gw.admin_port(), named("slower.test"), "application/x-yaml"); });
  ASSERT_TRUE(eventually([&] { return dns.queries("slower.test") > 0; }, 5000ms));
  Response second = post_config(gw.admin_port(), local("newer"), "application/x-yaml");
  poster.join();
  EXPECT_EQ(second.status, 201) << second.describe();
  EXPECT_EQ(first.status, 409) << first.describe() << first.text();
  EXPECT_EQ(which_on_many(gw.port(), 4), std::set<std::string>{"newer"});
  std::this_thread::sleep_for(1500ms);  // past the name's second try: the replaced config stays out
  EXPECT_EQ(fetch(gw.port(), http_request("GET", "/named")).status, 404);
  EXPECT_EQ(which_on_many(gw.port(), 4), std::set<std::string>{"newer"});
}

// Readiness turns 503 when draining begins (seen on an admin connection opened before SIGTERM).
TEST(AdminConfig, ReadyIs503WhileDraining) {
  Upstream up;
  up.set_handler([](const RecordedRequest&) {
    UpstreamResponse r;
    r.delay = 1500ms;
    return r;
  });
  Gateway gw(config_with(up.port(), "running"));
  Client admin(gw.admin_port());
  Response r = admin.request(http_request("GET", "/status/ready"));
  ASSERT_EQ(r.status, 200) << r.describe();
  Client c(gw.port());
  ASSERT_TRUE(c.send(http_request("GET", "/slow")));
  ASSERT_TRUE(up.wait_for_requests(1, 2000ms));
  ASSERT_TRUE(gw.process().signal(SIGTERM));
  ASSERT_TRUE(gw.process().wait_for_line("draining", 2000ms).has_value());
  r = admin.request(http_request("GET", "/status/ready"));
  EXPECT_EQ(r.status, 503) << r.describe();
  auto v = parse_json(r.text());
  ASSERT_TRUE(v && v->is_object()) << r.text();
  EXPECT_EQ(json_string(*v, "message"), "draining");
  EXPECT_EQ(c.read_response({.timeout = 5s}).status, 200);
  auto st = gw.process().wait_exit(5000ms);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(st->exited && st->code == 0) << st->describe();
}

// 100 config changes, alternating POST /config and SIGHUP, while clients send steady keep-alive
// traffic: no request fails, no connection is reset, and both configs were served.
TEST(AdminConfig, HundredReloadsUnderSteadyLoadLoseNoRequest) {
  Upstream up;
  auto config = [&](const std::string& tag) {
    return config_prelude() + render(R"(
services:
  - name: backend
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: all
        paths: ["/"]
        plugins:
          - name: response-transformer
            config: {add: {headers: ["X-Config:{{TAG}}"]}}
)",
                                     {{"UP", std::to_string(up.port())}, {"TAG", tag}});
  };
  const std::string posted = config("posted");
  const std::string file = config("file");
  Gateway gw(file);
  {
    std::ofstream f(gw.config_path(), std::ios::trunc);
    f << file;
  }

  constexpr int kClients = 4;
  constexpr auto kPace = 2ms;  // per client: about 2,000 requests/s in all when the box keeps up
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> ok{0}, failed{0}, resets{0};
  std::mutex mu;
  std::map<std::string, std::uint64_t> seen;
  std::vector<std::string> failures;
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&] {
      std::map<std::string, std::uint64_t> local;
      auto c = Client::try_connect(gw.port(), 3000ms);
      if (!c) {
        ++failed;
        return;
      }
      auto next = Clock::now();
      while (!stop) {
        Response r = c->request(http_request("GET", "/load"), {.timeout = 5s});
        if (!r.ok() || r.status != 200) {
          ++failed;
          if (!r.ok()) ++resets;
          std::lock_guard lock(mu);
          if (failures.size() < 5) failures.push_back(r.describe());
          if (!r.ok()) break;  // the connection is gone
          continue;
        }
        ++ok;
        ++local[r.header("X-Config").value_or("none")];
        next += kPace;
        std::this_thread::sleep_until(next);
        if (Clock::now() > next + 50ms) next = Clock::now();
      }
      std::lock_guard lock(mu);
      for (auto& [k, n] : local) seen[k] += n;
    });
  }

  auto wait_for = [&](const std::string& hash, std::uint64_t reloads) {
    return eventually(
        [&] {
          AdminStatus s = admin_status(gw.admin_port());
          return s.reloads >= reloads && every_worker_runs(s, hash);
        },
        5000ms);
  };
  const auto started = Clock::now();
  std::string posted_hash;
  std::string file_hash = admin_status(gw.admin_port()).hash;
  int done = 0;
  for (int i = 0; i < 50 && Clock::now() - started < 20s; ++i) {
    Response r = post_config(gw.admin_port(), posted, "application/x-yaml");
    ASSERT_EQ(r.status, 201) << r.describe() << r.text();
    posted_hash = json_string(*parse_json(r.text()), "config_version").value_or("");
    ++done;
    std::this_thread::sleep_for(25ms);
    ASSERT_EQ(::kill(gw.pid(), SIGHUP), 0);
    ASSERT_TRUE(wait_for(file_hash, static_cast<std::uint64_t>(done + 1))) << "SIGHUP reload " << i << " not live";
    ++done;
    std::this_thread::sleep_for(25ms);  // requests run on each config, and the load spans the loop
  }
  const std::uint64_t ok_during_reloads = ok.load();
  stop = true;
  for (auto& t : clients) t.join();

  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  std::printf("reloads=%d in %lld ms; requests ok=%llu (during reloads %llu) failed=%llu; "
              "served posted=%llu file=%llu\n",
              done, static_cast<long long>(elapsed.count()),
              static_cast<unsigned long long>(ok.load()), static_cast<unsigned long long>(ok_during_reloads),
              static_cast<unsigned long long>(failed.load()),
              static_cast<unsigned long long>(seen["posted"]), static_cast<unsigned long long>(seen["file"]));
  EXPECT_EQ(done, 100) << "the reload loop ran out of time";
  EXPECT_EQ(admin_status(gw.admin_port()).reloads, static_cast<std::uint64_t>(done));
  EXPECT_EQ(failed.load(), 0u) << "first failures: " << (failures.empty() ? "" : failures[0]);
  EXPECT_EQ(resets.load(), 0u);
  EXPECT_GT(ok_during_reloads, 1000u) << "the load did not run while the config changed";
  EXPECT_GT(seen["posted"], 100u);
  EXPECT_GT(seen["file"], 100u);
  EXPECT_EQ(seen.count("none"), 0u);
  EXPECT_NE(posted_hash, file_hash);
}

}  // namespace
}  // namespace portico::integration

namespace portico::integration {
namespace {

// A reload keeps the workers' keep-alive pools: requests after it reuse the upstream connections
// opened before it (pools are keyed by address, not by configuration).
TEST(AdminConfig, ReloadKeepsUpstreamConnectionPools) {
  Upstream up;
  Gateway gw(config_with(up.port(), "first"), GatewayOptions{.extra_args = {"--workers", "1"}});
  Client c(gw.port());
  for (int i = 0; i < 5; ++i) ASSERT_EQ(c.request(http_request("GET", "/x")).status, 200);
  const auto opened = up.connections_accepted();
  EXPECT_EQ(opened, 1u);
  Response posted = post_config(gw.admin_port(), config_with(up.port(), "second"), "application/x-yaml");
  ASSERT_EQ(posted.status, 201) << posted.describe();
  EXPECT_EQ(c.request(http_request("GET", "/which")).text().find("second") != std::string::npos, true);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(c.request(http_request("GET", "/x")).status, 200);
  EXPECT_EQ(up.connections_accepted(), opened) << "the reload opened new upstream connections";
}

}  // namespace
}  // namespace portico::integration
