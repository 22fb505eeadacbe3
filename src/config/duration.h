// Durations in Portico's own (Envoy-style) route fields: `timeout`, `per_try_timeout`, back-off
// intervals (internal to src/config).
//
// Contract: pure functions. A duration is written as a string of a decimal number and a unit,
// "250ms", "5s", "1.5s", "1m", "1h", or as a plain integer, which counts milliseconds (Kong's unit
// for its own timeouts). The result is whole milliseconds: a value that is not ("1.5ms", "0.0001s")
// is an error rather than being rounded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/config_node.h"
#include "core/config_error.h"

namespace portico::config {

// Largest duration accepted, in ms (Kong's largest timeout, 2^31 - 2).
inline constexpr uint64_t kMaxDurationMs = 2147483646;

// Parses `text` ("250ms", "5s", "1.5s", "1m", "1h", or digits for milliseconds) into `ms`.
// Returns "" on success, else a message that quotes the text and says what is expected.
std::string parse_duration(std::string_view text, uint64_t& ms);

// Reads a duration node: a plain integer (milliseconds) or a string parsed by parse_duration.
// Records an error at the node with `path` and returns false when it is neither, is negative or
// exceeds kMaxDurationMs.
bool read_duration(const core::ConfigNode& node, const std::string& path, core::ConfigErrors& errors,
                   uint32_t& ms);

}  // namespace portico::config
