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
// Contract: `add`/`read` run on the control thread (config load) and report errors as text; each
// call compiles the field list into a flat layout: a list of ops, each a piece of literal JSON
// text (keys, quotes and template text escaped once, here) followed by one typed value writer.
// The compiled form is immutable and shared by workers. `append_object` runs on a worker after the
// response is sent: no map lookup, no temporary string, no allocation once `out` has capacity;
// numbers go through std::to_chars, the date part of `$time` is formatted once per second per
// thread, and JSON escaping copies runs of plain bytes 16 at a time. The access log's default
// field list has its own straight-line writer (same bytes, no per-field dispatch).
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
  // What an op writes after its literal text.
  enum class Code : uint8_t {
    kNone,          // nothing (literal text only)
    kNumber,        // an integer variable
    kMillis,        // a duration, milliseconds with three decimals
    kTime,          // $time
    kText,          // a string variable, JSON-escaped (the quotes are in the literals)
    kUri,           // $uri: path, then '?' and the query when there is one
    kHeader,        // a header's value, escaped; nothing when absent (inside a template)
    kHeaderOrNull,  // a whole field that is one header: "value" with its quotes, or null
  };
  struct Op {
    uint32_t literal_offset = 0;  // into literals_
    uint32_t literal_size = 0;
    Code code = Code::kNone;
    Var var = Var::kTime;
    uint16_t header = 0;  // index into headers_ for kHeader / kHeaderOrNull
  };
  struct Piece {
    bool is_var = false;
    Var var = Var::kTime;
    std::string text;  // literal text, or the header name of a header variable
  };
  struct Field {
    std::string key;  // already a JSON string literal with its quotes
    std::vector<Piece> pieces;
  };
  // Rebuilds ops_, literals_ and headers_ from fields_.
  void compile();
  void write_ops(const Exchange& x, std::string& out) const;

  std::vector<Field> fields_;
  std::vector<Op> ops_;
  std::string literals_;  // every op's literal text, back to back (plus padding for wide copies)
  std::vector<std::string> headers_;
  bool default_layout_ = false;  // access_log_default(): the straight-line writer
};

}  // namespace portico::filter
