#include "filter/registry.h"

#include <algorithm>

namespace portico::filter {

void Registry::add(PluginFactory factory) { factories_.push_back(std::move(factory)); }

const PluginFactory* Registry::find(std::string_view name) const {
  for (const auto& f : factories_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::vector<std::string> Registry::names() const {
  std::vector<std::string> out;
  for (const auto& f : factories_) out.push_back(f.name);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace portico::filter
