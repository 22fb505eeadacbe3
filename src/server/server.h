// Server: wires the process together: loads and compiles the config, starts the workers (one
// io_context and one SO_REUSEPORT listener each), runs the admin API and the signal handling on the
// control thread, publishes snapshots to the workers, and drains on SIGTERM/SIGINT.
//
// Contract: constructed and run on the main thread, which becomes the control thread. `run()`
// returns the process exit code.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace portico::server {

struct ServerOptions {
  std::string config_path;
  std::vector<std::string> listen;        // --listen overrides portico.listen
  std::optional<std::string> admin_listen;  // --admin-listen overrides portico.admin_listen
  int workers = -1;                       // --workers overrides portico.workers
};

int run_server(const ServerOptions& options);

// `portico check`: load + compile exactly as run does; prints errors; returns the exit code.
int check_config(const std::string& path);

}  // namespace portico::server
