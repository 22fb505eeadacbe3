#include "filters/key_auth/key_auth_filter.h"

#include <utility>

#include "core/object_reader.h"
#include "filters/header_ops.h"
#include "filter/consumer_directory.h"
#include "filters/auth_common.h"
#include "filters/request_termination/query_args.h"
#include "http/message.h"

namespace portico::filters {
namespace {

using observability::AuthPlugin;
using observability::AuthReason;

}  // namespace

std::shared_ptr<const filter::Filter> KeyAuthFilter::create(const core::ConfigNode* node,
                                                            const std::string& path,
                                                            core::ConfigErrors& errors) {
  Config config;
  if (node == nullptr) return std::make_shared<KeyAuthFilter>(std::move(config));
  const size_t errors_before = errors.count();
  core::ObjectReader reader(*node, path, errors);
  if (reader.get("key_names", config.key_names)) {
    if (config.key_names.empty()) reader.error("key_names", "key_names must not be empty");
    const core::ConfigNode& list = *node->find("key_names");
    for (size_t i = 0; i < config.key_names.size(); ++i) {
      if (!is_kong_header_name(config.key_names[i])) {
        errors.add(list[i], core::path_index(reader.path_of("key_names"), i),
                   "bad header name '" + config.key_names[i] +
                       "', allowed characters are A-Z, a-z, 0-9, '_', and '-'");
      }
    }
  }
  reader.get("hide_credentials", config.hide_credentials);
  read_anonymous(reader, config.anonymous);
  reader.get("key_in_header", config.key_in_header);
  reader.get("key_in_query", config.key_in_query);
  if (reader.get("key_in_body", config.key_in_body) && config.key_in_body) {
    reader.error("key_in_body",
                 "key_in_body: true is not supported yet (Portico streams request bodies); send the "
                 "key in a header or the query string");
  }
  reader.get("run_on_preflight", config.run_on_preflight);
  if (reader.get("realm", config.realm) && config.realm.find('"') != std::string::npos) {
    reader.error("realm", "realm must not contain '\"'");
  }
  reader.finish();
  if (errors.count() != errors_before) return nullptr;
  return std::make_shared<KeyAuthFilter>(std::move(config));
}

KeyAuthFilter::KeyAuthFilter(Config config) : config_(std::move(config)) {
  www_authenticate_ = config_.realm.empty() ? "Key" : "Key realm=\"" + config_.realm + "\"";
}

filter::Verdict KeyAuthFilter::fail(filter::Exchange& x, bool missing) const {
  if (!config_.anonymous.empty()) {
    return authenticate_anonymous(x, config_.anonymous) ? filter::Verdict::next()
                                                        : filter::Verdict::respond();
  }
  return refuse(x, 401, missing ? "No API key found in request" : "Invalid authentication credentials",
                www_authenticate_, AuthPlugin::kKeyAuth, missing ? AuthReason::kMissing : AuthReason::kInvalid);
}

filter::Step KeyAuthFilter::on_request(filter::Exchange& x) const {
  http::Request& r = x.request;
  if (!config_.run_on_preflight && r.method == "OPTIONS") return filter::Verdict::next();
  if (!config_.anonymous.empty() && already_authenticated(x)) return filter::Verdict::next();

  std::string_view key;
  std::string decoded;  // only when the query value needs decoding
  for (const std::string& name : config_.key_names) {
    bool found = false;
    if (config_.key_in_header) {
      const size_t n = r.headers.count(name);
      if (n > 1) {
        return refuse(x, 401, "Duplicate API key found", www_authenticate_, AuthPlugin::kKeyAuth,
                      AuthReason::kInvalid);
      }
      if (n == 1) {
        key = *r.headers.get(name);
        found = true;
        if (config_.hide_credentials) {
          r.headers.remove(name);
          // A second copy in the query string must not reach the upstream either.
          if (config_.key_in_query && r.has_query) hide_query_arg(r, name);
        }
      }
    }
    if (!found && config_.key_in_query && r.has_query) {
      size_t matches = 0;
      std::string_view raw;
      for_each_query_arg(r.query, [&](std::string_view k, std::string_view v, bool) {
        if (decodes_to(k, name)) {
          ++matches;
          raw = v;
        }
      });
      if (matches > 1) {
        return refuse(x, 401, "Duplicate API key found", www_authenticate_, AuthPlugin::kKeyAuth,
                      AuthReason::kInvalid);
      }
      if (matches == 1) {
        found = true;
        key = decoded_view(raw, decoded);
        // `key` may view the old query, which stays alive: the new one is a fresh copy.
        if (config_.hide_credentials) hide_query_arg(r, name);
      }
    }
    if (found) break;
  }

  if (key.empty()) return fail(x, true);
  const filter::KeyCredentialEntry* cred = x.consumers ? x.consumers->find_key(key) : nullptr;
  if (cred == nullptr) return fail(x, false);
  filter::authenticate(x, *x.consumers, cred->consumer, cred->id, false);
  return filter::Verdict::next();
}

}  // namespace portico::filters
