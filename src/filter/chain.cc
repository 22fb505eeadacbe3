#include "filter/chain.h"

#include <algorithm>

namespace portico::filter {

Chain::Chain(std::vector<Entry> entries) {
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.priority != b.priority ? a.priority > b.priority : a.name < b.name;
  });
  for (auto& e : entries) {
    const Filter* f = e.filter.get();
    uint32_t p = f->phases();
    if (p & kOnRequest) {
      on_request_.push_back(f);
      on_request_priority_.push_back(e.priority);
    }
    if (p & kOnUpstreamRequest) on_upstream_request_.push_back(f);
    if (p & kOnResponse) on_response_.push_back(f);
    if (p & kWrapResponseBody) wrap_response_body_.push_back(f);
    if (p & kOnLog) on_log_.push_back(f);
    owned_.push_back(std::move(e.filter));
    plugins_.push_back({std::move(e.name), e.priority, e.scope});
  }
}

std::string_view Chain::name_of(const Filter* f) const {
  for (size_t i = 0; i < owned_.size(); ++i) {
    if (owned_[i].get() == f) return plugins_[i].name;
  }
  return {};
}

Chain Chain::merged(const Chain& base, const std::vector<Entry>& candidates) {
  std::vector<Entry> entries;
  entries.reserve(base.owned_.size() + candidates.size());
  for (size_t i = 0; i < base.owned_.size(); ++i) {
    entries.push_back({base.owned_[i], base.plugins_[i].priority, base.plugins_[i].name, base.plugins_[i].scope});
  }
  for (const Entry& c : candidates) {
    auto same = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.name == c.name; });
    if (same == entries.end()) {
      entries.push_back(c);
    } else if (c.scope > same->scope) {
      *same = c;
    }
  }
  return Chain(std::move(entries));
}

size_t Chain::resume_after(const Filter* current, int priority) const {
  for (size_t i = 0; i < on_request_.size(); ++i) {
    if (on_request_[i] == current) return i + 1;
  }
  size_t i = 0;
  while (i < on_request_priority_.size() && on_request_priority_[i] >= priority) ++i;
  return i;
}

}  // namespace portico::filter
