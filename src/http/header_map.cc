#include "http/header_map.h"

namespace portico::http {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]);
    unsigned char y = static_cast<unsigned char>(b[i]);
    if (x == y) continue;
    if ((x | 0x20) != (y | 0x20) || (x | 0x20) < 'a' || (x | 0x20) > 'z') return false;
  }
  return true;
}

void HeaderMap::set(std::string_view name, std::string_view value) {
  remove(name);
  add(name, value);
}

void HeaderMap::append_value(std::string_view name, std::string_view value) {
  for (auto& f : fields_) {
    if (iequals(f.name, name)) {
      f.value = f.value.empty() ? value : arena_.concat(f.value, ", ", value);
      return;
    }
  }
  add(name, value);
}

size_t HeaderMap::remove(std::string_view name) {
  return remove_if([&](const Field& f) { return iequals(f.name, name); });
}

size_t HeaderMap::rename(std::string_view from, std::string_view to) {
  size_t n = 0;
  for (auto& f : fields_) {
    if (iequals(f.name, from)) {
      f.name = to;
      ++n;
    }
  }
  return n;
}

std::optional<std::string_view> HeaderMap::get(std::string_view name) const {
  for (const auto& f : fields_) {
    if (iequals(f.name, name)) return f.value;
  }
  return std::nullopt;
}

size_t HeaderMap::count(std::string_view name) const {
  size_t n = 0;
  for (const auto& f : fields_) n += iequals(f.name, name);
  return n;
}

}  // namespace portico::http
