#include "core/config_error.h"

#include <algorithm>
#include <tuple>
#include <utility>

namespace portico::core {

std::string ConfigError::to_string() const {
  std::string out = file;
  if (mark.line != 0) {
    out += ':';
    out += std::to_string(mark.line);
    out += ':';
    out += std::to_string(mark.column);
  }
  if (!out.empty()) out += ": ";
  if (!path.empty()) {
    out += path;
    out += ": ";
  }
  out += message;
  return out;
}

void ConfigErrors::add(ConfigError error) {
  if (full()) {
    ++dropped_;
    return;
  }
  errors_.push_back(std::move(error));
}

void ConfigErrors::add(const ConfigNode& at, std::string path, std::string message) {
  add(at, at.mark(), std::move(path), std::move(message));
}

void ConfigErrors::add(const ConfigNode& at, Mark mark, std::string path, std::string message) {
  add(ConfigError{at.file(), mark, std::move(path), std::move(message)});
}

void ConfigErrors::sort_by_position() {
  std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
    return std::tie(a.file, a.mark.line, a.mark.column) <
           std::tie(b.file, b.mark.line, b.mark.column);
  });
}

std::string ConfigErrors::to_string() const {
  std::string out;
  for (const ConfigError& e : errors_) {
    if (!out.empty()) out += '\n';
    out += e.to_string();
  }
  if (dropped_ != 0) {
    out += "\n... and ";
    out += std::to_string(dropped_);
    out += dropped_ == 1 ? " more error" : " more errors";
  }
  return out;
}

}  // namespace portico::core
