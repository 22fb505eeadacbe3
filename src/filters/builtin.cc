#include "filters/builtin.h"

#include <string>

#include "filters/acl/acl_filter.h"
#include "filters/basic_auth/basic_auth_filter.h"
#include "filters/correlation_id/correlation_id_filter.h"
#include "filters/ip_restriction/ip_restriction_filter.h"
#include "filters/jwt/jwt_filter.h"
#include "filters/key_auth/key_auth_filter.h"
#include "filters/mtls_auth/mtls_auth_filter.h"
#include "filters/oauth2_introspection/oauth2_introspection_filter.h"
#include "filters/rate_limiting/rate_limiting_filter.h"
#include "filters/request_size_limiting/request_size_limiting_filter.h"
#include "filters/fault_injection/fault_injection_filter.h"
#include "filters/prometheus/prometheus_filter.h"
#include "filters/file_log/file_log_filter.h"
#include "filters/opentelemetry/opentelemetry_filter.h"
#include "filters/request_termination/request_termination_filter.h"
#include "filters/request_transformer/request_transformer_filter.h"
#include "filters/response_transformer/response_transformer_filter.h"

namespace portico::filters {
namespace {

template <class F>
void add(filter::Registry& registry) {
  registry.add(filter::PluginFactory{std::string(F::kName), F::kPriority, &F::create});
}

}  // namespace

void register_builtin_plugins(filter::Registry& registry) {
  add<RequestTerminationFilter>(registry);
  add<RequestTransformerFilter>(registry);
  add<ResponseTransformerFilter>(registry);
  add<FaultInjectionFilter>(registry);
  add<PrometheusFilter>(registry);
  add<FileLogFilter>(registry);
  add<OpenTelemetryFilter>(registry);
  add<CorrelationIdFilter>(registry);
  add<KeyAuthFilter>(registry);
  add<JwtFilter>(registry);
  add<OAuth2IntrospectionFilter>(registry);
  add<MtlsAuthFilter>(registry);
  add<BasicAuthFilter>(registry);
  add<AclFilter>(registry);
  add<IpRestrictionFilter>(registry);
  add<RequestSizeLimitingFilter>(registry);
  add<RateLimitingFilter>(registry);
}

}  // namespace portico::filters
