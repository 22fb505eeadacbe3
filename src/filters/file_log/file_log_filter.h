// FileLogFilter: Kong's `file-log` plugin. One JSON line per request, appended to `path`.
//
// The line follows Kong's log serializer (request, response, latencies, client_ip, started_at,
// route, service, consumer, upstream), with credentials redacted (Authorization,
// Proxy-Authorization, Cookie and Set-Cookie values are written as "REDACTED"). Kong's
// `custom_fields_by_lua` has no Lua to run here: Portico's `custom_fields` map adds (or replaces)
// top-level fields from templates over the request (filter/log_fields.h).
//
// Contract: built on the control thread; immutable, shared by workers. on_log formats the line
// into the worker thread's buffer for the file (observability/access_log.h): no lock, no syscall
// on the request path; a dedicated writer thread per file does the I/O, a full queue drops and
// counts. The file is opened by the writer (created 0644, appended to); `reopen: true` opens it
// anew for every batch of lines (Kong reopens per request), SIGUSR1 reopens every log file.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "core/config_error.h"
#include "core/config_node.h"
#include "filter/filter.h"
#include "filter/log_fields.h"
#include "observability/access_log.h"

namespace portico::filters {

class FileLogFilter final : public filter::Filter {
 public:
  static constexpr std::string_view kName = "file-log";
  static constexpr int kPriority = 9;  // Kong's PRIORITY

  static std::shared_ptr<const filter::Filter> create(const core::ConfigNode* config, const std::string& path,
                                                      core::ConfigErrors& errors);

  FileLogFilter(std::string path, bool reopen, filter::LogFields custom_fields);

  uint32_t phases() const override { return filter::kOnLog; }
  void on_log(filter::Exchange& exchange) const override;

  // The line for `x` (tests); on_log appends the same text.
  void append_line(const filter::Exchange& x, std::string& out) const;

 private:
  observability::AccessLog& destination() const;

  std::string path_;
  bool reopen_;
  filter::LogFields custom_fields_;
  // Built-in top-level fields a custom field of the same name replaces.
  bool skip_[9] = {};
  // Bound on first use (the writer thread starts then, not at config load or `portico check`).
  mutable std::atomic<observability::AccessLog*> destination_{nullptr};
};

}  // namespace portico::filters
