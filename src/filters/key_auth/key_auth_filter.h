// KeyAuthFilter: Kong's `key-auth` plugin. Finds an API key in the request (headers named by
// `key_names`, then the query string), looks it up among the snapshot's keyauth_credentials and
// authenticates the request as the credential's consumer (X-Consumer-* headers upstream, the
// consumer's plugins from then on). Without a key: 401 "No API key found in request"; with an
// unknown one: 401 "Invalid authentication credentials"; both with `WWW-Authenticate: Key`
// (`Key realm="<realm>"` when `realm` is set). With `anonymous`, failures authenticate as that
// consumer instead.
//
// Contract: built by `create()` on the control thread; immutable and shared by all workers.
// on_request never waits; it looks the key up in Exchange::consumers (a hash lookup).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config_error.h"
#include "core/config_node.h"
#include "filter/filter.h"

namespace portico::filters {

class KeyAuthFilter final : public filter::Filter {
 public:
  static constexpr std::string_view kName = "key-auth";
  static constexpr int kPriority = 1250;  // Kong's PRIORITY

  struct Config {
    std::vector<std::string> key_names = {"apikey"};
    bool hide_credentials = false;
    std::string anonymous;  // consumer id or username; empty = none
    bool key_in_header = true;
    bool key_in_query = true;
    bool key_in_body = false;  // only false: reading the body would stop streaming
    bool run_on_preflight = true;
    std::string realm;  // empty = none
  };

  static std::shared_ptr<const filter::Filter> create(const core::ConfigNode* config,
                                                      const std::string& path,
                                                      core::ConfigErrors& errors);

  explicit KeyAuthFilter(Config config);

  uint32_t phases() const override { return filter::kOnRequest; }
  filter::Step on_request(filter::Exchange& exchange) const override;

  const Config& config() const { return config_; }

 private:
  filter::Verdict fail(filter::Exchange& x, bool missing) const;

  Config config_;
  std::string www_authenticate_;
};


}  // namespace portico::filters
