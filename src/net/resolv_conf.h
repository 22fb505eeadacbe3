// ResolvConf: the parts of resolv.conf(5) the resolver honours — `nameserver` lines and
// `options timeout:N attempts:N`. `search`, `domain`, `ndots` and the rest are ignored: gateway
// targets are fully qualified names.
//
// Contract: plain value; `load` reads the file synchronously on the control thread. Limits follow
// the C library: at most 3 nameservers, timeout capped at 30 s, attempts at 5. With no usable
// nameserver line the result names 127.0.0.1, as glibc does.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/dns_message.h"

namespace portico::net {

class ResolvConf {
 public:
  static constexpr size_t kMaxNameservers = 3;
  static constexpr int kMaxTimeoutSeconds = 30;
  static constexpr int kMaxAttempts = 5;

  static ResolvConf parse(std::string_view text);
  // nullopt when the file cannot be read (the caller decides whether defaults will do).
  static std::optional<ResolvConf> load(const std::string& path);

  const std::vector<DnsAddress>& nameservers() const { return nameservers_; }
  std::chrono::seconds timeout() const { return timeout_; }
  int attempts() const { return attempts_; }

 private:
  std::vector<DnsAddress> nameservers_;
  std::chrono::seconds timeout_{5};
  int attempts_ = 2;
};

}  // namespace portico::net
