#include "filters/correlation_id/correlation_id_filter.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>

#include "codec/http1/token.h"
#include "core/object_reader.h"
#include "core/request_id.h"

namespace portico::filters {
namespace {

constexpr size_t kUuidLength = 36;

struct WorkerState {
  core::RequestIdGenerator random;
  char worker_uuid[kUuidLength];
  uint64_t counter = 0;
  WorkerState() { random.next(worker_uuid); }
};

WorkerState& worker_state() {
  thread_local WorkerState state;
  return state;
}

std::string_view host_without_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  size_t colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

}  // namespace

std::shared_ptr<const filter::Filter> CorrelationIdFilter::create(const core::ConfigNode* node,
                                                                  const std::string& path,
                                                                  core::ConfigErrors& errors) {
  Config config;
  if (node == nullptr) return std::make_shared<CorrelationIdFilter>(std::move(config));
  size_t errors_before = errors.count();
  core::ObjectReader reader(*node, path, errors);
  std::string name;
  if (reader.get("header_name", name)) {
    bool ok = !name.empty();
    for (char c : name) ok = ok && codec::http1::is_token_char(c);
    if (ok) {
      config.header_name = std::move(name);
    } else {
      reader.error("header_name", "'" + name + "' is not a valid header name");
    }
  }
  std::string generator;
  if (reader.get_enum("generator", generator, {"uuid", "uuid#counter", "tracker"})) {
    config.generator = generator == "uuid"           ? Generator::kUuid
                       : generator == "uuid#counter" ? Generator::kUuidCounter
                                                     : Generator::kTracker;
  }
  reader.get("echo_downstream", config.echo_downstream);
  reader.finish();
  if (errors.count() != errors_before) return nullptr;
  return std::make_shared<CorrelationIdFilter>(std::move(config));
}

void CorrelationIdFilter::generate(const filter::Exchange& x, std::string& out) const {
  WorkerState& w = worker_state();
  switch (config_.generator) {
    case Generator::kUuid: {
      char id[kUuidLength];
      w.random.next(id);
      out.append(id, kUuidLength);
      return;
    }
    case Generator::kUuidCounter:
      out.append(w.worker_uuid, kUuidLength);
      out += '#';
      fmt::format_to(std::back_inserter(out), "{}", ++w.counter);
      return;
    case Generator::kTracker: {
      // Kong: server_addr-server_port-worker_pid-connection-connection_requests-time. The local
      // address and the connection's serial number are not visible to plugins, so the host the
      // client addressed, the client's port and a per-worker request sequence stand in for them.
      double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
      fmt::format_to(std::back_inserter(out), "{}-{}-{}-{}-{}-{:.3f}", host_without_port(x.request.host),
                     x.request.server_port, static_cast<long>(::getpid()), x.request.client_port,
                     ++w.counter, now);
      return;
    }
  }
}

filter::Step CorrelationIdFilter::on_request(filter::Exchange& x) const {
  http::HeaderMap& headers = x.request.headers;
  if (headers.contains(config_.header_name)) return filter::Verdict::next();  // kept as sent
  std::string id;
  id.reserve(64);
  generate(x, id);
  headers.set(config_.header_name, headers.own(id));
  return filter::Verdict::next();
}

filter::Step CorrelationIdFilter::on_response(filter::Exchange& x) const {
  // The value the upstream received: the request's field, as this plugin left it.
  if (auto value = x.request.headers.get(config_.header_name)) {
    x.response.headers.set(config_.header_name, x.response.headers.own(*value));
  }
  return filter::Verdict::next();
}

}  // namespace portico::filters
