// MtlsAuthFilter: Kong's `mtls-auth` plugin. Authenticates a request by the client certificate of
// its TLS connection: the certificate (and the chain the client sent) must verify against the
// plugin's `ca_certificates` (ids of top-level `ca_certificates` entities), then its names map to
// a consumer: mtls_auth_credentials by subject name first (when the snapshot has any), then the
// consumers' `username` / `custom_id` as `consumer_by` lists them. Names are tried in this order:
// the subject's CN, then subjectAltName DNS names, e-mail addresses and URIs (certificate order
// within each type).
//
// Refusals (401, Kong's messages, counted under auth_rejected.mtls-auth.*):
//   no certificate (or a plaintext connection)  "No required TLS certificate was sent"   missing
//   untrusted, expired, wrong purpose, ...     "TLS certificate failed verification"    invalid
//   trusted, but no consumer matches            "No consumer found for the presented certificate"
//                                                                                         no_consumer
// With `anonymous` every refusal authenticates as that consumer instead; with `default_consumer`
// a trusted certificate that maps to no consumer authenticates as that one. With
// `skip_consumer_lookup` a trusted certificate is enough: no consumer, and the upstream gets
// X-Client-Cert-DN (RFC 2253 subject) and X-Client-Cert-San (the subjectAltNames, ", "-joined).
// Copies of those two headers sent by the client are always removed on the plugin's routes.
//
// Contract: built by `create()` on the control thread; immutable and shared by all workers.
// The trust store is built when the snapshot compiles (config/snapshot.cc, from the ids this
// plugin lists) and found through Exchange::consumers. on_request never waits; the chain is
// verified once per connection and plugin instance (the verdict is kept in
// Exchange::peer_certificate), so keep-alive requests only map names.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config_error.h"
#include "core/config_node.h"
#include "filter/filter.h"

namespace portico::filters {

class MtlsAuthFilter final : public filter::Filter {
 public:
  static constexpr std::string_view kName = "mtls-auth";
  static constexpr int kPriority = 1600;  // Kong's PRIORITY

  struct Config {
    std::vector<std::string> ca_certificates;  // ca_certificate ids, at least one
    bool consumer_by_username = true;          // `consumer_by` ["username", "custom_id"]
    bool consumer_by_custom_id = true;
    std::string anonymous;                     // consumer id or username; empty = none
    std::string default_consumer;              // consumer id or username; empty = none
    bool skip_consumer_lookup = false;
    std::string authenticated_group_by = "CN";  // CN | DN
    bool allow_partial_chain = false;
    std::string revocation_check_mode = "IGNORE_CA_ERROR";  // SKIP | IGNORE_CA_ERROR
    bool send_ca_dn = false;
    double cert_cache_ttl = 60000;  // ms (Kong); verdicts live as long as the connection
    double cache_ttl = 60000;
  };

  static std::shared_ptr<const filter::Filter> create(const core::ConfigNode* config,
                                                      const std::string& path,
                                                      core::ConfigErrors& errors);

  explicit MtlsAuthFilter(Config config);

  uint32_t phases() const override { return filter::kOnRequest; }
  filter::Step on_request(filter::Exchange& exchange) const override;

  const Config& config() const { return config_; }
  // The key of this instance's trust store in the ConsumerDirectory: its ca_certificates ids
  // joined with '\n' (config/snapshot.cc builds the store under the same key).
  static std::string trust_key(const std::vector<std::string>& ca_ids);

 private:
  filter::Verdict fail(filter::Exchange& x, uint16_t which) const;
  // The consumer the certificate's names map to (and the credential's id), or -1.
  int find_consumer(filter::Exchange& x, int anchor, std::string_view& credential_id) const;

  Config config_;
  std::string trust_key_;
  uint64_t instance_;  // unique per instance, across reloads: keys the per-connection verdicts
};

}  // namespace portico::filters
