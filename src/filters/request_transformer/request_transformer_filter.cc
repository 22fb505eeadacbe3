#include "filters/request_transformer/request_transformer_filter.h"

#include <utility>

#include "core/object_reader.h"

namespace portico::filters {
namespace {

constexpr std::string_view kHost = "host";


}  // namespace

std::shared_ptr<const filter::Filter> RequestTransformerFilter::create(
    const core::ConfigNode* node, const std::string& path, core::ConfigErrors& errors) {
  HeaderOps ops;
  if (node == nullptr) return std::make_shared<RequestTransformerFilter>(std::move(ops));

  size_t errors_before = errors.count();
  core::ObjectReader reader(*node, path, errors);
  const HeaderOps::Options options{.reject_templates = true, .host_only_in_replace = true};
  for (const auto& [key, kind] : kHeaderOpKeys) {
    const core::ConfigNode* map = reader.map(key);
    if (map == nullptr) continue;
    core::ObjectReader op(*map, reader.path_of(key), errors);
    ops.read(op, kind, options);
    reject_unless_default(op, "querystring",
                          "querystring transformations are not supported yet (only headers are)");
    reject_unless_default(op, "body", "body transformations are not supported yet (only headers are)");
    if (kind == HeaderOps::Kind::kReplace) {
      reject_unless_default(op, "uri", "uri replacement is not supported yet (only headers are)");
    }
    op.finish();
  }
  reject_unless_default(reader, "http_method", "http_method is not supported yet (only headers are)");
  if (const core::ConfigNode* allow = reader.map("allow")) {
    core::ObjectReader op(*allow, reader.path_of("allow"), errors);
    reject_unless_default(op, "body", "allow.body is not supported yet (only headers are)");
    op.finish();
  }
  reader.finish();

  if (errors.count() != errors_before) return nullptr;
  return std::make_shared<RequestTransformerFilter>(std::move(ops));
}

RequestTransformerFilter::RequestTransformerFilter(HeaderOps ops) : ops_(std::move(ops)) {
  for (const auto& entry : ops_.replaces()) {
    if (http::iequals(entry.name, kHost)) host_replacement_ = entry.value;
  }
  for (const auto& entry : ops_.renames()) {
    if (http::iequals(entry.value, kHost)) renames_to_host_ = true;
  }
}

filter::Step RequestTransformerFilter::on_request(filter::Exchange& exchange) const {
  http::Request& request = exchange.request;
  ops_.apply(request.headers);
  if (host_replacement_) {
    request.headers.set("Host", *host_replacement_);
    request.host = *host_replacement_;
  } else if (renames_to_host_) {
    if (auto host = request.headers.get(kHost)) request.host = *host;
  }
  return filter::Verdict::next();
}

}  // namespace portico::filters
