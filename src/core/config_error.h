// ConfigError / ConfigErrors: what configuration loading reports to the user.
//
// Contract:
// - One ConfigError is rendered as "file:line:column: path: message". Parts that are unknown are
//   left out: no position (line 0) gives "file: path: message", an empty path gives
//   "file:line:column: message". `path` is the YAML path of the offending value, written like
//   `services[0].routes[1].paths[0]` (see path_key/path_index in object_reader.h).
// - ConfigErrors collects errors in the order found and keeps at most `kMaxErrors`; later ones are
//   counted, and `to_string()` ends with "... and N more errors". Not thread-safe; one load owns
//   it.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/config_node.h"

namespace portico::core {

struct ConfigError {
  std::string file;
  Mark mark;
  std::string path;
  std::string message;

  std::string to_string() const;
};

class ConfigErrors {
 public:
  static constexpr size_t kMaxErrors = 50;

  void add(ConfigError error);
  // The error is located at `at` (its file and mark).
  void add(const ConfigNode& at, std::string path, std::string message);
  // Same, at an explicit mark (e.g. a map key's mark) of `at`'s file.
  void add(const ConfigNode& at, Mark mark, std::string path, std::string message);

  bool empty() const { return errors_.empty(); }
  // Errors seen, including those beyond the cap.
  size_t count() const { return errors_.size() + dropped_; }
  bool full() const { return errors_.size() >= kMaxErrors; }
  const std::vector<ConfigError>& list() const { return errors_; }
  std::vector<ConfigError>::const_iterator begin() const { return errors_.begin(); }
  std::vector<ConfigError>::const_iterator end() const { return errors_.end(); }

  // Orders the kept errors by file, line and column (stable), so users read them top to bottom
  // whatever order the checks ran in.
  void sort_by_position();

  // One error per line, no trailing newline.
  std::string to_string() const;

 private:
  std::vector<ConfigError> errors_;
  size_t dropped_ = 0;
};

}  // namespace portico::core
