#include "harness/json_body.h"

namespace portico::integration {

std::optional<boost::json::value> parse_json(std::string_view text, std::string* error) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec) {
    if (error) *error = ec.message();
    return std::nullopt;
  }
  return v;
}

std::optional<std::string> json_string(const boost::json::value& v, std::string_view key) {
  const auto* obj = v.if_object();
  if (!obj) return std::nullopt;
  const auto* field = obj->if_contains(key);
  if (!field || !field->is_string()) return std::nullopt;
  return std::string(field->as_string());
}

std::optional<std::string> json_message(std::string_view text) {
  auto v = parse_json(text);
  if (!v) return std::nullopt;
  return json_string(*v, "message");
}

}  // namespace portico::integration
