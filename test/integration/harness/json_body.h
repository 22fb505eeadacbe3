#pragma once
// JSON helpers for assertions on gateway bodies (Boost.JSON, test-side only).

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace portico::integration {

// Parsed value, or nullopt (and *error) if `text` is not JSON.
std::optional<boost::json::value> parse_json(std::string_view text, std::string* error = nullptr);
// The "message" string of a JSON object body, or nullopt.
std::optional<std::string> json_message(std::string_view text);
// obj[key] as string, or nullopt.
std::optional<std::string> json_string(const boost::json::value& v, std::string_view key);

}  // namespace portico::integration
