#include "filters/ip_restriction/ip_restriction_filter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <utility>

#include "core/object_reader.h"
#include "filters/auth_common.h"

namespace portico::filters {
namespace {

using observability::AuthPlugin;
using observability::AuthReason;

// inet_pton needs a NUL-terminated string; addresses are short.
bool parse(std::string_view text, int family, void* out) {
  char buf[64];
  if (text.empty() || text.size() >= sizeof buf) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  return inet_pton(family, buf, out) == 1;
}

uint32_t v4_mask(int bits) { return bits == 0 ? 0 : ~uint32_t{0} << (32 - bits); }

}  // namespace

std::string IpMatcher::add(std::string_view text) {
  std::string_view addr = text;
  int bits = -1;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    std::string_view len = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), bits);
    if (len.empty() || ec != std::errc() || end != len.data() + len.size() || bits < 0) {
      return "invalid ip or cidr range: '" + std::string(text) + "'";
    }
  }
  in_addr a4{};
  in6_addr a6{};
  if (parse(addr, AF_INET, &a4)) {
    if (bits > 32) return "invalid ip or cidr range: '" + std::string(text) + "' (prefix over 32)";
    const int b = bits < 0 ? 32 : bits;
    const uint32_t mask = v4_mask(b);
    v4_.push_back({ntohl(a4.s_addr) & mask, mask});
    return {};
  }
  if (parse(addr, AF_INET6, &a6)) {
    if (bits > 128) return "invalid ip or cidr range: '" + std::string(text) + "' (prefix over 128)";
    V6 v{};
    v.bits = bits < 0 ? 128 : bits;
    std::memcpy(v.network.data(), &a6, 16);
    for (int i = 0; i < 16; ++i) {
      const int keep = std::max(0, std::min(8, v.bits - i * 8));
      v.network[static_cast<size_t>(i)] &= static_cast<uint8_t>(keep == 0 ? 0 : 0xff << (8 - keep));
    }
    v6_.push_back(v);
    return {};
  }
  return "invalid ip or cidr range: '" + std::string(text) + "'";
}

bool IpMatcher::matches_v4(uint32_t addr) const {
  for (const V4& r : v4_) {
    if ((addr & r.mask) == r.network) return true;
  }
  return false;
}

bool IpMatcher::matches_v6(const uint8_t* addr) const {
  for (const V6& r : v6_) {
    const int full = r.bits / 8, rest = r.bits % 8;
    if (std::memcmp(addr, r.network.data(), static_cast<size_t>(full)) != 0) continue;
    if (rest != 0) {
      const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
      if ((addr[full] & mask) != r.network[static_cast<size_t>(full)]) continue;
    }
    return true;
  }
  return false;
}

std::optional<IpMatcher::Address> IpMatcher::parse_address(std::string_view text) {
  Address out;
  if (text.find(':') == std::string_view::npos) {
    in_addr a4{};
    if (!parse(text, AF_INET, &a4)) return std::nullopt;
    out.v4 = true;
    out.a4 = ntohl(a4.s_addr);
    return out;
  }
  in6_addr a6{};
  if (!parse(text, AF_INET6, &a6)) return std::nullopt;
  std::memcpy(out.a6.data(), &a6, 16);
  return out;
}

bool IpMatcher::matches(const Address& address) const {
  if (address.v4) return matches_v4(address.a4);
  const uint8_t* b = address.a6.data();
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(b, kMapped, 12) == 0) {
    const uint32_t v4 = (uint32_t{b[12]} << 24) | (uint32_t{b[13]} << 16) | (uint32_t{b[14]} << 8) | b[15];
    if (matches_v4(v4)) return true;
  }
  return matches_v6(b);
}

bool IpMatcher::matches(std::string_view address) const {
  const auto parsed = parse_address(address);
  return parsed && matches(*parsed);
}

std::shared_ptr<const filter::Filter> IpRestrictionFilter::create(const core::ConfigNode* node,
                                                                  const std::string& path,
                                                                  core::ConfigErrors& errors) {
  Config config;
  if (node == nullptr) {
    allow_or_deny_required(node, path, errors);
    return nullptr;
  }
  const size_t errors_before = errors.count();
  core::ObjectReader reader(*node, path, errors);
  IpMatcher allow, deny;
  for (std::string_view key : {"allow", "deny"}) {
    auto& list = key == "allow" ? config.allow : config.deny;
    if (!reader.get(key, list)) continue;
    IpMatcher& m = key == "allow" ? allow : deny;
    for (size_t i = 0; i < list.size(); ++i) {
      if (std::string e = m.add(list[i]); !e.empty()) {
        errors.add((*node->find(key))[i], core::path_index(reader.path_of(key), i), std::move(e));
      }
    }
  }
  reader.get("status", config.status, uint16_t{100}, uint16_t{599});
  reader.get("message", config.message);
  reader.finish();
  if (errors.count() == errors_before && config.allow.empty() && config.deny.empty()) {
    allow_or_deny_required(node, path, errors);
  }
  if (errors.count() != errors_before) return nullptr;
  return std::make_shared<IpRestrictionFilter>(std::move(config), std::move(allow), std::move(deny));
}

filter::Step IpRestrictionFilter::on_request(filter::Exchange& x) const {
  std::string_view ip = x.request.client_ip;
  if (const size_t scope = ip.find('%'); scope != std::string_view::npos) ip = ip.substr(0, scope);  // fe80::1%eth0
  // Kong checks deny first, then allow. An address that cannot be judged is not let through.
  const auto address = IpMatcher::parse_address(ip);
  if (!address || (!deny_.empty() && deny_.matches(*address)) || (!allow_.empty() && !allow_.matches(*address))) {
    return refuse(x, config_.status, config_.message, {}, AuthPlugin::kIpRestriction,
                  AuthReason::kForbidden);
  }
  return filter::Verdict::next();
}

}  // namespace portico::filters
