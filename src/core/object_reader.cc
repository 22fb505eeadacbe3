#include "core/object_reader.h"

#include <algorithm>
#include <limits>

namespace portico::core {
namespace {

constexpr size_t kMaxQuotedValue = 60;

bool is_identifier(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string quote(std::string_view text) {
  std::string out = "\"";
  size_t n = std::min(text.size(), kMaxQuotedValue);
  for (size_t i = 0; i < n; ++i) {
    char c = text[i];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += c == '\n' ? "\\n" : c == '\t' ? "\\t" : "?";
    } else {
      out += c;
    }
  }
  if (n < text.size()) out += "...";
  out += '"';
  return out;
}

bool is_yaml11_bool_word(std::string_view s) {
  std::string lower;
  for (char c : s) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return lower == "yes" || lower == "no" || lower == "on" || lower == "off" || lower == "y" ||
         lower == "n";
}

bool all_digits(std::string_view s) {
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) s.remove_prefix(1);
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string range_message(std::string_view value, std::string_view min, std::string_view max) {
  std::string out = "value ";
  out += value;
  out += " is out of range (";
  out += min;
  out += "..";
  out += max;
  out += ')';
  return out;
}

std::string format_double(double v) {
  std::string s = std::to_string(v);
  // std::to_string prints six decimals; trim them for readable bounds like "0..1".
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  return s;
}

}  // namespace

std::string path_key(std::string_view base, std::string_view key) {
  std::string out(base);
  if (is_identifier(key)) {
    if (!out.empty()) out += '.';
    out += key;
  } else {
    out += '[';
    out += quote(key);
    out += ']';
  }
  return out;
}

std::string path_index(std::string_view base, size_t index) {
  std::string out(base);
  out += '[';
  out += std::to_string(index);
  out += ']';
  return out;
}

std::string describe(const ConfigNode& node) {
  std::string out(node.type_name());
  if (node.is_scalar()) {
    out += " (";
    out += node.type_name() == "a string" ? quote(node.scalar()) : node.scalar();
    out += ')';
  }
  return out;
}

bool read_string(const ConfigNode& node, const std::string& path, ConfigErrors& errors,
                 std::string& out) {
  if (node.is_scalar() && !node.as_bool()) {
    out = node.scalar();
    return true;
  }
  std::string message = "expected a string, got " + describe(node);
  if (node.is_scalar()) message += "; quote it to use the text";
  errors.add(node, path, std::move(message));
  return false;
}

bool read_bool(const ConfigNode& node, const std::string& path, ConfigErrors& errors, bool& out) {
  if (auto b = node.as_bool()) {
    out = *b;
    return true;
  }
  std::string message = "expected a boolean (true or false), got " + describe(node);
  if (node.is_scalar() && !node.quoted() && is_yaml11_bool_word(node.scalar())) {
    message += "; YAML 1.1 words such as yes/no/on/off are not accepted";
  } else if (node.is_scalar() && node.quoted() &&
             (node.scalar() == "true" || node.scalar() == "false")) {
    message += "; remove the quotes";
  }
  errors.add(node, path, std::move(message));
  return false;
}

bool read_int(const ConfigNode& node, const std::string& path, ConfigErrors& errors, int64_t& out,
              int64_t min, int64_t max) {
  auto value = node.as_int();
  if (!value) {
    std::string message;
    if (node.is_out_of_range_int()) {
      message = range_message(node.scalar(), std::to_string(min), std::to_string(max));
    } else {
      message = "expected an integer, got " + describe(node);
      if (node.is_scalar() && all_digits(node.scalar())) {
        message += node.quoted() ? "; remove the quotes"
                                 : "; leading zeros are not allowed (YAML 1.1 reads them as octal)";
      }
    }
    errors.add(node, path, std::move(message));
    return false;
  }
  if (*value < min || *value > max) {
    errors.add(node, path, range_message(node.scalar(), std::to_string(min), std::to_string(max)));
    return false;
  }
  out = *value;
  return true;
}

bool read_double(const ConfigNode& node, const std::string& path, ConfigErrors& errors, double& out,
                 double min, double max) {
  auto value = node.as_double();
  if (!value) {
    std::string message = "expected a number, got " + describe(node);
    if (node.is_scalar() && node.quoted() &&
        ConfigNode::scalar(node.scalar(), false, {}, nullptr).as_double()) {
      message += "; remove the quotes";
    }
    errors.add(node, path, std::move(message));
    return false;
  }
  if (!(*value >= min && *value <= max)) {
    errors.add(node, path, range_message(node.scalar(), format_double(min), format_double(max)));
    return false;
  }
  out = *value;
  return true;
}

ObjectReader::ObjectReader(const ConfigNode& node, std::string path, ConfigErrors& errors)
    : node_(node), path_(std::move(path)), errors_(errors), valid_(node.is_map()) {
  if (!valid_) {
    errors_.add(node_, path_, "expected a map, got " + describe(node_));
    return;
  }
  if (node_.size() > 64) used_large_.assign(node_.size() - 64, false);
  known_.reserve(256);
}

const ConfigNode* ObjectReader::lookup(std::string_view key) {
  known_.append(key);
  known_ += '\n';
  if (!valid_) return nullptr;
  std::ptrdiff_t i = node_.index_of(key);
  if (i < 0) return nullptr;
  set_used(static_cast<size_t>(i));
  return &node_[static_cast<size_t>(i)];
}

bool ObjectReader::has(std::string_view key) const {
  const ConfigNode* value = valid_ ? node_.find(key) : nullptr;
  return value != nullptr && !value->is_null();
}

const ConfigNode* ObjectReader::child(std::string_view key) {
  const ConfigNode* value = lookup(key);
  return value == nullptr || value->is_null() ? nullptr : value;
}

const ConfigNode* ObjectReader::map(std::string_view key) {
  const ConfigNode* value = child(key);
  if (value != nullptr && !value->is_map()) {
    errors_.add(*value, path_of(key), "expected a map, got " + describe(*value));
    return nullptr;
  }
  return value;
}

const ConfigNode* ObjectReader::sequence(std::string_view key) {
  const ConfigNode* value = child(key);
  if (value != nullptr && !value->is_sequence()) {
    errors_.add(*value, path_of(key), "expected a list, got " + describe(*value));
    return nullptr;
  }
  return value;
}

// The getters test the common, valid case inline and build the value's path only for an error:
// a large file creates millions of values and paths would dominate the load time.

bool ObjectReader::get(std::string_view key, std::string& out) {
  const ConfigNode* value = child(key);
  if (value == nullptr) return false;
  if (value->is_scalar() && !value->as_bool()) {
    out = value->scalar();
    return true;
  }
  return read_string(*value, path_of(key), errors_, out);
}

bool ObjectReader::get(std::string_view key, bool& out) {
  const ConfigNode* value = child(key);
  if (value == nullptr) return false;
  if (auto b = value->as_bool()) {
    out = *b;
    return true;
  }
  return read_bool(*value, path_of(key), errors_, out);
}

template <typename T>
bool ObjectReader::get_integer(std::string_view key, T& out, T min, T max) {
  const ConfigNode* value = child(key);
  if (value == nullptr) return false;
  // uint64 bounds above int64's range are clamped: YAML integers here are int64 anyway.
  int64_t lo = static_cast<int64_t>(min);
  int64_t hi =
      static_cast<uint64_t>(max) > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
          ? std::numeric_limits<int64_t>::max()
          : static_cast<int64_t>(max);
  auto v = value->as_int();
  if (!v || *v < lo || *v > hi) {
    int64_t ignored = 0;
    return read_int(*value, path_of(key), errors_, ignored, lo, hi);  // records the error
  }
  out = static_cast<T>(*v);
  return true;
}

bool ObjectReader::get(std::string_view key, int& out, int min, int max) {
  return get_integer(key, out, min, max);
}
bool ObjectReader::get(std::string_view key, int64_t& out, int64_t min, int64_t max) {
  return get_integer(key, out, min, max);
}
bool ObjectReader::get(std::string_view key, uint16_t& out, uint16_t min, uint16_t max) {
  return get_integer(key, out, min, max);
}
bool ObjectReader::get(std::string_view key, uint32_t& out, uint32_t min, uint32_t max) {
  return get_integer(key, out, min, max);
}
bool ObjectReader::get(std::string_view key, uint64_t& out, uint64_t min, uint64_t max) {
  return get_integer(key, out, min, max);
}

bool ObjectReader::get(std::string_view key, double& out, double min, double max) {
  const ConfigNode* value = child(key);
  return value != nullptr && read_double(*value, path_of(key), errors_, out, min, max);
}

bool ObjectReader::get(std::string_view key, std::vector<std::string>& out) {
  const ConfigNode* value = child(key);
  if (value == nullptr) return false;
  if (!value->is_sequence()) {
    std::string message = "expected a list of strings, got " + describe(*value);
    if (value->is_scalar()) message += "; write it as a list: [" + value->scalar() + "]";
    errors_.add(*value, path_of(key), std::move(message));
    return false;
  }
  std::vector<std::string> items;
  items.reserve(value->size());
  bool ok = true;
  for (size_t i = 0; i < value->size(); ++i) {
    const ConfigNode& item = (*value)[i];
    if (item.is_scalar() && !item.as_bool()) {
      items.push_back(item.scalar());
    } else {
      std::string ignored;
      ok = false;
      read_string(item, path_index(path_of(key), i), errors_, ignored);  // records the error
    }
  }
  if (ok) out = std::move(items);
  return ok;
}

bool ObjectReader::get_enum(std::string_view key, std::string& out,
                            std::initializer_list<std::string_view> allowed) {
  std::string value;
  if (!get(key, value)) return false;
  if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) {
    out = std::move(value);
    return true;
  }
  std::string message = quote(value) + " is not one of: ";
  bool first = true;
  for (std::string_view a : allowed) {
    if (!first) message += ", ";
    message += a;
    first = false;
  }
  errors_.add(*node_.find(key), path_of(key), std::move(message));
  return false;
}

void ObjectReader::require(std::string_view key) {
  const ConfigNode* value = lookup(key);
  if (!valid_) return;
  if (value == nullptr) {
    errors_.add(node_, path_, "missing required field '" + std::string(key) + "'");
  } else if (value->is_null()) {
    errors_.add(*value, path_of(key), "required field '" + std::string(key) + "' must not be null");
  }
}

void ObjectReader::reject(std::string_view key, std::string_view message) {
  if (!valid_) return;
  std::ptrdiff_t i = node_.index_of(key);
  if (i < 0) return;
  set_used(static_cast<size_t>(i));
  errors_.add(node_, node_.key_mark(static_cast<size_t>(i)), path_of(key), std::string(message));
}

void ObjectReader::ignore(std::string_view key) { lookup(key); }

void ObjectReader::error(std::string_view key, std::string message) {
  const ConfigNode* value = valid_ ? node_.find(key) : nullptr;
  if (value != nullptr) {
    errors_.add(*value, path_of(key), std::move(message));
  } else {
    errors_.add(node_, path_, std::move(message));
  }
}

void ObjectReader::finish() {
  if (!valid_) return;
  for (size_t i = 0; i < node_.size(); ++i) {
    if (is_used(i)) continue;
    set_used(i);  // finish() twice must not report twice
    const std::string& key = node_.key(i);
    std::string message = "unknown field '" + key + "'";
    std::vector<std::string_view> known_keys;
    for (size_t start = 0, end; start < known_.size(); start = end + 1) {
      end = known_.find('\n', start);
      std::string_view k(known_.data() + start, end - start);
      if (std::find(known_keys.begin(), known_keys.end(), k) == known_keys.end()) {
        known_keys.push_back(k);
      }
    }
    std::string_view best;
    size_t best_distance = 3;
    for (std::string_view known : known_keys) {
      size_t d = edit_distance(key, known);
      if (d < best_distance && d < std::max<size_t>(known.size() / 2, 1) + 1) {
        best_distance = d;
        best = known;
      }
    }
    if (!best.empty()) message += " (did you mean '" + std::string(best) + "'?)";
    if (known_.empty()) {
      message += "; no fields are allowed here";
    } else {
      message += "; expected one of: ";
      for (size_t k = 0; k < known_keys.size(); ++k) {
        if (k != 0) message += ", ";
        message += known_keys[k];
      }
    }
    errors_.add(node_, node_.key_mark(i), path_of(key), std::move(message));
  }
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      size_t substitution = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitution});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace portico::core
