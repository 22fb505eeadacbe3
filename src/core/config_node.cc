#include "core/config_node.h"

#include <charconv>

namespace portico::core {
namespace {

const std::string kNoFile;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// YAML 1.2 core-schema integer, decimal only: [-+]?[0-9]+. Hex/octal forms and leading zeros
// ("0644" is octal to a YAML 1.1 reader such as Kong's) stay strings, so that two readers never
// silently disagree on a number.
bool looks_like_int(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  if (i == s.size()) return false;
  if (s[i] == '0' && i + 1 < s.size()) return false;
  for (; i < s.size(); ++i) {
    if (!is_digit(s[i])) return false;
  }
  return true;
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool looks_like_float(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  size_t int_digits = 0, frac_digits = 0;
  const size_t int_start = i;
  while (i < s.size() && is_digit(s[i])) ++i, ++int_digits;
  if (int_digits > 1 && s[int_start] == '0') return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit(s[i])) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    size_t exp_digits = 0;
    while (i < s.size() && is_digit(s[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == s.size();
}

}  // namespace

ConfigNode ConfigNode::scalar(std::string text, bool quoted, Mark mark, const std::string* file) {
  ConfigNode node(Kind::kScalar, mark, file);
  node.scalar_ = std::move(text);
  node.quoted_ = quoted;
  return node;
}

const std::string& ConfigNode::file() const { return file_ ? *file_ : kNoFile; }

std::optional<bool> ConfigNode::as_bool() const {
  if (kind_ != Kind::kScalar || quoted_) return std::nullopt;
  const std::string& s = scalar_;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

std::optional<int64_t> ConfigNode::as_int() const {
  if (kind_ != Kind::kScalar || quoted_ || !looks_like_int(scalar_)) return std::nullopt;
  std::string_view s = scalar_;
  if (s.front() == '+') s.remove_prefix(1);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

bool ConfigNode::is_out_of_range_int() const {
  return kind_ == Kind::kScalar && !quoted_ && looks_like_int(scalar_) && !as_int();
}

std::optional<double> ConfigNode::as_double() const {
  if (kind_ != Kind::kScalar || quoted_ || !looks_like_float(scalar_)) return std::nullopt;
  std::string_view s = scalar_;
  if (s.front() == '+') s.remove_prefix(1);
  double value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

std::string_view ConfigNode::type_name() const {
  switch (kind_) {
    case Kind::kNull:
      return "null";
    case Kind::kSequence:
      return "a list";
    case Kind::kMap:
      return "a map";
    case Kind::kScalar:
      break;
  }
  if (quoted_) return "a string";
  if (as_bool()) return "a boolean";
  if (looks_like_int(scalar_)) return "an integer";
  if (looks_like_float(scalar_)) return "a number";
  return "a string";
}

std::ptrdiff_t ConfigNode::index_of(std::string_view key) const {
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i].name == key) return static_cast<std::ptrdiff_t>(i);
  }
  return -1;
}

const ConfigNode* ConfigNode::find(std::string_view key) const {
  std::ptrdiff_t i = index_of(key);
  return i < 0 ? nullptr : &items_[static_cast<size_t>(i)];
}

size_t ConfigNode::count_nodes() const {
  size_t n = 1;
  for (const ConfigNode& item : items_) n += item.count_nodes();
  return n;
}

}  // namespace portico::core
