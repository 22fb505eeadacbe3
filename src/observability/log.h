// Error log: leveled lines on stderr.
//
// Contract: callable from any thread. Each line is formatted into a local buffer and written with
// one write(2), so lines from different threads never interleave. The data path logs only on
// failures (a bad request, an upstream error), never per successful request.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <string_view>

namespace portico::observability {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

bool parse_log_level(std::string_view text, LogLevel& out);
void set_log_level(LogLevel level);
LogLevel log_level();
void write_log_line(LogLevel level, std::string_view message);

template <class... Args>
void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (level < log_level()) return;
  write_log_line(level, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace portico::observability

#define PORTICO_LOG_DEBUG(...) ::portico::observability::log(::portico::observability::LogLevel::kDebug, __VA_ARGS__)
#define PORTICO_LOG_INFO(...) ::portico::observability::log(::portico::observability::LogLevel::kInfo, __VA_ARGS__)
#define PORTICO_LOG_WARN(...) ::portico::observability::log(::portico::observability::LogLevel::kWarn, __VA_ARGS__)
#define PORTICO_LOG_ERROR(...) ::portico::observability::log(::portico::observability::LogLevel::kError, __VA_ARGS__)
