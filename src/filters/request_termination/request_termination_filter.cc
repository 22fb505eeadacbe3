#include "filters/request_termination/request_termination_filter.h"

#include <utility>

#include "core/object_reader.h"
#include "filters/header_ops.h"
#include "filters/request_termination/echo_document.h"
#include "filters/request_termination/query_args.h"
#include "http/message.h"

namespace portico::filters {
namespace {

constexpr std::string_view kJsonContentType = "application/json; charset=utf-8";

bool is_present(const std::optional<std::string>& s) { return s && !s->empty(); }

}  // namespace

const char* RequestTerminationFilter::default_message(uint16_t status) {
  switch (status) {
    case 401: return "Unauthorized";
    case 404: return "Not found";
    case 405: return "Method not allowed";
    case 500: return "An unexpected error occurred";
    case 502: return "Bad Gateway";
    case 503: return "Service unavailable";
    default: return nullptr;
  }
}

std::shared_ptr<const filter::Filter> RequestTerminationFilter::create(
    const core::ConfigNode* node, const std::string& path, core::ConfigErrors& errors) {
  Config config;
  if (node == nullptr) return std::make_shared<RequestTerminationFilter>(std::move(config));

  size_t errors_before = errors.count();
  core::ObjectReader reader(*node, path, errors);
  reader.get("status_code", config.status_code, uint16_t{100}, uint16_t{599});
  std::string text;
  if (reader.get("message", text)) config.message = std::move(text);
  if (reader.get("body", text)) config.body = std::move(text);
  if (reader.get("content_type", text)) config.content_type = std::move(text);
  reader.get("echo", config.echo);
  if (reader.get("trigger", text)) {
    if (is_kong_header_name(text)) {
      config.trigger = std::move(text);
    } else if (text.empty()) {
      reader.error("trigger", "no header name provided");
    } else {
      reader.error("trigger", "bad header name '" + text +
                                  "', allowed characters are A-Z, a-z, 0-9, '_', and '-'");
    }
  }

  // Kong's custom_validator rules, with Kong's messages; each is reported at the field to change.
  if (is_present(config.message) && (is_present(config.content_type) || is_present(config.body))) {
    reader.error("message", "message cannot be used with content_type or body");
  }
  if (is_present(config.content_type) && !is_present(config.body)) {
    reader.error("content_type", "content_type requires a body");
  }
  if (config.echo && (is_present(config.content_type) || is_present(config.body))) {
    reader.error("echo", "echo cannot be used with content_type and body");
  }
  reader.finish();

  if (errors.count() != errors_before) return nullptr;
  return std::make_shared<RequestTerminationFilter>(std::move(config));
}

RequestTerminationFilter::RequestTerminationFilter(Config config) : config_(std::move(config)) {
  const char* fallback = default_message(config_.status_code);
  if (config_.message) {
    echo_message_ = config_.message;
  } else if (fallback != nullptr) {
    echo_message_ = std::string(fallback);
  }

  if (config_.body) {
    // A raw body goes out as configured. Kong documents application/json as the default type.
    body_ = *config_.body;
    content_type_ = is_present(config_.content_type) ? *config_.content_type
                                                     : std::string(kJsonContentType);
  } else if (echo_message_) {
    body_ = http::json_message(*echo_message_);
    content_type_ = kJsonContentType;
  }
  // Else: a status Kong has no default text for and no message: an empty body, no content type.

  trigger_as_header_ = config_.trigger;
  for (char& c : trigger_as_header_) {
    if (c == '_') c = '-';
  }
}

bool RequestTerminationFilter::triggered(const http::Request& request) const {
  for (const auto& field : request.headers) {
    if (http::iequals(field.name, config_.trigger) || http::iequals(field.name, trigger_as_header_)) {
      return true;
    }
  }
  bool found = false;
  for_each_query_arg(request.query, [&](std::string_view key, std::string_view, bool) {
    if (!found && decodes_to(key, config_.trigger)) found = true;
  });
  return found;
}

filter::Step RequestTerminationFilter::on_request(filter::Exchange& exchange) const {
  if (!config_.trigger.empty() && !triggered(exchange.request)) return filter::Verdict::next();

  http::LocalReply& reply = exchange.reply;
  reply.status = config_.status_code;
  if (config_.echo) {
    reply.content_type = kJsonContentType;
    build_echo_document(exchange, echo_message_ ? &*echo_message_ : nullptr, reply.body);
  } else {
    reply.content_type = content_type_;
    reply.body = body_;
  }
  return filter::Verdict::respond();
}

}  // namespace portico::filters
