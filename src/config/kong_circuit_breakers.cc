// Portico's `circuit_breakers` block (Envoy's thresholds) on Kong `upstreams[]` and on services
// whose host is not an upstream.
#include "config/kong_schema.h"

namespace portico::config {

void KongSchema::read_circuit_breakers(core::ObjectReader& r, std::optional<CircuitBreakers>& out) {
  const core::ConfigNode* node = r.map("circuit_breakers");
  if (!node) return;
  core::ObjectReader b(*node, r.path_of("circuit_breakers"), errors_);
  if (!b.valid()) return;
  CircuitBreakers cb;
  cb.mark = node->mark();
  // 0 refuses everything: allowed, as in Envoy (a way to shed an upstream's traffic); the upper
  // bound only keeps the counts far from wrapping.
  constexpr uint32_t kMax = 1u << 30;
  b.get("max_connections", cb.max_connections, 0u, kMax);
  b.get("max_pending_requests", cb.max_pending_requests, 0u, kMax);
  b.get("max_requests", cb.max_requests, 0u, kMax);
  b.get("max_retries", cb.max_retries, 0u, kMax);
  b.finish();
  out = cb;
}

}  // namespace portico::config
