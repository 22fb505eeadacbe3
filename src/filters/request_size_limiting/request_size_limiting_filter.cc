#include "filters/request_size_limiting/request_size_limiting_filter.h"

#include <utility>

#include "core/object_reader.h"
#include "filters/auth_common.h"

namespace portico::filters {
namespace {
using observability::AuthPlugin;
using observability::AuthReason;
}  // namespace

std::shared_ptr<const filter::Filter> RequestSizeLimitingFilter::create(
    const core::ConfigNode* node, const std::string& path, core::ConfigErrors& errors) {
  Config config;
  if (node == nullptr) return std::make_shared<RequestSizeLimitingFilter>(std::move(config));
  const size_t errors_before = errors.count();
  core::ObjectReader reader(*node, path, errors);
  // At least 1 (0 would read as "no limit" to the proxy); up to 2^40 of any unit keeps the byte
  // count far from overflowing.
  reader.get("allowed_payload_size", config.allowed_payload_size, uint64_t{1}, uint64_t{1} << 40);
  reader.get_enum("size_unit", config.size_unit, {"megabytes", "kilobytes", "bytes"});
  reader.get("require_content_length", config.require_content_length);
  reader.finish();
  if (errors.count() != errors_before) return nullptr;
  return std::make_shared<RequestSizeLimitingFilter>(std::move(config));
}

RequestSizeLimitingFilter::RequestSizeLimitingFilter(Config config) : config_(std::move(config)) {
  const uint64_t unit = config_.size_unit == "megabytes"   ? uint64_t{1} << 20
                        : config_.size_unit == "kilobytes" ? uint64_t{1} << 10
                                                           : 1;
  limit_ = config_.allowed_payload_size * unit;
}

filter::Step RequestSizeLimitingFilter::on_request(filter::Exchange& x) const {
  const http::Request& r = x.request;
  if (r.chunked) {
    if (config_.require_content_length) {
      return refuse(x, 411, "A valid Content-Length header is required", {},
                    AuthPlugin::kRequestSizeLimiting, AuthReason::kLengthRequired);
    }
    x.max_body_bytes = limit_;  // enforced while the body streams (proxy)
    return filter::Verdict::next();
  }
  if (r.content_length > limit_) {
    return refuse(x, 413, "Request size limit exceeded", {}, AuthPlugin::kRequestSizeLimiting,
                  AuthReason::kTooLarge);
  }
  return filter::Verdict::next();
}

}  // namespace portico::filters
