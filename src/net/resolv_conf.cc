#include "net/resolv_conf.h"

#include <algorithm>
#include <charconv>

#include "net/hosts_file.h"

namespace portico::net {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

std::vector<std::string_view> tokens(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    size_t j = i;
    while (j < line.size() && !is_space(line[j])) ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

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
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (const size_t c = line.find_first_of("#;"); c != std::string_view::npos) line = line.substr(0, c);
    const std::vector<std::string_view> t = tokens(line);
    if (t.empty()) continue;
    if (t[0] == "nameserver" && t.size() >= 2) {
      if (conf.nameservers_.size() >= kMaxNameservers) continue;
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
  }
  if (conf.nameservers_.empty()) conf.nameservers_.push_back(DnsAddress::v4({127, 0, 0, 1}));
  return conf;
}

std::optional<ResolvConf> ResolvConf::load(const std::string& path) {
  std::optional<std::string> text = read_small_file(path);
  if (!text) return std::nullopt;
  return parse(*text);
}

}  // namespace portico::net
