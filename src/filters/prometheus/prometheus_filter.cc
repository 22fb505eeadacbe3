#include "filters/prometheus/prometheus_filter.h"

#include "core/object_reader.h"
#include "observability/metrics.h"

namespace portico::filters {

std::shared_ptr<const filter::Filter> PrometheusFilter::create(const core::ConfigNode* node, const std::string& path,
                                                               core::ConfigErrors& errors) {
  Config config;
  if (node == nullptr) return std::make_shared<PrometheusFilter>(config);
  size_t errors_before = errors.count();
  core::ObjectReader reader(*node, path, errors);
  reader.get("per_consumer", config.per_consumer);
  reader.get("status_code_metrics", config.status_code_metrics);
  reader.get("latency_metrics", config.latency_metrics);
  reader.get("bandwidth_metrics", config.bandwidth_metrics);
  reader.get("upstream_health_metrics", config.upstream_health_metrics);
  reader.finish();
  if (errors.count() != errors_before) return nullptr;
  return std::make_shared<PrometheusFilter>(config);
}

void PrometheusFilter::on_log(filter::Exchange& x) const {
  if (!(config_.status_code_metrics || config_.latency_metrics || config_.bandwidth_metrics)) return;
  observability::MetricsShard* shard = observability::MetricsShard::current();
  if (shard == nullptr) return;
  observability::RouteSeries* s = shard->series(x.config_key, x.route_index);
  if (s == nullptr) return;
  const int32_t consumer = config_.per_consumer ? x.consumer_index : -1;
  const bool upstream_answered = x.timings.first_byte != core::MonoTime{};
  if (config_.status_code_metrics) {
    using observability::ResponseSource;
    ResponseSource source = x.answered_by_filter                       ? ResponseSource::kExit
                            : upstream_answered && !x.reply.active() ? ResponseSource::kService
                                                                       : ResponseSource::kPortico;
    ++s->requests_of(x.status_sent, source, consumer);
  }
  if (config_.latency_metrics) {
    // The same split as the logs (filter::Latencies): gateway excludes connecting, waiting for
    // the upstream and streaming its response.
    const filter::Latencies l = filter::latencies_of(x.timings);
    s->request_latency.observe(l.total);
    if (upstream_answered) s->upstream_latency.observe(l.upstream);
    s->gateway_latency.observe(l.gateway);
  }
  if (config_.bandwidth_metrics) {
    auto& b = s->bandwidth_of(consumer);
    b.ingress += x.bytes_received;
    b.egress += x.bytes_sent;
  }
}

}  // namespace portico::filters
