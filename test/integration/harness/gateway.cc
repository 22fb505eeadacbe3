#include "harness/gateway.h"

#include "harness/client.h"
#include "harness/json_body.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <re2/re2.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <thread>

#ifndef PORTICO_BIN
#define PORTICO_BIN "portico"
#endif
#ifndef PORTICO_SOURCE_DIR
#define PORTICO_SOURCE_DIR "."
#endif

namespace portico::integration {
namespace {

std::string tail(const std::string& s, std::size_t n) {
  return s.size() <= n ? s : "...\n" + s.substr(s.size() - n);
}

}  // namespace

std::string render(std::string_view tmpl, const std::map<std::string, std::string>& vars) {
  std::string out;
  std::size_t pos = 0;
  for (;;) {
    std::size_t open = tmpl.find("{{", pos);
    if (open == std::string_view::npos) break;
    std::size_t close = tmpl.find("}}", open);
    if (close == std::string_view::npos) break;
    std::string name(tmpl.substr(open + 2, close - open - 2));
    auto it = vars.find(name);
    if (it == vars.end()) throw std::runtime_error("render: no value for {{" + name + "}}");
    out.append(tmpl.substr(pos, open - pos));
    out += it->second;
    pos = close + 2;
  }
  out.append(tmpl.substr(pos));
  return out;
}

namespace {
std::string prelude_listening_on(std::string_view listen, std::string_view extra) {
  std::string out =
      "_format_version: \"3.0\"\n"
      "portico:\n"
      "  listen: ";
  out.append(listen);
  out.append(
      "\n"
      "  admin_listen: \"127.0.0.1:0\"\n"
      "  workers: 2\n"
      "  access_log: stdout\n");
  out.append(extra);
  return out;
}
}  // namespace

std::string config_prelude(std::string_view extra) { return prelude_listening_on(R"(["127.0.0.1:0"])", extra); }

std::string config_prelude_dual_stack(std::string_view extra) {
  return prelude_listening_on(R"(["127.0.0.1:0", "[::1]:0"])", extra);
}

std::uint64_t status_counter(const Gateway& gw, std::string_view dotted) {
  Response page = fetch(gw.admin_port(), http_request("GET", "/status"));
  auto doc = parse_json(page.text());
  if (!doc || !doc->is_object() || !doc->as_object().contains("counters")) {
    ADD_FAILURE() << page.describe();
    return 0;
  }
  const boost::json::value* at = &doc->as_object().at("counters");
  while (!dotted.empty()) {
    const size_t dot = dotted.find('.');
    const std::string key(dotted.substr(0, dot));
    dotted = dot == std::string_view::npos ? std::string_view() : dotted.substr(dot + 1);
    if (!at->is_object() || !at->as_object().contains(key)) {
      ADD_FAILURE() << "no counter " << key << " in " << page.text();
      return 0;
    }
    at = &at->as_object().at(key);
  }
  return at->to_number<std::uint64_t>();
}

bool eventually(const std::function<bool()>& done, Millis limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

std::string portico_binary() {
  const char* env = std::getenv("PORTICO_BIN");
  return env && *env ? env : PORTICO_BIN;
}

std::string read_example(const std::string& name) {
  std::ifstream f(std::filesystem::path(portico_source_dir()) / "examples" / name);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string portico_source_dir() { return PORTICO_SOURCE_DIR; }

Gateway::Gateway(std::string_view yaml, GatewayOptions options) {
  config_path_ = dir_.write_file("portico.yaml", yaml);
  std::vector<std::string> args = {"run", "-c", config_path_};
  for (auto& a : options.extra_args) args.push_back(a);
  process_ = std::make_unique<Process>(portico_binary(), args);
  std::string error;
  if (!options.start_pattern.empty()) {
    auto line = process_->wait_for_line(options.start_pattern, options.ready_timeout, Process::Stream::kStderr,
                                        &error);
    if (!line) {
      process_->kill();
      throw std::runtime_error("gateway did not print /" + options.start_pattern + "/: " + error +
                               "\nstderr:\n" + tail(process_->stderr_text(), 4000));
    }
    static const RE2 kStartAdmin(R"(admin=\[?[^\s\]]*\]?:(\d+))");
    int port = 0;
    if (RE2::PartialMatch(*line, kStartAdmin, &port)) admin_port_ = static_cast<std::uint16_t>(port);
    return;
  }
  auto line = process_->wait_for_line(R"(listening .*proxy=)", options.ready_timeout,
                                      Process::Stream::kStderr, &error);
  if (!line) {
    process_->kill();
    throw std::runtime_error("gateway did not become ready: " + error + "\ncommand: " +
                             process_->command_line() + "\nconfig:\n" + std::string(yaml) +
                             "\nstderr:\n" + tail(process_->stderr_text(), 4000));
  }
  if (!parse_ready_line(*line)) {
    process_->kill();
    throw std::runtime_error("cannot parse proxy port from ready line: " + ready_line_);
  }
}

bool Gateway::parse_ready_line(const std::string& line) {
  ready_line_ = line;
  proxy_ports_.clear();
  re2::StringPiece input(ready_line_);
  static const RE2 kProxy(R"(proxy=\[?[^\s\]]*\]?:(\d+))");
  int port = 0;
  while (RE2::FindAndConsume(&input, kProxy, &port)) proxy_ports_.push_back(static_cast<std::uint16_t>(port));
  static const RE2 kAdmin(R"(admin=\[?[^\s\]]*\]?:(\d+))");
  if (RE2::PartialMatch(ready_line_, kAdmin, &port)) admin_port_ = static_cast<std::uint16_t>(port);
  return !proxy_ports_.empty() && proxy_ports_[0] != 0;
}

bool Gateway::wait_ready(Millis timeout, std::string* error) {
  auto line = process_->wait_for_line(R"(listening .*proxy=)", timeout, Process::Stream::kStderr, error);
  if (!line) return false;
  if (!parse_ready_line(*line)) {
    if (error) *error = "cannot parse proxy port from ready line: " + *line;
    return false;
  }
  return true;
}

Gateway::~Gateway() {
  bool was_running = process_->running();
  // A clean stop first, so every test also exercises shutdown (and sanitizer builds get their
  // leak check); SIGKILL only if the gateway does not exit in time.
  if (was_running) {
    process_->signal(SIGTERM);
    auto status = process_->wait_exit(Millis{10000});
    if (!status) {
      ADD_FAILURE() << "gateway pid " << process_->pid() << " did not exit within 10 s of SIGTERM";
    } else if (!status->exited || status->code != 0) {
      ADD_FAILURE() << "gateway pid " << process_->pid() << " did not exit cleanly after SIGTERM";
    }
  }
  process_->kill();
  if (::testing::Test::HasFailure()) {
    std::cerr << "---- gateway pid " << process_->pid() << (was_running ? " (killed)" : "")
              << " stderr (tail) ----\n"
              << tail(process_->stderr_text(), 3000) << "\n---- gateway stdout (tail) ----\n"
              << tail(process_->stdout_text(), 2000) << "\n---- end gateway output ----\n";
  }
}

std::optional<ExitStatus> Gateway::stop(Millis timeout) {
  process_->signal(SIGTERM);
  return process_->wait_exit(timeout);
}

CheckResult Gateway::check(std::string_view yaml, std::string_view file_name, Millis timeout) {
  TempDir dir;
  CheckResult r;
  r.config_path = dir.write_file(file_name, yaml);
  RunResult run = run_command(portico_binary(), {"check", "-c", r.config_path}, timeout);
  r.exit_code = run.exit_code();
  r.out = std::move(run.out);
  r.err = std::move(run.err);
  return r;
}

}  // namespace portico::integration
