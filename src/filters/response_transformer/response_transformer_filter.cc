#include "filters/response_transformer/response_transformer_filter.h"

#include <utility>

#include "core/object_reader.h"

namespace portico::filters {
std::shared_ptr<const filter::Filter> ResponseTransformerFilter::create(
    const core::ConfigNode* node, const std::string& path, core::ConfigErrors& errors) {
  HeaderOps ops;
  if (node == nullptr) return std::make_shared<ResponseTransformerFilter>(std::move(ops));

  size_t errors_before = errors.count();
  core::ObjectReader reader(*node, path, errors);
  // Kong's response-transformer has no templates and no special Host rule.
  const HeaderOps::Options options{};
  for (const auto& [key, kind] : kHeaderOpKeys) {
    const core::ConfigNode* map = reader.map(key);
    if (map == nullptr) continue;
    core::ObjectReader op(*map, reader.path_of(key), errors);
    ops.read(op, kind, options);
    // Kong's schema has no rename.json, so there it stays an unknown field.
    if (kind != HeaderOps::Kind::kRename) {
      reject_unless_default(op, "json",
                            "JSON body transformations are not supported yet (only headers are)");
    }
    if (kind == HeaderOps::Kind::kReplace || kind == HeaderOps::Kind::kAdd ||
        kind == HeaderOps::Kind::kAppend) {
      reject_unless_default(op, "json_types",
                            "JSON body transformations are not supported yet (only headers are)");
    }
    op.finish();
  }
  reader.finish();

  if (errors.count() != errors_before) return nullptr;
  return std::make_shared<ResponseTransformerFilter>(std::move(ops));
}

filter::Step ResponseTransformerFilter::on_response(filter::Exchange& exchange) const {
  ops_.apply(exchange.response.headers);
  return filter::Verdict::next();
}

}  // namespace portico::filters
