// The request metrics core: histogram buckets, per-worker shards with one epoch per
// configuration, and the control thread's merge that keeps counts across reloads.
#include "observability/metrics.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "observability/metrics_collector.h"

namespace portico::observability {
namespace {

std::shared_ptr<MetricNames> names_of(std::vector<std::string> routes, std::string service = "svc") {
  auto n = std::make_shared<MetricNames>();
  n->route_services.assign(routes.size(), service);
  n->routes = std::move(routes);
  n->consumers = {"alice", "bob"};
  return n;
}

const Sample* find(const std::vector<MetricFamily>& fs, const std::string& family, const Labels& want,
                   const std::string& suffix = "") {
  for (const auto& f : fs) {
    if (f.name != family) continue;
    for (const auto& s : f.samples) {
      if (s.suffix != suffix) continue;
      bool ok = true;
      for (const auto& w : want) {
        bool has = false;
        for (const auto& l : s.labels) has = has || l == w;
        ok = ok && has;
      }
      if (ok) return &s;
    }
  }
  return nullptr;
}

double value(const std::vector<MetricFamily>& fs, const std::string& family, const Labels& want,
             const std::string& suffix = "") {
  const Sample* s = find(fs, family, want, suffix);
  return s ? s->value : -1;
}

MetricFlags all_on() {
  MetricFlags f;
  f.enabled = f.per_consumer = f.status_code_metrics = f.latency_metrics = f.bandwidth_metrics = true;
  return f;
}

TEST(LatencyHistogram, KongBucketsUpperBoundsInclusive) {
  EXPECT_EQ(kLatencyBuckets, 20u);
  EXPECT_EQ(kLatencyBucketsMs[0], 1);
  EXPECT_EQ(kLatencyBucketsMs[kLatencyBuckets - 1], 60000);
  LatencyHistogram h;
  h.observe(0.2);     // ≤ 1
  h.observe(1.0);     // ≤ 1 (le is inclusive)
  h.observe(1.5);     // ≤ 2
  h.observe(60000);   // ≤ 60000
  h.observe(90000);   // +Inf only
  EXPECT_EQ(h.buckets[0], 2u);
  EXPECT_EQ(h.buckets[1], 1u);
  EXPECT_EQ(h.buckets[kLatencyBuckets - 1], 1u);
  EXPECT_EQ(h.buckets[kLatencyBuckets], 1u);
  EXPECT_EQ(h.count, 5u);
  EXPECT_DOUBLE_EQ(h.sum, 0.2 + 1 + 1.5 + 60000 + 90000);
}

TEST(RouteSeries, RequestKeysRoundTrip) {
  uint64_t k = RouteSeries::request_key(503, ResponseSource::kExit, 41);
  EXPECT_EQ(RouteSeries::key_status(k), 503);
  EXPECT_EQ(RouteSeries::key_source(k), ResponseSource::kExit);
  EXPECT_EQ(RouteSeries::key_consumer(k), 41);
  EXPECT_EQ(RouteSeries::key_consumer(RouteSeries::request_key(200, ResponseSource::kService, -1)), -1);
}

TEST(MetricsShard, SeriesByConfigAndRouteIndex) {
  MetricsShard shard;
  auto config = std::make_shared<int>(1);
  shard.begin_epoch(config, names_of({"a", "b"}));
  EXPECT_EQ(shard.series(config.get(), 2), nullptr);   // out of range
  EXPECT_EQ(shard.series(config.get(), -1), nullptr);  // no route
  int other = 0;
  EXPECT_EQ(shard.series(&other, 0), nullptr);  // an unknown configuration
  EXPECT_EQ(shard.dropped(), 3u);
  RouteSeries* s = shard.series(config.get(), 1);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(shard.series(config.get(), 1), s);  // the same series again
}

TEST(RouteSeries, CountsByKeyWhateverTheOrderAndCopiesCountApart) {
  RouteSeries s;
  const auto ok = ResponseSource::kService;
  // Runs of one key, alternation, and a key coming back after others.
  for (int i = 0; i < 5; ++i) ++s.requests_of(200, ok, -1);
  for (int i = 0; i < 4; ++i) {
    ++s.requests_of(404, ok, -1);
    ++s.requests_of(200, ok, 1);
  }
  ++s.requests_of(200, ok, -1);
  s.bandwidth_of(-1).egress += 10;
  s.bandwidth_of(1).egress += 7;
  s.bandwidth_of(-1).egress += 5;
  EXPECT_EQ(s.requests.at(RouteSeries::request_key(200, ok, -1)), 6u);
  EXPECT_EQ(s.requests.at(RouteSeries::request_key(404, ok, -1)), 4u);
  EXPECT_EQ(s.requests.at(RouteSeries::request_key(200, ok, 1)), 4u);
  EXPECT_EQ(s.bandwidth.at(-1).egress, 15u);
  EXPECT_EQ(s.bandwidth.at(1).egress, 7u);
  // A copy (a scrape's) counts into its own maps, and the original keeps counting into its own.
  RouteSeries copy = s;
  ++copy.requests_of(200, ok, -1);
  copy.bandwidth_of(-1).egress += 1;
  ++s.requests_of(200, ok, -1);
  ++s.requests_of(200, ok, -1);
  EXPECT_EQ(copy.requests.at(RouteSeries::request_key(200, ok, -1)), 7u);
  EXPECT_EQ(s.requests.at(RouteSeries::request_key(200, ok, -1)), 8u);
  EXPECT_EQ(copy.bandwidth.at(-1).egress, 16u);
  EXPECT_EQ(s.bandwidth.at(-1).egress, 15u);
  // Many keys: the map rehashes under a remembered slot, which stays the key's.
  ++s.requests_of(500, ok, -1);
  for (uint16_t code = 100; code < 600; ++code) ++s.requests_of(code, ResponseSource::kPortico, 0);
  ++s.requests_of(200, ResponseSource::kPortico, 0);
  EXPECT_EQ(s.requests.at(RouteSeries::request_key(500, ok, -1)), 1u);
  EXPECT_EQ(s.requests.at(RouteSeries::request_key(200, ResponseSource::kPortico, 0)), 2u);
  EXPECT_EQ(s.requests.at(RouteSeries::request_key(599, ResponseSource::kPortico, 0)), 1u);
}

TEST(MetricsShard, RetiredEpochsCountAgainFromZeroAfterACollect) {
  // A request that ends after a reload records into the retired epoch; a scrape moves that
  // epoch's counts out, and later requests must land in fresh series, not in the moved ones.
  MetricsShard shard;
  auto first = std::make_shared<int>(1);
  auto second = std::make_shared<int>(2);
  shard.begin_epoch(first, names_of({"a"}));
  ++shard.series(first.get(), 0)->requests_of(200, ResponseSource::kService, -1);
  shard.begin_epoch(second, names_of({"a"}));
  ++shard.series(first.get(), 0)->requests_of(200, ResponseSource::kService, -1);
  auto moved = shard.collect();
  ++shard.series(first.get(), 0)->requests_of(200, ResponseSource::kService, -1);
  auto again = shard.collect();
  auto count_of = [](const std::vector<MetricsEpoch>& epochs, const void* key) {
    uint64_t n = 0;
    for (const auto& e : epochs) {
      if (e.config_key != key) continue;
      for (const auto& r : e.routes) {
        if (r) n += r->requests.at(RouteSeries::request_key(200, ResponseSource::kService, -1));
      }
    }
    return n;
  };
  EXPECT_EQ(count_of(moved, first.get()), 2u);
  EXPECT_EQ(count_of(again, first.get()), 1u);
}

TEST(MetricsShard, WorkersMergeAtScrape) {
  // Two workers, each its own shard on its own thread; the collector sums their copies.
  auto config = std::make_shared<int>(1);
  auto names = names_of({"a", "b"});
  MetricsShard shards[2];
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      MetricsShard::set_current(&shards[w]);
      MetricsShard::current()->begin_epoch(config, names);
      for (int i = 0; i < 1000 * (w + 1); ++i) {
        RouteSeries* s = MetricsShard::current()->series(config.get(), i % 2);
        ++s->requests[RouteSeries::request_key(200, ResponseSource::kService, -1)];
        s->request_latency.observe(i % 7);
      }
    });
  }
  for (auto& t : threads) t.join();
  MetricsCollector collector;
  collector.begin_scrape();
  for (auto& s : shards) collector.add(s.collect());
  std::vector<MetricFamily> out;
  collector.append_families(names.get(), all_on(), out);
  EXPECT_EQ(value(out, "portico_http_requests_total", {{"route", "a"}, {"code", "200"}}), 1500);
  EXPECT_EQ(value(out, "portico_http_requests_total", {{"route", "b"}, {"code", "200"}}), 1500);
  EXPECT_EQ(value(out, "portico_request_latency_ms", {{"route", "a"}}, "_count"), 1500);
  EXPECT_EQ(value(out, "portico_request_latency_ms", {{"route", "a"}, {"le", "+Inf"}}, "_bucket"), 1500);
  // Copies of a current epoch are not consumed: the next scrape sees the same totals.
  collector.begin_scrape();
  for (auto& s : shards) collector.add(s.collect());
  out.clear();
  collector.append_families(names.get(), all_on(), out);
  EXPECT_EQ(value(out, "portico_http_requests_total", {{"route", "a"}, {"code", "200"}}), 1500);
}

TEST(MetricsCollector, ReloadKeepsCountsByName) {
  MetricsShard shard;
  MetricsCollector collector;
  auto first = std::make_shared<int>(1);
  auto first_names = names_of({"a", "b", "gone"});
  shard.begin_epoch(first, first_names);
  ++shard.series(first.get(), 1)->requests[RouteSeries::request_key(200, ResponseSource::kService, -1)];
  ++shard.series(first.get(), 2)->requests[RouteSeries::request_key(200, ResponseSource::kService, -1)];
  auto scrape = [&](const MetricNames& live) {
    collector.begin_scrape();
    collector.add(shard.collect());
    std::vector<MetricFamily> out;
    collector.append_families(&live, all_on(), out);
    return out;
  };
  auto out = scrape(*first_names);
  EXPECT_EQ(value(out, "portico_http_requests_total", {{"route", "b"}}), 1);

  // Reload: "b" moves to index 0, "gone" goes away, "new" arrives.
  auto second = std::make_shared<int>(2);
  auto second_names = names_of({"b", "a", "new"});
  shard.begin_epoch(second, second_names);
  // A request that started on the first configuration ends now: it counts where it started.
  ++shard.series(first.get(), 1)->requests[RouteSeries::request_key(200, ResponseSource::kService, -1)];
  ++shard.series(second.get(), 0)->requests[RouteSeries::request_key(200, ResponseSource::kService, -1)];
  out = scrape(*second_names);
  EXPECT_EQ(value(out, "portico_http_requests_total", {{"route", "b"}}), 3);
  EXPECT_EQ(find(out, "portico_http_requests_total", {{"route", "gone"}}), nullptr);
  out = scrape(*second_names);  // nothing counted twice
  EXPECT_EQ(value(out, "portico_http_requests_total", {{"route", "b"}}), 3);

  // Many reloads: retired epochs beyond the limit are handed over, never lost.
  for (int i = 0; i < 6; ++i) {
    auto cfg = std::make_shared<int>(10 + i);
    shard.begin_epoch(cfg, second_names);
    ++shard.series(cfg.get(), 0)->requests[RouteSeries::request_key(200, ResponseSource::kService, -1)];
  }
  out = scrape(*second_names);
  EXPECT_EQ(value(out, "portico_http_requests_total", {{"route", "b"}}), 9);
}

TEST(MetricsCollector, ConsumerLabelsAndBandwidth) {
  MetricsShard shard;
  auto config = std::make_shared<int>(1);
  auto names = names_of({"a"});
  shard.begin_epoch(config, names);
  RouteSeries* s = shard.series(config.get(), 0);
  ++s->requests[RouteSeries::request_key(200, ResponseSource::kService, 1)];
  ++s->requests[RouteSeries::request_key(200, ResponseSource::kService, -1)];
  s->bandwidth[1].egress += 10;
  s->bandwidth[1].ingress += 3;
  MetricsCollector collector;
  collector.begin_scrape();
  collector.add(shard.collect());
  std::vector<MetricFamily> out;
  collector.append_families(names.get(), all_on(), out);
  EXPECT_EQ(value(out, "portico_http_requests_total", {{"consumer", "bob"}}), 1);
  EXPECT_EQ(value(out, "portico_http_requests_total", {{"consumer", ""}}), 1);
  EXPECT_EQ(value(out, "portico_bandwidth_bytes", {{"consumer", "bob"}, {"direction", "egress"}}), 10);
  EXPECT_EQ(value(out, "portico_bandwidth_bytes", {{"consumer", "bob"}, {"direction", "ingress"}}), 3);

  MetricFlags none;
  out.clear();
  collector.append_families(names.get(), none, out);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace portico::observability
