#include "filters/auth_common.h"

#include "filter/consumer_directory.h"
#include "filters/request_termination/query_args.h"
#include "http/message.h"

namespace portico::filters {

void allow_or_deny_required(const core::ConfigNode* node, const std::string& path, core::ConfigErrors& errors) {
  static constexpr std::string_view kMessage =
      "at least one of these fields must be non-empty: 'config.allow', 'config.deny'";
  if (node == nullptr) {
    errors.add(core::ConfigError{{}, {}, path, std::string(kMessage)});
  } else {
    errors.add(*node, path, std::string(kMessage));
  }
}

void read_anonymous(core::ObjectReader& reader, std::string& out) {
  reader.get("anonymous", out);  // null = none, as an absent key
}

bool authenticate_anonymous(filter::Exchange& x, std::string_view anonymous) {
  const int index = x.consumers ? x.consumers->find_consumer(anonymous) : -1;
  if (index < 0) {
    http::set_json_error(x.reply, 500, "An unexpected error occurred");
    return false;
  }
  filter::authenticate(x, *x.consumers, index, {}, true);
  return true;
}

void hide_query_arg(http::Request& r, std::string_view name) {
  std::string rest = without_arg(r.query, name);
  if (rest.size() == r.query.size()) return;  // nothing removed
  r.query = r.headers.own(rest);
  r.has_query = !r.query.empty();
}

filter::Verdict refuse(filter::Exchange& x, uint16_t status, std::string_view message,
                       std::string_view www_authenticate, observability::AuthPlugin plugin,
                       observability::AuthReason reason) {
  observability::WorkerStats::count_auth_rejected(plugin, reason);
  http::set_json_error(x.reply, status, message);
  if (!www_authenticate.empty()) x.reply.headers.add("WWW-Authenticate", www_authenticate);
  return filter::Verdict::respond();
}

}  // namespace portico::filters
