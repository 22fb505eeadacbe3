#include "filters/basic_auth/basic_auth_filter.h"

#include <utility>

#include "core/ascii.h"
#include "core/object_reader.h"
#include "filter/consumer_directory.h"
#include "filters/auth_common.h"
#include "http/message.h"

namespace portico::filters {
namespace {

using observability::AuthPlugin;
using observability::AuthReason;

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

int decode_base64(std::string_view in, char* out, size_t cap) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return -1;
  size_t n = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = base64_value(c);
    if (v < 0) return -1;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n >= cap) return -1;
      out[n++] = static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return static_cast<int>(n);
}

std::shared_ptr<const filter::Filter> BasicAuthFilter::create(const core::ConfigNode* node,
                                                              const std::string& path,
                                                              core::ConfigErrors& errors) {
  Config config;
  if (node == nullptr) return std::make_shared<BasicAuthFilter>(std::move(config));
  const size_t errors_before = errors.count();
  core::ObjectReader reader(*node, path, errors);
  read_anonymous(reader, config.anonymous);
  reader.get("hide_credentials", config.hide_credentials);
  if (reader.get("realm", config.realm)) {
    if (config.realm.empty()) reader.error("realm", "realm must not be empty");
    if (config.realm.find('"') != std::string::npos) reader.error("realm", "realm must not contain '\"'");
  }
  reader.finish();
  if (errors.count() != errors_before) return nullptr;
  return std::make_shared<BasicAuthFilter>(std::move(config));
}

BasicAuthFilter::BasicAuthFilter(Config config) : config_(std::move(config)) {
  www_authenticate_ = "Basic realm=\"" + config_.realm + "\"";
}

filter::Verdict BasicAuthFilter::fail(filter::Exchange& x, bool missing) const {
  if (!config_.anonymous.empty()) {
    return authenticate_anonymous(x, config_.anonymous) ? filter::Verdict::next()
                                                        : filter::Verdict::respond();
  }
  return refuse(x, 401, missing ? "Unauthorized" : "Invalid authentication credentials",
                www_authenticate_, AuthPlugin::kBasicAuth,
                missing ? AuthReason::kMissing : AuthReason::kInvalid);
}

filter::Step BasicAuthFilter::on_request(filter::Exchange& x) const {
  if (!config_.anonymous.empty() && already_authenticated(x)) return filter::Verdict::next();
  http::HeaderMap& headers = x.request.headers;
  std::string_view header_name = "Authorization";
  auto value = headers.get(header_name);
  if (!value) {
    header_name = "Proxy-Authorization";
    value = headers.get(header_name);
  }
  if (!value) return fail(x, true);

  std::string_view v = core::trim_ows(*value);
  const filter::BasicCredentialEntry* cred = nullptr;
  bool ok = false;
  if (v.size() > 6 && http::iequals(v.substr(0, 6), "basic ")) {
    char decoded[1024];
    const int n = decode_base64(core::trim_ows(v.substr(6)), decoded, sizeof decoded);
    std::string_view text = n > 0 ? std::string_view(decoded, static_cast<size_t>(n)) : std::string_view();
    const size_t colon = text.find(':');
    if (colon != std::string_view::npos && colon > 0 && x.consumers) {
      cred = x.consumers->find_basic(text.substr(0, colon));
      if (!cred) {
        // The same work for an unknown username as for a wrong password: no timing oracle for
        // which usernames exist.
        static const std::string kNoSalt(16, '\0');
        (void)filter::password_digest(kNoSalt, text.substr(colon + 1));
      }
      if (cred) {
        const std::string digest = filter::password_digest(cred->salt, text.substr(colon + 1));
        ok = filter::digest_equals(digest, cred->hash);
      }
    }
  }
  if (config_.hide_credentials) headers.remove(header_name);
  if (!ok) return fail(x, false);
  filter::authenticate(x, *x.consumers, cred->consumer, cred->username, false);
  return filter::Verdict::next();
}

}  // namespace portico::filters
