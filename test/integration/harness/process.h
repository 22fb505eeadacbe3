#pragma once
// A child process for integration tests: spawned with posix_spawn, stdin from /dev/null, stdout
// and stderr redirected to files in a private temp dir (readable at any time).
//
// Contract: every wait has a deadline; nothing blocks forever. The destructor SIGKILLs and reaps
// the child if it is still running, so a failing test never leaves a process behind.

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/temp_dir.h"
#include "harness/wire.h"

namespace portico::integration {

struct ExitStatus {
  bool exited = false;  // true: normal exit with `code`; false: killed by `signal`
  int code = -1;
  int signal = 0;
  std::string describe() const;
};

class Process {
 public:
  enum class Stream { kStdout, kStderr };

  // Spawns `path` with argv = {path, args...}. Throws std::runtime_error if spawning fails.
  Process(std::string path, std::vector<std::string> args);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // True while the child has not been reaped and has not exited.
  bool running();

  // Polls the stream's file until a line matches the RE2 pattern (partial match) and returns
  // it. nullopt on timeout or when the process exits first; *error then says which.
  std::optional<std::string> wait_for_line(std::string_view pattern, Millis timeout,
                                           Stream stream = Stream::kStderr,
                                           std::string* error = nullptr);

  bool signal(int sig);
  // Waits (polling waitpid) until the child exits; nullopt on timeout.
  std::optional<ExitStatus> wait_exit(Millis timeout);
  // SIGKILL and reap, if still running.
  void kill();

  std::string stdout_text() const;
  std::string stderr_text() const;
  const std::string& stdout_path() const { return out_path_; }
  const std::string& stderr_path() const { return err_path_; }
  const std::string& command_line() const { return command_; }

 private:
  TempDir dir_;
  std::string out_path_;
  std::string err_path_;
  std::string command_;
  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;
};

// Result of running a short-lived command to completion.
struct RunResult {
  std::optional<ExitStatus> status;  // nullopt: timed out (the process was killed)
  std::string out;
  std::string err;
  int exit_code() const { return status && status->exited ? status->code : -1; }
};
RunResult run_command(const std::string& path, const std::vector<std::string>& args,
                      Millis timeout);
// Runs curl (from PATH) with `args`; adds nothing, so pass -s etc. yourself.
RunResult run_curl(const std::vector<std::string>& args, Millis timeout = Millis{10000});

// /proc/PID/status fields, in KiB.
std::optional<long> vm_rss_kb(pid_t pid);
std::optional<long> vm_hwm_kb(pid_t pid);

}  // namespace portico::integration
