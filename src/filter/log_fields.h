// LogFields: the JSON object a log line carries, as configured field templates over one exchange.
//
// Used by the access log (`portico.access_log_fields`) and the `file-log` plugin's
// `custom_fields` (Portico's answer to Kong's `custom_fields_by_lua`).
//
// A template is a string. `$name` or `${name}` stands for a variable of the exchange (the
// list: kVariables in log_fields.cc, documented in docs/configuration.md, "Log fields"); `$$` is
// a literal `$`. A template that is exactly one variable gives that variable's JSON type (numbers
// stay numbers; a missing value is null); anything else is a JSON string with the variables
// interpolated. `header.<name>` and `response_header.<name>` read a request / response header.
//
// Contract: `compile` runs on the control thread (config load) and reports errors as text;
// the compiled form is immutable and shared by workers. `append_object` runs on a worker after the
// response is sent: it allocates nothing once `out` has capacity and formats numbers with fmt.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/config_error.h"
#include "core/config_node.h"
#include "filter/exchange.h"

namespace portico::filter {

class LogFields {
 public:
  enum class Var : uint8_t {
    kTime, kStartedAt, kClientIp, kClientPort, kMethod, kPath, kQuery, kUri, kHost, kScheme,
    kStatus, kBytesSent, kBytesReceived, kRoute, kService, kConsumer, kCredential, kUpstream,
    kAttempts, kLatencyMs, kGatewayMs, kFilterMs, kRequestFiltersMs, kResponseFiltersMs, kConnectMs, kUpstreamMs,
    kReceiveMs, kRequestId,
    kRequestHeader, kResponseHeader,
  };

  // One `key: template` pair. Returns an error message ("" when valid).
  std::string add(std::string_view key, std::string_view template_text);
  // A config map of `key: template` (strings), errors at each bad entry. False on any error.
  bool read(const core::ConfigNode& map, const std::string& path, core::ConfigErrors& errors);
  bool has_key(std::string_view key) const;
  bool empty() const { return fields_.empty(); }
  size_t size() const { return fields_.size(); }

  // `{"key":value,...}` for `x` (no newline).
  void append_object(const Exchange& x, std::string& out) const;
  // The `"key":value` pairs only, each preceded by a comma (to extend an object being written).
  void append_members(const Exchange& x, std::string& out) const;

  // The access log's default fields (the line Portico writes without `access_log_fields`).
  static const LogFields& access_log_default();
  // When the request started, in milliseconds since the Unix epoch.
  static uint64_t started_at_ms(const Timings& t);
  // Every variable name, for docs and error messages.
  static std::vector<std::string_view> variable_names();

 private:
  struct Piece {
    bool is_var = false;
    Var var = Var::kTime;
    std::string text;  // literal text, or the header name of a header variable
  };
  enum class Kind : uint8_t { kNumber, kString, kTemplate };
  struct Field {
    std::string key;     // already a JSON string literal with its quotes
    std::string prefix;  // `,"key":`, plus the opening quote for kString and kTemplate
    Kind kind = Kind::kTemplate;
    std::vector<Piece> pieces;
  };
  std::vector<Field> fields_;
};

}  // namespace portico::filter
