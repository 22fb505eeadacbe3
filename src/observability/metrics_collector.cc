#include "observability/metrics_collector.h"

#include <fmt/format.h>

#include <set>
#include <utility>

namespace portico::observability {
namespace {

std::string le_text(size_t i) {
  if (i >= kLatencyBuckets) return "+Inf";
  return fmt::format("{:.1f}", kLatencyBucketsMs[i]);
}

void add_histogram(MetricFamily& f, const Labels& labels, const LatencyHistogram& h) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= kLatencyBuckets; ++i) {
    cumulative += h.buckets[i];
    Labels l = labels;
    l.emplace_back("le", le_text(i));
    f.samples.push_back(Sample{"_bucket", std::move(l), static_cast<double>(cumulative)});
  }
  f.samples.push_back(Sample{"_sum", labels, h.sum});
  f.samples.push_back(Sample{"_count", labels, static_cast<double>(h.count)});
}

}  // namespace

void MetricsCollector::Totals::merge(const RouteSeries& s, const MetricNames& names) {
  add_counts(
      *this, s,
      [&names](uint64_t k) {
        return RequestKey{RouteSeries::key_status(k), RouteSeries::key_source(k),
                          names.consumer(RouteSeries::key_consumer(k))};
      },
      [&names](int32_t consumer) -> const std::string& { return names.consumer(consumer); });
}

void MetricsCollector::Totals::merge(const Totals& o) { add_counts(*this, o, kSameKey, kSameKey); }

void MetricsCollector::fold(std::map<RouteKey, Totals>& into, const MetricsEpoch& epoch) {
  if (!epoch.names) return;
  const MetricNames& names = *epoch.names;
  for (size_t i = 0; i < epoch.routes.size(); ++i) {
    const auto& s = epoch.routes[i];
    if (!s || s->empty()) continue;
    into[RouteKey{names.service_of(i), names.route(i)}].merge(*s, names);
  }
}

void MetricsCollector::begin_scrape() { scrape_.clear(); }

void MetricsCollector::add(std::vector<MetricsEpoch> epochs) {
  for (const auto& e : epochs) fold(e.retired ? retired_ : scrape_, e);
}

void MetricsCollector::append_families(const MetricNames* live, const MetricFlags& flags,
                                       std::vector<MetricFamily>& out) {
  if (live != nullptr) {
    std::set<RouteKey> keep;
    for (size_t i = 0; i < live->routes.size(); ++i) keep.emplace(live->service_of(i), live->route(i));
    for (auto it = retired_.begin(); it != retired_.end();) {
      it = keep.count(it->first) ? std::next(it) : retired_.erase(it);
    }
  }
  std::map<RouteKey, Totals> all = retired_;
  for (const auto& [k, t] : scrape_) all[k].merge(t);
  if (!flags.enabled) return;

  if (flags.status_code_metrics) {
    MetricFamily f{"portico_http_requests_total",
                   "HTTP requests by service, route, status code, source and consumer", MetricType::kCounter, {}};
    for (const auto& [rk, t] : all) {
      for (const auto& [k, v] : t.requests) {
        f.add({{"service", std::get<0>(rk)},
               {"route", std::get<1>(rk)},
               {"code", std::to_string(std::get<0>(k))},
               {"source", response_source_name(std::get<1>(k))},
               {"consumer", std::get<2>(k)}},
              static_cast<double>(v));
      }
    }
    out.push_back(std::move(f));
  }
  if (flags.latency_metrics) {
    struct H {
      const char* name;
      const char* help;
      LatencyHistogram Totals::*member;
    };
    static const H kHistograms[] = {
        {"portico_request_latency_ms", "Total request latency in milliseconds: head read to last byte sent",
         &Totals::request_latency},
        {"portico_upstream_latency_ms",
         "Upstream latency in milliseconds: upstream connection ready to upstream response head",
         &Totals::upstream_latency},
        {"portico_gateway_latency_ms",
         "Latency added by the gateway in milliseconds: request latency minus upstream latency",
         &Totals::gateway_latency},
    };
    for (const H& h : kHistograms) {
      MetricFamily f{h.name, h.help, MetricType::kHistogram, {}};
      for (const auto& [rk, t] : all) {
        const LatencyHistogram& hist = t.*h.member;
        if (hist.count == 0) continue;
        add_histogram(f, {{"service", std::get<0>(rk)}, {"route", std::get<1>(rk)}}, hist);
      }
      out.push_back(std::move(f));
    }
  }
  if (flags.bandwidth_metrics) {
    MetricFamily f{"portico_bandwidth_bytes", "Bytes by service, route, direction and consumer",
                   MetricType::kCounter, {}};
    for (const auto& [rk, t] : all) {
      for (const auto& [consumer, b] : t.bandwidth) {
        f.add({{"service", std::get<0>(rk)}, {"route", std::get<1>(rk)}, {"direction", "egress"}, {"consumer", consumer}},
              static_cast<double>(b.egress));
        f.add({{"service", std::get<0>(rk)}, {"route", std::get<1>(rk)}, {"direction", "ingress"}, {"consumer", consumer}},
              static_cast<double>(b.ingress));
      }
    }
    out.push_back(std::move(f));
  }
}

}  // namespace portico::observability
