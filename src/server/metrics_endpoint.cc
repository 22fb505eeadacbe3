#include "server/metrics_endpoint.h"

#include <map>
#include <string>
#include <utility>

#include "filters/prometheus/prometheus_filter.h"
#include "observability/access_log.h"
#include "observability/span_exporter.h"
#include "upstream/health.h"

namespace portico::server {

namespace obs = observability;
using obs::MetricFamily;
using obs::MetricType;

std::shared_ptr<const obs::MetricNames> metric_names(const config::Snapshot& snapshot) {
  auto names = std::make_shared<obs::MetricNames>();
  const config::Config& c = *snapshot.config;
  names->routes.resize(c.routes.size());
  names->route_services.resize(c.routes.size());
  for (size_t i = 0; i < c.routes.size(); ++i) {
    const auto& r = c.routes[i];
    names->routes[i] = r.name.empty() ? r.id : r.name;
    if (r.service >= 0 && static_cast<size_t>(r.service) < c.services.size()) {
      const auto& s = c.services[static_cast<size_t>(r.service)];
      names->route_services[i] = s.name.empty() ? s.id : s.name;
    }
  }
  names->consumers.reserve(c.consumers.size());
  for (const auto& consumer : c.consumers) {
    names->consumers.push_back(!consumer.username.empty()    ? consumer.username
                               : !consumer.custom_id.empty() ? consumer.custom_id
                                                             : consumer.id);
  }
  return names;
}

obs::MetricFlags metric_flags(const config::Snapshot& snapshot) {
  obs::MetricFlags flags;
  auto take = [&flags](const filter::Filter* f) {
    const auto* p = dynamic_cast<const filters::PrometheusFilter*>(f);
    if (p == nullptr) return;
    const auto& c = p->config();
    flags.enabled = true;
    flags.per_consumer |= c.per_consumer;
    flags.status_code_metrics |= c.status_code_metrics;
    flags.latency_metrics |= c.latency_metrics;
    flags.bandwidth_metrics |= c.bandwidth_metrics;
    flags.upstream_health_metrics |= c.upstream_health_metrics;
  };
  if (snapshot.routes) {
    for (const auto& route : snapshot.routes->routes()) {
      for (const filter::Filter* f : route->chain.on_log()) take(f);
    }
  }
  for (const auto& list : snapshot.consumer_plugins) {
    for (const auto& cp : list) take(cp.filter.get());
  }
  return flags;
}

namespace {

MetricFamily family(const char* name, const char* help, MetricType type) { return MetricFamily{name, help, type, {}}; }

}  // namespace

void append_gateway_families(const GatewayView& view, std::vector<MetricFamily>& out) {
  using S = obs::WorkerStats;
  auto sum = [&](auto member) {
    double total = 0;
    for (const auto& w : view.workers) total += static_cast<double>((w.stats->*member).value());
    return total;
  };

  auto connections = family("portico_connections", "Client connections by state and worker", MetricType::kGauge);
  for (const auto& w : view.workers) {
    const std::string worker = std::to_string(w.index);
    const auto active = w.stats->connections_active.value();
    const auto reading = w.stats->connections_reading.value();
    const auto writing = w.stats->connections_writing.value();
    connections.add({{"state", "active"}, {"worker", worker}}, static_cast<double>(active));
    connections.add({{"state", "reading"}, {"worker", worker}}, static_cast<double>(reading));
    connections.add({{"state", "writing"}, {"worker", worker}}, static_cast<double>(writing));
    const auto idle = active - reading - writing;
    connections.add({{"state", "idle"}, {"worker", worker}}, static_cast<double>(idle > 0 ? idle : 0));
  }
  out.push_back(std::move(connections));

  auto accepted = family("portico_connections_accepted_total", "Client connections accepted", MetricType::kCounter);
  accepted.add({}, sum(&S::connections_accepted));
  out.push_back(std::move(accepted));

  auto requests = family("portico_requests_total", "Requests received (complete heads), all routes", MetricType::kCounter);
  requests.add({}, sum(&S::requests_total));
  out.push_back(std::move(requests));

  auto responses = family("portico_responses_total", "Responses sent by status class", MetricType::kCounter);
  for (int c = 1; c <= 5; ++c) {
    double t = 0;
    for (const auto& w : view.workers) t += static_cast<double>(w.stats->responses[c].value());
    responses.add({{"class", std::to_string(c) + "xx"}}, t);
  }
  out.push_back(std::move(responses));

  auto rejected = family("portico_requests_rejected_total", "Requests the gateway refused before any route's plugins, by reason",
                         MetricType::kCounter);
  rejected.add({{"reason", "bad_request"}}, sum(&S::bad_requests));
  rejected.add({{"reason", "no_route"}}, sum(&S::no_route));
  rejected.add({{"reason", "overload"}}, sum(&S::overload_rejected));
  out.push_back(std::move(rejected));

  auto limited = family("portico_rate_limited_total", "Requests refused by the rate-limiting plugin",
                        MetricType::kCounter);
  limited.add({}, sum(&S::rate_limited));
  out.push_back(std::move(limited));
  auto store_errors = family("portico_rate_limit_store_errors_total",
                             "Rate-limit decisions the store (Redis) could not make", MetricType::kCounter);
  store_errors.add({}, sum(&S::rate_limit_store_errors));
  out.push_back(std::move(store_errors));

  auto upstream = family("portico_upstream_requests_total", "Attempts sent to upstream targets (retries included)",
                         MetricType::kCounter);
  upstream.add({}, sum(&S::upstream_requests));
  out.push_back(std::move(upstream));

  auto errors = family("portico_upstream_errors_total", "Failed upstream attempts by kind", MetricType::kCounter);
  errors.add({{"kind", "bad_response"}}, sum(&S::upstream_bad_responses));
  errors.add({{"kind", "connect_failure"}}, sum(&S::upstream_connect_failures));
  errors.add({{"kind", "timeout"}}, sum(&S::upstream_timeouts));
  out.push_back(std::move(errors));

  auto retries = family("portico_upstream_retries_total", "Retries made by route retry policies", MetricType::kCounter);
  retries.add({}, sum(&S::upstream_retries));
  out.push_back(std::move(retries));

  static constexpr const char* kLimits[] = {"max_connections", "max_pending_requests", "max_requests", "max_retries"};
  auto trips = family("portico_circuit_breaker_trips_total", "Requests or retries refused by a circuit breaker, by limit",
                      MetricType::kCounter);
  for (size_t l = 0; l < 4; ++l) {
    double t = 0;
    for (const auto& w : view.workers) t += static_cast<double>(w.stats->circuit_breaker_trips[l].value());
    trips.add({{"limit", kLimits[l]}}, t);
  }
  out.push_back(std::move(trips));

  auto health = family("portico_health_state_changes_total",
                       "Target addresses changing between healthy and unhealthy (ejections and recoveries)",
                       MetricType::kCounter);
  health.add({}, static_cast<double>(view.health_state_changes));
  out.push_back(std::move(health));

  auto bytes = family("portico_client_bytes_total", "Bytes from and to clients, all routes", MetricType::kCounter);
  bytes.add({{"direction", "egress"}}, sum(&S::bytes_sent));
  bytes.add({{"direction", "ingress"}}, sum(&S::bytes_received));
  out.push_back(std::move(bytes));

  auto info = family("portico_config_info", "The configuration the control thread runs (value 1)", MetricType::kGauge);
  info.add({{"version", view.config_version}}, 1);
  out.push_back(std::move(info));

  auto worker_info = family("portico_worker_config_info", "The configuration each worker runs (value 1)", MetricType::kGauge);
  for (const auto& w : view.workers) worker_info.add({{"version", w.config_version}, {"worker", std::to_string(w.index)}}, 1);
  out.push_back(std::move(worker_info));

  auto reloads = family("portico_config_reloads_total", "Configurations applied after the first (SIGHUP or POST /config)",
                        MetricType::kCounter);
  reloads.add({}, static_cast<double>(view.config_reloads));
  out.push_back(std::move(reloads));

  auto failures = family("portico_config_reload_failures_total", "Configurations rejected on reload", MetricType::kCounter);
  failures.add({}, static_cast<double>(view.config_reload_failures));
  out.push_back(std::move(failures));

  // Span exporters of the opentelemetry plugin (live ones, summed per endpoint).
  std::map<std::string, observability::ExporterCounterSnapshot> exporters;
  for (const auto& e : observability::SpanExporter::all_counters()) {
    auto& t = exporters[e.endpoint];
    t.spans_exported += e.spans_exported;
    t.spans_dropped_queue_full += e.spans_dropped_queue_full;
    t.spans_dropped_export_failed += e.spans_dropped_export_failed;
    t.export_failures += e.export_failures;
  }
  if (!exporters.empty()) {
    auto spans = family("portico_tracing_spans_total",
                        "Spans of the opentelemetry plugin by outcome: exported, dropped_queue_full (never blocks a "
                        "worker), dropped_export_failed",
                        MetricType::kCounter);
    auto export_failures = family("portico_tracing_export_failures_total", "Batches the collector did not accept",
                                  MetricType::kCounter);
    for (const auto& [endpoint, t] : exporters) {
      spans.add({{"endpoint", endpoint}, {"outcome", "exported"}}, static_cast<double>(t.spans_exported));
      spans.add({{"endpoint", endpoint}, {"outcome", "dropped_queue_full"}},
                static_cast<double>(t.spans_dropped_queue_full));
      spans.add({{"endpoint", endpoint}, {"outcome", "dropped_export_failed"}},
                static_cast<double>(t.spans_dropped_export_failed));
      export_failures.add({{"endpoint", endpoint}}, static_cast<double>(t.export_failures));
    }
    out.push_back(std::move(spans));
    out.push_back(std::move(export_failures));
  }

  // Log lines lost: the access log's full queue, and file-log files (full queue, write errors).
  auto log_lost = family("portico_log_batches_lost_total",
                         "Batches of log lines lost, by log and reason (a full queue never blocks a worker)",
                         MetricType::kCounter);
  log_lost.add({{"log", "access_log"}, {"reason", "queue_full"}}, sum(&S::access_log_dropped));
  const auto plugin_logs = observability::log_destination_totals();
  log_lost.add({{"log", "file-log"}, {"reason", "queue_full"}}, static_cast<double>(plugin_logs.dropped));
  log_lost.add({{"log", "file-log"}, {"reason", "write_error"}}, static_cast<double>(plugin_logs.write_errors));
  out.push_back(std::move(log_lost));

}

void append_upstream_health_family(const config::Snapshot& snap, std::vector<MetricFamily>& out) {
  auto f = family("portico_upstream_target_health",
                  "Health of each upstream target address: one series per state, 1 for the current state",
                  MetricType::kGauge);
  static constexpr const char* kStates[] = {"healthchecks_off", "healthy", "unhealthy", "dns_error"};
  auto emit = [&f](const std::string& upstream, const std::string& target, const std::string& address, int current) {
    for (int s = 0; s < 4; ++s) {
      f.add({{"upstream", upstream}, {"target", target}, {"address", address}, {"state", kStates[s]}},
            s == current ? 1 : 0);
    }
  };
  std::vector<std::string> seen;
  for (const auto& c : snap.clusters) {
    if (c->upstream_name.empty()) continue;
    bool dup = false;
    for (const auto& s : seen) dup = dup || s == c->upstream_name;
    if (dup) continue;
    seen.push_back(c->upstream_name);
    const bool checked = c->health_check.active() || c->health_check.passive.enabled();
    for (size_t t = 0; t < c->targets.size(); ++t) {
      const std::string target = upstream::target_text(*c, t);
      bool any = false;
      for (size_t i = 0; i < c->endpoints.size(); ++i) {
        const auto& ep = c->endpoints[i];
        if (ep.target != t) continue;
        any = true;
        const bool healthy = !c->health || c->health->healthy(i);
        emit(c->upstream_name, target, ep.key, !checked ? 0 : (healthy ? 1 : 2));
      }
      if (!any) emit(c->upstream_name, target, "", 3);  // no address: the name did not resolve
    }
  }
  out.push_back(std::move(f));
}

}  // namespace portico::server
