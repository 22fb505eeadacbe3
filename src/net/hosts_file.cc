#include "net/hosts_file.h"

#include <algorithm>
#include <cstdio>

#include "net/text_lines.h"

namespace portico::net {
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
  for_each_line(text, "#", [&](std::string_view line) {
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
  });
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
