#include "net/hosts_file.h"

#include <algorithm>
#include <cstdio>

namespace portico::net {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

// Splits `line` on blanks into at most `limit` tokens' worth of callbacks.
template <class F>
void for_each_token(std::string_view line, F&& f) {
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    size_t j = i;
    while (j < line.size() && !is_space(line[j])) ++j;
    if (j > i) f(line.substr(i, j - i));
    i = j;
  }
}

}  // namespace

std::optional<std::string> read_small_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return std::nullopt;
  std::string out;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return std::nullopt;
  return out;
}

HostsFile HostsFile::parse(std::string_view text) {
  HostsFile hosts;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (const size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);

    std::optional<DnsAddress> address;
    bool first = true;
    bool bad = false;
    for_each_token(line, [&](std::string_view token) {
      if (bad) return;
      if (first) {
        first = false;
        address = DnsAddress::parse(token);
        bad = !address.has_value();
        return;
      }
      std::vector<DnsAddress>& list = hosts.entries_[normalize_dns_name(token)];
      if (std::find(list.begin(), list.end(), *address) == list.end()) list.push_back(*address);
    });
  }
  return hosts;
}

std::optional<HostsFile> HostsFile::load(const std::string& path) {
  std::optional<std::string> text = read_small_file(path);
  if (!text) return std::nullopt;
  return parse(*text);
}

std::vector<DnsAddress> HostsFile::lookup(std::string_view name, bool want_v4, bool want_v6) const {
  std::vector<DnsAddress> out;
  auto it = entries_.find(normalize_dns_name(name));
  if (it == entries_.end()) return out;
  for (const DnsAddress& a : it->second) {
    if ((a.family == 4 && want_v4) || (a.family == 6 && want_v6)) out.push_back(a);
  }
  return out;
}

}  // namespace portico::net
