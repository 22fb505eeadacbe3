#include "filters/fault_injection/fault_injection_filter.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <utility>

#include "core/object_reader.h"
#include "filters/fault_injection/fast_random.h"
#include "http/message.h"

namespace portico::filters {
namespace {

constexpr std::string_view kJsonContentType = "application/json; charset=utf-8";
// nginx's "client closed request": the only party that can cancel a request waiting here.
constexpr uint16_t kClientClosedStatus = 499;

uint32_t to_ppm(double percentage) {
  return static_cast<uint32_t>(std::llround(percentage * 10'000.0));
}

// Reads `percentage` (0..100, default 100) into parts per million.
void read_percentage(core::ObjectReader& reader, uint32_t& out) {
  double percentage = 100;
  if (reader.get("percentage", percentage, 0.0, 100.0)) out = to_ppm(percentage);
}

}  // namespace

std::shared_ptr<const filter::Filter> FaultInjectionFilter::create(const core::ConfigNode* node,
                                                                   const std::string& path,
                                                                   core::ConfigErrors& errors) {
  if (node == nullptr) {
    // No node to point at: the path alone locates the plugin entry.
    errors.add(core::ConfigError{"", {}, path, "fault-injection needs 'delay', 'abort' or both"});
    return nullptr;
  }
  size_t errors_before = errors.count();
  Config config;
  core::ObjectReader reader(*node, path, errors);

  if (const core::ConfigNode* map = reader.map("delay")) {
    core::ObjectReader delay_reader(*map, reader.path_of("delay"), errors);
    Delay delay;
    delay_reader.require("fixed_delay");
    int64_t ms = 0;
    if (delay_reader.get("fixed_delay", ms, 1, kMaxDelayMs)) {
      delay.fixed_delay = std::chrono::milliseconds(ms);
    }
    read_percentage(delay_reader, delay.parts_per_million);
    delay_reader.finish();
    config.delay = delay;
  }

  if (const core::ConfigNode* map = reader.map("abort")) {
    core::ObjectReader abort_reader(*map, reader.path_of("abort"), errors);
    Abort abort;
    abort_reader.require("http_status");
    abort_reader.get("http_status", abort.http_status, uint16_t{200}, uint16_t{599});
    read_percentage(abort_reader, abort.parts_per_million);
    abort_reader.get("message", abort.message);
    abort_reader.finish();
    config.abort = std::move(abort);
  }

  // Only when both are absent: a malformed one has already been reported where it stands.
  if (reader.valid() && !reader.has("delay") && !reader.has("abort")) {
    reader.error("delay", "fault-injection needs 'delay', 'abort' or both");
  }
  reader.finish();

  if (errors.count() != errors_before) return nullptr;
  return std::make_shared<FaultInjectionFilter>(std::move(config));
}

FaultInjectionFilter::FaultInjectionFilter(Config config) : config_(std::move(config)) {
  if (config_.abort) abort_body_ = http::json_message(config_.abort->message);
}

filter::Step FaultInjectionFilter::on_request(filter::Exchange& exchange) const {
  // Envoy draws the two faults independently: a request may be delayed, aborted, or both.
  bool delayed = config_.delay && sample_ppm(config_.delay->parts_per_million);
  bool aborted = config_.abort && sample_ppm(config_.abort->parts_per_million);
  if (delayed) return delay_then(exchange, aborted);
  if (aborted) return answer_abort(exchange);
  return filter::Verdict::next();
}

runtime::Task<filter::Verdict> FaultInjectionFilter::delay_then(filter::Exchange& exchange,
                                                                bool abort) const {
  boost::asio::steady_timer timer(exchange.executor(), config_.delay->fixed_delay);
  // as_tuple: a cancelled wait is a value to act on, not an exception on the data path.
  auto [ec] = co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  if (ec) {
    co_return filter::Verdict::error(filter::ErrorSource::kDownstream, kClientClosedStatus,
                                     "request cancelled during an injected delay");
  }
  if (abort) co_return answer_abort(exchange);
  co_return filter::Verdict::next();
}

filter::Verdict FaultInjectionFilter::answer_abort(filter::Exchange& exchange) const {
  http::LocalReply& reply = exchange.reply;
  reply.status = config_.abort->http_status;
  reply.content_type = kJsonContentType;
  reply.body = abort_body_;
  return filter::Verdict::respond();
}

}  // namespace portico::filters
