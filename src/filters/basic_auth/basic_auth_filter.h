// BasicAuthFilter: Kong's `basic-auth` plugin. Reads `Authorization: Basic <base64(user:pass)>`
// (or Proxy-Authorization), finds the user among the snapshot's basicauth_credentials and checks
// the password against its salted HMAC-SHA-256 in constant time. No header: 401 "Unauthorized";
// a malformed header, unknown user or wrong password: 401 "Invalid authentication credentials";
// both with `WWW-Authenticate: Basic realm="<realm>"`. With `anonymous`, failures authenticate as
// that consumer instead.
//
// Contract: built by `create()` on the control thread; immutable and shared by all workers.
// on_request never waits and never allocates (the header decodes into a stack buffer).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/config_error.h"
#include "core/config_node.h"
#include "filter/filter.h"

namespace portico::filters {

class BasicAuthFilter final : public filter::Filter {
 public:
  static constexpr std::string_view kName = "basic-auth";
  static constexpr int kPriority = 1100;

  struct Config {
    std::string anonymous;
    bool hide_credentials = false;
    std::string realm = "service";
  };

  static std::shared_ptr<const filter::Filter> create(const core::ConfigNode* config,
                                                      const std::string& path,
                                                      core::ConfigErrors& errors);
  explicit BasicAuthFilter(Config config);

  uint32_t phases() const override { return filter::kOnRequest; }
  filter::Step on_request(filter::Exchange& exchange) const override;

 private:
  filter::Verdict fail(filter::Exchange& x, bool missing) const;
  Config config_;
  std::string www_authenticate_;
};

// Decodes standard base64 (with or without padding) into `out` (capacity `cap`); returns the
// length, or -1 when the input is not valid base64 or does not fit.
int decode_base64(std::string_view in, char* out, size_t cap);

}  // namespace portico::filters
