#include "filter/chain.h"

#include <algorithm>

namespace portico::filter {

Chain::Chain(std::vector<Entry> entries) {
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.priority > b.priority; });
  for (auto& e : entries) {
    const Filter* f = e.filter.get();
    uint32_t p = f->phases();
    if (p & kOnRequest) on_request_.push_back(f);
    if (p & kOnUpstreamRequest) on_upstream_request_.push_back(f);
    if (p & kOnResponse) on_response_.push_back(f);
    if (p & kWrapResponseBody) wrap_response_body_.push_back(f);
    if (p & kOnLog) on_log_.push_back(f);
    owned_.push_back(std::move(e.filter));
    plugins_.push_back({std::move(e.name), e.priority});
  }
}

}  // namespace portico::filter
