// HostsFile: the static name → address table of /etc/hosts, consulted before DNS.
//
// Contract: plain value, no I/O except `load`, which reads the whole file synchronously (small,
// local; the resolver calls it on the control thread, never on a worker). Malformed lines are
// skipped, as the C library does; a missing file is an empty table, not an error.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "net/dns_message.h"

namespace portico::net {

class HostsFile {
 public:
  // Parses hosts(5) text: "address name [aliases...]", '#' starts a comment.
  static HostsFile parse(std::string_view text);
  // Reads and parses `path`; nullopt when the file cannot be read.
  static std::optional<HostsFile> load(const std::string& path);

  // Addresses for `name` (case-insensitive, one trailing dot ignored) in file order, filtered to
  // the families asked for; empty when the name is not listed.
  std::vector<DnsAddress> lookup(std::string_view name, bool want_v4, bool want_v6) const;
  size_t size() const { return entries_.size(); }

 private:
  std::unordered_map<std::string, std::vector<DnsAddress>> entries_;
};

// Reads a small local file whole with stdio (no iostreams); nullopt if it cannot be opened.
std::optional<std::string> read_small_file(const std::string& path);

}  // namespace portico::net
