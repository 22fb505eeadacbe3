#include "filters/mtls_auth/mtls_auth_filter.h"

#include "codec/http1/token.h"

#include <atomic>
#include <utility>

#include "core/object_reader.h"
#include "filter/consumer_directory.h"
#include "filters/auth_common.h"
#include "http/message.h"
#include "session/tls.h"

namespace portico::filters {
namespace {

using observability::AuthPlugin;
using observability::AuthReason;

constexpr uint16_t kMissing = 0;
constexpr uint16_t kUntrusted = 1;
constexpr uint16_t kNoConsumer = 2;

constexpr std::string_view kClientCertDn = "X-Client-Cert-DN";
constexpr std::string_view kClientCertSan = "X-Client-Cert-San";

std::atomic<uint64_t> next_instance{1};

// Kong's proxy for OCSP/CRL fetching: Portico fetches neither, so only null (Kong's default) is
// accepted.
constexpr std::string_view kRevocationProxyFields[] = {"http_proxy_host", "http_proxy_port", "https_proxy_host",
                                                       "https_proxy_port"};

}  // namespace

std::string MtlsAuthFilter::trust_key(const std::vector<std::string>& ca_ids) {
  std::string key;
  for (const std::string& id : ca_ids) {
    if (!key.empty()) key += '\n';
    key += id;
  }
  return key;
}

std::shared_ptr<const filter::Filter> MtlsAuthFilter::create(const core::ConfigNode* node,
                                                             const std::string& path,
                                                             core::ConfigErrors& errors) {
  Config config;
  if (node == nullptr) {
    errors.add(core::ConfigError{{}, {}, path, "missing required field 'ca_certificates'"});
    return nullptr;
  }
  const size_t errors_before = errors.count();
  core::ObjectReader reader(*node, path, errors);
  reader.require("ca_certificates");
  if (reader.get("ca_certificates", config.ca_certificates)) {
    if (config.ca_certificates.empty()) {
      reader.error("ca_certificates", "ca_certificates must name at least one ca_certificate id");
    }
    const core::ConfigNode& list = *node->find("ca_certificates");
    for (size_t i = 0; i < config.ca_certificates.size(); ++i) {
      if (config.ca_certificates[i].empty()) {
        errors.add(list[i], core::path_index(reader.path_of("ca_certificates"), i), "a ca_certificate id must not be empty");
      }
    }
  }
  std::vector<std::string> consumer_by;
  if (reader.get("consumer_by", consumer_by)) {
    config.consumer_by_username = config.consumer_by_custom_id = false;
    const core::ConfigNode& list = *node->find("consumer_by");
    for (size_t i = 0; i < consumer_by.size(); ++i) {
      if (consumer_by[i] == "username") {
        config.consumer_by_username = true;
      } else if (consumer_by[i] == "custom_id") {
        config.consumer_by_custom_id = true;
      } else {
        errors.add(list[i], core::path_index(reader.path_of("consumer_by"), i),
                   "expected one of: username, custom_id (got \"" + consumer_by[i] + "\")");
      }
    }
  }
  read_anonymous(reader, config.anonymous);
  reader.get("default_consumer", config.default_consumer);
  reader.get("skip_consumer_lookup", config.skip_consumer_lookup);
  reader.get_enum("authenticated_group_by", config.authenticated_group_by, {"CN", "DN"});
  reader.get("allow_partial_chain", config.allow_partial_chain);
  if (reader.get("revocation_check_mode", config.revocation_check_mode) &&
      config.revocation_check_mode != "SKIP" && config.revocation_check_mode != "IGNORE_CA_ERROR") {
    reader.error("revocation_check_mode",
                 config.revocation_check_mode == "STRICT"
                     ? "revocation_check_mode STRICT is not supported: Portico does not fetch OCSP "
                       "responses or CRLs; use SKIP or IGNORE_CA_ERROR (revocation is not checked)"
                     : "expected one of: SKIP, IGNORE_CA_ERROR (got \"" + config.revocation_check_mode + "\")");
  }
  reader.get("send_ca_dn", config.send_ca_dn);
  reader.get("cert_cache_ttl", config.cert_cache_ttl, 0, 1e12);
  reader.get("cache_ttl", config.cache_ttl, 0, 1e12);
  for (std::string_view field : kRevocationProxyFields) {
    if (reader.has(field)) {
      reader.reject(field, "not supported: Portico fetches no OCSP responses or CRLs, so it uses no proxy "
                           "for them; remove the field (or set it to null)");
    } else {
      reader.ignore(field);
    }
  }
  // Settings of that fetching too: type-checked, without effect.
  double http_timeout = 0;
  reader.get("http_timeout", http_timeout, 0, 1e12);
  bool ssl_verify = false;
  reader.get("ssl_verify", ssl_verify);
  reader.finish();
  if (errors.count() != errors_before) return nullptr;
  return std::make_shared<MtlsAuthFilter>(std::move(config));
}

MtlsAuthFilter::MtlsAuthFilter(Config config)
    : config_(std::move(config)),
      trust_key_(trust_key(config_.ca_certificates)),
      instance_(next_instance.fetch_add(1, std::memory_order_relaxed)) {}

filter::Verdict MtlsAuthFilter::fail(filter::Exchange& x, uint16_t which) const {
  if (!config_.anonymous.empty()) {
    return authenticate_anonymous(x, config_.anonymous) ? filter::Verdict::next() : filter::Verdict::respond();
  }
  switch (which) {
    case kMissing:
      return refuse(x, 401, "No required TLS certificate was sent", {}, AuthPlugin::kMtlsAuth, AuthReason::kMissing);
    case kUntrusted:
      return refuse(x, 401, "TLS certificate failed verification", {}, AuthPlugin::kMtlsAuth, AuthReason::kInvalid);
    default:
      return refuse(x, 401, "No consumer found for the presented certificate", {}, AuthPlugin::kMtlsAuth,
                    AuthReason::kNoConsumer);
  }
}

int MtlsAuthFilter::find_consumer(filter::Exchange& x, int anchor, std::string_view& credential_id) const {
  const filter::ConsumerDirectory& dir = *x.consumers;
  const session::PeerNames& names = x.peer_certificate->names();
  std::string_view anchor_id;
  if (anchor >= 0 && static_cast<size_t>(anchor) < config_.ca_certificates.size()) {
    anchor_id = config_.ca_certificates[static_cast<size_t>(anchor)];
  }
  auto each_name = [&](auto&& fn) -> int {
    if (!names.common_name.empty()) {
      if (int c = fn(names.common_name); c >= 0) return c;
    }
    for (const auto* list : {&names.dns, &names.email, &names.uri}) {
      for (const std::string& n : *list) {
        if (n.empty()) continue;
        if (int c = fn(n); c >= 0) return c;
      }
    }
    return -1;
  };
  // mtls_auth_credentials: the precise mapping, optionally tied to the CA that vouched.
  int found = each_name([&](std::string_view name) {
    const auto* creds = dir.find_mtls(name);
    if (creds == nullptr) return -1;
    for (const filter::MtlsCredentialEntry& c : *creds) {
      if (c.ca_certificate.empty() || c.ca_certificate == anchor_id) {
        credential_id = c.id;
        return c.consumer;
      }
    }
    return -1;
  });
  if (found >= 0) return found;
  credential_id = {};
  return each_name([&](std::string_view name) {
    int c = config_.consumer_by_username ? dir.find_consumer_by_username(name) : -1;
    if (c < 0 && config_.consumer_by_custom_id) c = dir.find_consumer_by_custom_id(name);
    return c;
  });
}

filter::Step MtlsAuthFilter::on_request(filter::Exchange& x) const {
  http::HeaderMap& h = x.request.headers;
  // Only this plugin states these: a client's copies never reach the upstream.
  h.remove(kClientCertDn);
  h.remove(kClientCertSan);
  if (!config_.anonymous.empty() && already_authenticated(x)) return filter::Verdict::next();

  session::PeerCertificate* peer = x.peer_certificate;
  if (peer == nullptr || !peer->present()) return fail(x, kMissing);
  session::PeerCertificate::Verdict verdict;
  if (const auto* known = peer->verdict(instance_)) {
    verdict = *known;
  } else {
    const session::TrustStore* store = x.consumers ? x.consumers->find_trust_store(trust_key_) : nullptr;
    if (store == nullptr) {
      // The snapshot builds a store for every instance's ids; none means a hand-built exchange.
      verdict.error = -1;
    } else {
      verdict = store->verify(*peer, config_.allow_partial_chain);
    }
    peer->remember(instance_, verdict);
  }
  if (verdict.error != 0) return fail(x, kUntrusted);

  if (config_.skip_consumer_lookup) {
    const session::PeerNames& names = peer->names();
    h.set(kClientCertDn, h.own(names.subject));
    std::string san;
    for (const auto* list : {&names.dns, &names.email, &names.uri}) {
      for (const std::string& n : *list) {
        // A SAN is an IA5String and may hold CR / LF: a name that is not a valid field value
        // would let a certificate write headers of its own upstream, so it is left out.
        if (!codec::http1::is_field_value(n)) continue;
        if (!san.empty()) san += ", ";
        san += n;
      }
    }
    if (!san.empty()) h.set(kClientCertSan, h.own(san));
    return filter::Verdict::next();
  }

  std::string_view credential_id;
  int consumer = x.consumers ? find_consumer(x, verdict.anchor, credential_id) : -1;
  if (consumer < 0 && !config_.default_consumer.empty() && x.consumers) {
    consumer = x.consumers->find_consumer(config_.default_consumer);
    credential_id = {};
  }
  if (consumer < 0) return fail(x, kNoConsumer);
  filter::authenticate(x, *x.consumers, consumer, credential_id, false);
  return filter::Verdict::next();
}

}  // namespace portico::filters
