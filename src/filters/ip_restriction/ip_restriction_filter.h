// IpRestrictionFilter: Kong's `ip-restriction` plugin. Refuses clients whose address matches
// `deny`, or, when `allow` is set, does not match it (IPv4 and IPv6 addresses and CIDR ranges,
// parsed and checked at load into binary prefixes). Refusals answer `status` (403) with
// {"message": `message`} ("Your IP address is not allowed").
//
// Contract: built by `create()` on the control thread; immutable and shared by all workers.
// on_request never waits; it parses the client address once (inet_pton) and compares prefixes.
// An IPv4-mapped IPv6 client (::ffff:a.b.c.d, from a dual-stack listener) matches IPv4 entries.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config_error.h"
#include "core/config_node.h"
#include "filter/filter.h"

namespace portico::filters {

// A set of IPv4/IPv6 prefixes; `matches` is a scan over binary prefixes (lists are short).
class IpMatcher {
 public:
  // Adds "a.b.c.d", "a.b.c.d/n", "v6" or "v6/n"; returns an error message, empty when valid.
  std::string add(std::string_view text);
  bool empty() const { return v4_.empty() && v6_.empty(); }
  // A client address in binary: IPv4, or IPv6 (IPv4-mapped ones also match IPv4 entries).
  struct Address {
    bool v4 = false;
    uint32_t a4 = 0;
    std::array<uint8_t, 16> a6{};
  };
  // The textual client address parsed once; nullopt when it is not an address.
  static std::optional<Address> parse_address(std::string_view text);
  bool matches(const Address& address) const;
  // `address` is the textual client address; false when it does not parse.
  bool matches(std::string_view address) const;

 private:
  struct V4 {
    uint32_t network;
    uint32_t mask;
  };
  struct V6 {
    std::array<uint8_t, 16> network;
    int bits;
  };
  bool matches_v4(uint32_t addr) const;
  bool matches_v6(const uint8_t* addr) const;
  std::vector<V4> v4_;
  std::vector<V6> v6_;
};

class IpRestrictionFilter final : public filter::Filter {
 public:
  static constexpr std::string_view kName = "ip-restriction";
  static constexpr int kPriority = 990;

  struct Config {
    std::vector<std::string> allow;
    std::vector<std::string> deny;
    uint16_t status = 403;
    std::string message = "Your IP address is not allowed";
  };

  static std::shared_ptr<const filter::Filter> create(const core::ConfigNode* config,
                                                      const std::string& path,
                                                      core::ConfigErrors& errors);
  IpRestrictionFilter(Config config, IpMatcher allow, IpMatcher deny)
      : config_(std::move(config)), allow_(std::move(allow)), deny_(std::move(deny)) {}

  uint32_t phases() const override { return filter::kOnRequest; }
  filter::Step on_request(filter::Exchange& exchange) const override;

 private:
  Config config_;
  IpMatcher allow_;
  IpMatcher deny_;
};

}  // namespace portico::filters
