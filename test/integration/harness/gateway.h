#pragma once
// The gateway under test: writes a YAML config to a temp file, runs `portico run -c FILE`, and
// waits for the ready line `listening proxy=HOST:PORT ... admin=HOST:PORT` on stderr.
//
// Contract: the constructor throws std::runtime_error (with the gateway's stderr) if the
// gateway does not become ready within the timeout; GoogleTest reports it as a failure. The
// destructor SIGKILLs the process if still running and, when the current test has failed,
// prints the tail of the gateway's stderr/stdout.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/process.h"
#include "harness/temp_dir.h"
#include "harness/wire.h"

namespace portico::integration {

// Replaces every {{NAME}} with vars.at(NAME); throws if a placeholder has no value.
std::string render(std::string_view tmpl, const std::map<std::string, std::string>& vars);

// `_format_version` plus a `portico:` block listening on 127.0.0.1:0 (proxy and admin) with 2
// workers and the access log on stdout. `extra` is inserted verbatim inside the block, so its
// lines must be indented by two spaces (e.g. "  limits: {max_body_bytes: 1024}\n").
std::string config_prelude(std::string_view extra = {});
// config_prelude with two proxy listeners: 127.0.0.1:0 (port(0)) and [::1]:0 (port(1)).
std::string config_prelude_dual_stack(std::string_view extra = {});

class Gateway;
// A counter of the admin API's GET /status, by its path under `counters` joined with dots (e.g.
// "accept_paused", "circuit_breaker_trips.max_requests"). A page that is not JSON, or a missing
// counter, is a test failure and reads as 0.
std::uint64_t status_counter(const Gateway& gw, std::string_view dotted);

// Polls `done` every 20 ms until it holds or `limit` passes; the last call's answer.
bool eventually(const std::function<bool()>& done, Millis limit = Millis{5000});

// PORTICO_BIN from the environment if set, else the path compiled into the harness.
std::string portico_binary();
// Root of the source tree (PORTICO_SOURCE_DIR).
std::string portico_source_dir();
// The text of examples/NAME in the source tree (empty when missing).
std::string read_example(const std::string& name);

struct GatewayOptions {
  std::vector<std::string> extra_args;  // appended after `run -c FILE`
  Millis ready_timeout{10000};
  // Non-empty: the constructor returns as soon as a stderr line matches this pattern instead of
  // the ready line (the admin port is taken from it when it has `admin=HOST:PORT`); call
  // wait_ready() later for the proxy ports.
  std::string start_pattern;
};

struct CheckResult {
  int exit_code = -1;                   // -1: did not exit in time
  std::string out;
  std::string err;
  std::string config_path;
};

class Gateway {
 public:
  explicit Gateway(std::string_view yaml, GatewayOptions options = {});
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  std::uint16_t port(std::size_t listener = 0) const { return proxy_ports_.at(listener); }
  const std::vector<std::uint16_t>& proxy_ports() const { return proxy_ports_; }
  std::uint16_t admin_port() const { return admin_port_; }
  const std::string& ready_line() const { return ready_line_; }
  pid_t pid() const { return process_->pid(); }
  Process& process() { return *process_; }
  const std::string& config_path() const { return config_path_; }

  // Waits for the ready line and parses the ports from it (done by the constructor unless
  // GatewayOptions::start_pattern was given); false on timeout, with *error set.
  bool wait_ready(Millis timeout, std::string* error = nullptr);

  // SIGTERM, then wait for exit.
  std::optional<ExitStatus> stop(Millis timeout = Millis{15000});
  std::string logs() const { return process_->stderr_text(); }
  std::string access_log() const { return process_->stdout_text(); }

  // `portico check -c FILE` on `yaml` written to a temp file named `file_name`.
  static CheckResult check(std::string_view yaml, std::string_view file_name = "portico.yaml",
                           Millis timeout = Millis{10000});

 private:
  TempDir dir_;
  std::string config_path_;
  std::unique_ptr<Process> process_;
  std::string ready_line_;
  std::vector<std::uint16_t> proxy_ports_;
  std::uint16_t admin_port_ = 0;
  bool parse_ready_line(const std::string& line);
};

}  // namespace portico::integration
