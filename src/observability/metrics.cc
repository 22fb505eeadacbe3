#include "observability/metrics.h"

#include <utility>

namespace portico::observability {

const char* response_source_name(ResponseSource s) {
  switch (s) {
    case ResponseSource::kService: return "service";
    case ResponseSource::kPortico: return "portico";
    case ResponseSource::kExit: return "exit";
  }
  return "portico";
}

void RouteSeries::merge(const RouteSeries& o) { add_counts(*this, o, kSameKey, kSameKey); }

MetricsEpoch MetricsEpoch::copy() const {
  MetricsEpoch out;
  out.config_key = config_key;
  out.names = names;
  out.retired = retired;  // config_owner stays with the shard
  out.routes.resize(routes.size());
  for (size_t i = 0; i < routes.size(); ++i) {
    if (routes[i]) out.routes[i] = std::make_unique<RouteSeries>(*routes[i]);
  }
  return out;
}

void MetricsShard::begin_epoch(std::shared_ptr<const void> config, std::shared_ptr<const MetricNames> names) {
  const void* config_key = config.get();
  if (!epochs_.empty() && epochs_.back().config_key == config_key) return;
  // A configuration seen before (a reload back to it) keeps its epoch: it becomes current again.
  for (size_t i = 0; i + 1 < epochs_.size(); ++i) {
    if (epochs_[i].config_key != config_key) continue;
    MetricsEpoch e = std::move(epochs_[i]);
    epochs_.erase(epochs_.begin() + static_cast<std::ptrdiff_t>(i));
    e.retired = false;
    if (!epochs_.empty()) epochs_.back().retired = true;
    epochs_.push_back(std::move(e));
    return;
  }
  if (!epochs_.empty()) epochs_.back().retired = true;
  MetricsEpoch e;
  e.config_key = config_key;
  e.config_owner = std::move(config);
  e.routes.resize(names ? names->routes.size() : 0);
  e.names = std::move(names);
  epochs_.push_back(std::move(e));
  while (epochs_.size() > kMaxRetiredEpochs + 1) {
    evicted_.push_back(std::move(epochs_.front()));
    evicted_.back().config_owner.reset();
    evicted_.back().config_key = nullptr;
    epochs_.erase(epochs_.begin());
  }
  if (evicted_.size() > kMaxEvictedEpochs) evicted_.erase(evicted_.begin());
}

MetricsEpoch* MetricsShard::find(const void* config_key) {
  for (auto& e : epochs_) {
    if (e.config_key == config_key) return &e;
  }
  return nullptr;
}

std::vector<MetricsEpoch> MetricsShard::collect() {
  std::vector<MetricsEpoch> out = std::move(evicted_);
  evicted_.clear();
  for (auto& e : epochs_) {
    if (!e.retired) {
      out.push_back(e.copy());
      continue;
    }
    // Hand the counts over and start this epoch again from zero.
    MetricsEpoch moved;
    moved.config_key = e.config_key;
    moved.names = e.names;
    moved.retired = true;
    moved.routes = std::move(e.routes);
    e.routes.clear();
    e.routes.resize(moved.routes.size());
    out.push_back(std::move(moved));
  }
  return out;
}

}  // namespace portico::observability
