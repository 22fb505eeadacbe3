#include "harness/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <re2/re2.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace portico::integration {
namespace {

ExitStatus decode(int status) {
  ExitStatus s;
  if (WIFEXITED(status)) {
    s.exited = true;
    s.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    s.signal = WTERMSIG(status);
  }
  return s;
}

std::optional<long> proc_status_field(pid_t pid, std::string_view field) {
  std::string text = read_file("/proc/" + std::to_string(pid) + "/status");
  std::size_t pos = text.find(std::string(field) + ":");
  if (pos == std::string::npos) return std::nullopt;
  return std::strtol(text.c_str() + pos + field.size() + 1, nullptr, 10);
}

}  // namespace

std::string ExitStatus::describe() const {
  if (exited) return "exit code " + std::to_string(code);
  return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
}

Process::Process(std::string path, std::vector<std::string> args)
    : out_path_(dir_.file("stdout")), err_path_(dir_.file("stderr")) {
  std::vector<std::string> argv_s;
  argv_s.push_back(path);
  for (auto& a : args) argv_s.push_back(std::move(a));
  std::vector<char*> argv;
  for (auto& a : argv_s) {
    argv.push_back(a.data());
    command_ += (command_.empty() ? "" : " ") + a;
  }
  argv.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  // The child starts with default dispositions and an empty mask, whatever the test runner did.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  int rc = ::posix_spawnp(&pid_, argv_s[0].c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    pid_ = -1;
    throw std::runtime_error("posix_spawn " + command_ + ": " + std::strerror(rc));
  }
}

Process::~Process() { kill(); }

bool Process::running() {
  if (status_ || pid_ < 0) return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = decode(st);
    return false;
  }
  return r == 0;
}

std::optional<std::string> Process::wait_for_line(std::string_view pattern, Millis timeout,
                                                  Stream stream, std::string* error) {
  RE2 re{re2::StringPiece(pattern.data(), pattern.size())};
  if (!re.ok()) {
    if (error) *error = "bad pattern: " + re.error();
    return std::nullopt;
  }
  const std::string& path = stream == Stream::kStderr ? err_path_ : out_path_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // Check liveness before reading, so a line written just before exit is still found.
    bool alive = running();
    std::string text = read_file(path);
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t end = text.find('\n', start);
      if (end == std::string::npos) break;  // only whole lines count
      std::string_view line(text.data() + start, end - start);
      if (RE2::PartialMatch(re2::StringPiece(line.data(), line.size()), re))
        return std::string(line);
      start = end + 1;
    }
    if (!alive) {
      if (error)
        *error = "process exited (" + (status_ ? status_->describe() : std::string("?")) +
                 ") before a line matching /" + std::string(pattern) + "/ appeared";
      return std::nullopt;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      if (error)
        *error = "no line matching /" + std::string(pattern) + "/ within " +
                 std::to_string(timeout.count()) + " ms";
      return std::nullopt;
    }
    std::this_thread::sleep_for(Millis{5});  // poll interval, bounded by the deadline above
  }
}

bool Process::signal(int sig) {
  if (!running()) return false;
  return ::kill(pid_, sig) == 0;
}

std::optional<ExitStatus> Process::wait_exit(Millis timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (!running()) return status_;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(Millis{2});
  }
}

void Process::kill() {
  if (pid_ < 0 || status_) return;
  if (running()) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    status_ = decode(st);
  }
}

std::string Process::stdout_text() const { return read_file(out_path_); }
std::string Process::stderr_text() const { return read_file(err_path_); }

RunResult run_command(const std::string& path, const std::vector<std::string>& args,
                      Millis timeout) {
  Process p(path, args);
  RunResult r;
  r.status = p.wait_exit(timeout);
  if (!r.status) p.kill();
  r.out = p.stdout_text();
  r.err = p.stderr_text();
  return r;
}

RunResult run_curl(const std::vector<std::string>& args, Millis timeout) {
  return run_command("curl", args, timeout);
}

std::optional<long> vm_rss_kb(pid_t pid) { return proc_status_field(pid, "VmRSS"); }
std::optional<long> vm_hwm_kb(pid_t pid) { return proc_status_field(pid, "VmHWM"); }

}  // namespace portico::integration
