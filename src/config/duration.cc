#include "config/duration.h"

#include <fmt/format.h>

#include "core/object_reader.h"

namespace portico::config {
namespace {

constexpr std::string_view kExpected =
    "expected a duration such as \"250ms\", \"5s\", \"1.5s\" or \"1m\" (units ms, s, m, h), or an "
    "integer number of milliseconds";

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::string parse_duration(std::string_view text, uint64_t& ms) {
  auto bad = [&] { return fmt::format("invalid duration \"{}\": {}", text, kExpected); };
  std::string_view s = text;
  size_t i = 0;
  // Digits are capped well below what overflows uint64 once multiplied by the largest unit.
  constexpr size_t kMaxDigits = 12;
  uint64_t whole = 0;
  size_t whole_digits = 0;
  while (i < s.size() && is_digit(s[i])) {
    if (++whole_digits > kMaxDigits) return fmt::format("duration \"{}\" is too long", text);
    whole = whole * 10 + static_cast<uint64_t>(s[i++] - '0');
  }
  uint64_t frac = 0;
  uint64_t frac_scale = 1;
  size_t frac_digits = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit(s[i])) {
      if (++frac_digits > kMaxDigits) return fmt::format("duration \"{}\" is too long", text);
      frac = frac * 10 + static_cast<uint64_t>(s[i++] - '0');
      frac_scale *= 10;
    }
    if (frac_digits == 0) return bad();
  }
  if (whole_digits == 0) return bad();
  std::string_view unit = s.substr(i);
  uint64_t unit_ms = 0;
  if (unit.empty()) {
    if (frac_digits > 0) {
      return fmt::format("invalid duration \"{}\": a number without a unit counts milliseconds and "
                         "must be a whole number; {}",
                         text, kExpected);
    }
    unit_ms = 1;
  } else if (unit == "ms") {
    unit_ms = 1;
  } else if (unit == "s") {
    unit_ms = 1000;
  } else if (unit == "m") {
    unit_ms = 60 * 1000;
  } else if (unit == "h") {
    unit_ms = 3600 * 1000;
  } else {
    return bad();
  }
  if (frac_digits > 0 && (frac * unit_ms) % frac_scale != 0) {
    return fmt::format("invalid duration \"{}\": not a whole number of milliseconds", text);
  }
  uint64_t total = whole * unit_ms + frac * unit_ms / frac_scale;
  if (total > kMaxDurationMs) {
    return fmt::format("duration \"{}\" is too long (at most {} ms)", text, kMaxDurationMs);
  }
  ms = total;
  return {};
}

bool read_duration(const core::ConfigNode& node, const std::string& path, core::ConfigErrors& errors,
                   uint32_t& ms) {
  if (!node.is_scalar() || (!node.quoted() && node.as_bool().has_value())) {
    errors.add(node, path, fmt::format("{}, got {}", kExpected, core::describe(node)));
    return false;
  }
  const std::string& text = node.scalar();
  if (!node.quoted() && !text.empty() && text.front() == '-') {
    errors.add(node, path, fmt::format("duration {} must not be negative", text));
    return false;
  }
  uint64_t value = 0;
  if (std::string e = parse_duration(text, value); !e.empty()) {
    errors.add(node, path, std::move(e));
    return false;
  }
  ms = static_cast<uint32_t>(value);
  return true;
}

}  // namespace portico::config
