#include "net/resolv_conf.h"

#include <algorithm>
#include <charconv>

#include "net/hosts_file.h"
#include "net/text_lines.h"

namespace portico::net {
namespace {

// "name:N" → N when `option` has that prefix and a non-negative integer after it.
std::optional<int> option_value(std::string_view option, std::string_view name) {
  if (option.size() <= name.size() + 1 || option.substr(0, name.size()) != name || option[name.size()] != ':') {
    return std::nullopt;
  }
  const std::string_view digits = option.substr(name.size() + 1);
  int value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size() || value < 0) return std::nullopt;
  return value;
}

}  // namespace

ResolvConf ResolvConf::parse(std::string_view text) {
  ResolvConf conf;
  for_each_line(text, "#;", [&](std::string_view line) {
    std::vector<std::string_view> t;
    for_each_token(line, [&](std::string_view token) { t.push_back(token); });
    if (t.empty()) return;
    if (t[0] == "nameserver" && t.size() >= 2) {
      if (conf.nameservers_.size() >= kMaxNameservers) return;
      // A link-local IPv6 zone ("%eth0") cannot be carried in DnsAddress; such a line is skipped.
      if (auto a = DnsAddress::parse(t[1])) conf.nameservers_.push_back(*a);
    } else if (t[0] == "options") {
      for (size_t i = 1; i < t.size(); ++i) {
        if (auto v = option_value(t[i], "timeout")) {
          conf.timeout_ = std::chrono::seconds(std::clamp(*v, 1, kMaxTimeoutSeconds));
        } else if (auto a = option_value(t[i], "attempts")) {
          conf.attempts_ = std::clamp(*a, 1, kMaxAttempts);
        }
      }
    }
  });
  if (conf.nameservers_.empty()) conf.nameservers_.push_back(DnsAddress::v4({127, 0, 0, 1}));
  return conf;
}

std::optional<ResolvConf> ResolvConf::load(const std::string& path) {
  std::optional<std::string> text = read_small_file(path);
  if (!text) return std::nullopt;
  return parse(*text);
}

}  // namespace portico::net
