#include "observability/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace portico::observability {
namespace {

bool read_small_file(const char* path, std::string& out) {
  std::FILE* f = std::fopen(path, "rb");
  if (f == nullptr) return false;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return !out.empty();
}

// Seconds since the epoch at boot, from /proc/stat's "btime".
bool boot_time(double& out) {
  std::string text;
  if (!read_small_file("/proc/stat", text)) return false;
  size_t at = text.find("\nbtime ");
  if (at == std::string::npos) return false;
  out = std::strtod(text.c_str() + at + 7, nullptr);
  return true;
}

void gauge(std::vector<MetricFamily>& out, const char* name, const char* help, double v) {
  MetricFamily f{name, help, MetricType::kGauge, {}};
  f.add({}, v);
  out.push_back(std::move(f));
}

}  // namespace

bool sample_process(ProcessSample& out) {
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  std::string stat;
  if (!read_small_file("/proc/self/stat", stat) || ticks <= 0) return false;
  // Fields after the command name (which may hold spaces and parentheses): the last ')'.
  size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 2 > stat.size()) return false;
  const char* p = stat.c_str() + close + 2;
  // Field 3 (state) is at p; utime is field 14, stime 15, starttime 22, rss 24.
  double fields[25] = {};
  int field = 3;
  while (*p != '\0' && field <= 24) {
    const char* end = std::strchr(p, ' ');
    if (field >= 4) fields[field] = std::strtod(p, nullptr);
    if (end == nullptr) break;
    p = end + 1;
    ++field;
  }
  out.cpu_seconds = (fields[14] + fields[15]) / ticks;
  out.resident_bytes = fields[24] * page;
  out.start_ticks = fields[22];
  return true;
}

void append_process_families(std::vector<MetricFamily>& out) {
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  ProcessSample sample;
  if (sample_process(sample)) {
    MetricFamily cpu{"process_cpu_seconds_total", "Total user and system CPU time spent in seconds",
                     MetricType::kCounter, {}};
    cpu.add({}, sample.cpu_seconds);
    out.push_back(std::move(cpu));
    gauge(out, "process_resident_memory_bytes", "Resident memory size in bytes", sample.resident_bytes);
    double boot = 0;
    if (boot_time(boot)) {
      gauge(out, "process_start_time_seconds", "Start time of the process since unix epoch in seconds",
            boot + sample.start_ticks / ticks);
    }
  }
  if (DIR* d = opendir("/proc/self/fd")) {
    double n = 0;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    closedir(d);
    gauge(out, "process_open_fds", "Number of open file descriptors", n - 1);  // minus the one reading
  }
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    gauge(out, "process_max_fds", "Maximum number of open file descriptors",
          rl.rlim_cur == RLIM_INFINITY ? -1.0 : static_cast<double>(rl.rlim_cur));
  }
}

}  // namespace portico::observability
