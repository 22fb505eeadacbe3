#include "router/route_index.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

namespace portico::router {
namespace {

// Set-wide options must equal each member's own, so patterns are grouped by the options that
// change what a pattern means.
uint32_t options_key(const RE2::Options& o) {
  return static_cast<uint32_t>(o.encoding()) | o.posix_syntax() << 2 | o.longest_match() << 3 |
         o.literal() << 4 | o.never_nl() << 5 | o.dot_nl() << 6 | o.never_capture() << 7 |
         o.case_sensitive() << 8 | o.perl_classes() << 9 | o.word_boundary() << 10 |
         o.one_line() << 11;
}

// ASCII only, as http::iequals compares.
void ascii_lower(std::string& s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
  }
}

constexpr int64_t kSetMaxMem = int64_t{64} << 20;
// More regexes than this sharing one literal prefix are matched as a set, not one by one.
constexpr size_t kMaxRegexesPerLiteral = 8;
// A literal prefix shorter than this ("/") would make the regex run for almost every request.
constexpr size_t kMinRegexLiteral = 2;
constexpr int kRegexRangeLen = 128;

constexpr uint8_t kNeedsRoute = 1;  // a method outside kCommonMethods, or header conditions
constexpr uint16_t kAllMethods = 0xffff;
constexpr uint16_t kOtherMethod = 0x8000;
constexpr std::string_view kCommonMethods[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                               "CONNECT", "OPTIONS", "TRACE", "PATCH"};

// Methods compare exactly (case-sensitive), as in the linear scan.
uint16_t method_bit(std::string_view method) {
  for (size_t i = 0; i < std::size(kCommonMethods); ++i) {
    if (kCommonMethods[i] == method) return static_cast<uint16_t>(1u << i);
  }
  return kOtherMethod;
}

std::string_view common_prefix(std::string_view a, std::string_view b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return a.substr(0, n);
}

}  // namespace

struct RouteIndex::Scratch {
  struct Span {
    const uint32_t* begin;
    const uint32_t* end;
    bool verified;  // regex candidates already known to match (from a set)
  };
  std::vector<Span> spans;
  std::vector<uint32_t> regex_ranks;
  std::vector<int> set_hits;
  std::string host;
};

RouteIndex::RouteIndex(const std::vector<Ranked>& ranked) : ranked_(ranked) {
  info_.reserve(ranked_.size());
  for (const Ranked& c : ranked_) {
    RankInfo ri{0, kAllMethods, static_cast<uint8_t>(c.kind), 0};
    if (c.kind == PathKind::kPrefix) {
      ri.prefix_len = static_cast<uint32_t>(c.route->prefixes[c.path_index].size());
    }
    if (!c.route->methods.empty()) {
      ri.method_mask = 0;
      for (const std::string& m : c.route->methods) {
        uint16_t bit = method_bit(m);
        if (bit == kOtherMethod) {
          ri.method_mask = kAllMethods;
          ri.flags |= kNeedsRoute;
          break;
        }
        ri.method_mask |= bit;
      }
    }
    if (!c.route->headers.empty()) ri.flags |= kNeedsRoute;
    info_.push_back(ri);
  }

  // Pass 1: candidates into groups by host pattern.
  std::vector<std::vector<uint32_t>> members;  // per group, ascending ranks
  std::unordered_map<std::string, uint32_t> group_of;  // kind byte + lower-case key
  auto group_for = [&](HostKind kind, std::string_view key) {
    std::string k(1, static_cast<char>(kind));
    k += key;
    auto [it, inserted] = group_of.try_emplace(std::move(k), static_cast<uint32_t>(groups_.size()));
    if (inserted) {
      groups_.emplace_back();
      members.emplace_back();
    }
    return it->second;
  };
  for (uint32_t rank = 0; rank < ranked_.size(); ++rank) {
    const Route& r = *ranked_[rank].route;
    if (r.hosts.empty()) {
      if (no_host_group_ == UINT32_MAX) {
        no_host_group_ = static_cast<uint32_t>(groups_.size());
        groups_.emplace_back();
        members.emplace_back();
      }
      members[no_host_group_].push_back(rank);
      continue;
    }
    for (const std::string& pattern : r.hosts) {
      // Mirrors host_matches: which flavour of comparison the pattern asks for.
      bool has_port = pattern.find(':') != std::string::npos && pattern.front() != '[';
      int base = has_port ? kExactPort : kExact;
      std::string key = pattern;
      ascii_lower(key);
      size_t n = key.size();
      uint32_t g;
      if (n > 1 && key[0] == '*' && key[1] == '.') {
        g = group_for(static_cast<HostKind>(base + 1), std::string_view(key).substr(1));
      } else if (n > 1 && key[n - 1] == '*' && key[n - 2] == '.') {
        g = group_for(static_cast<HostKind>(base + 2), std::string_view(key).substr(0, n - 1));
      } else {
        g = group_for(static_cast<HostKind>(base), key);
      }
      // A route naming one host twice lands in a group once.
      if (members[g].empty() || members[g].back() != rank) members[g].push_back(rank);
    }
  }

  // Host table: at most half full.
  size_t capacity = 8;
  while (capacity < group_of.size() * 2) capacity *= 2;
  hosts_.assign(capacity, HostSlot{0, 0, 0, UINT32_MAX});
  for (const auto& [k, g] : group_of) {
    auto kind = static_cast<HostKind>(k[0]);
    std::string_view key = std::string_view(k).substr(1);
    uint64_t h = host_hash(kind, key);
    size_t i = h & (capacity - 1);
    while (hosts_[i].group != UINT32_MAX) i = (i + 1) & (capacity - 1);
    hosts_[i] = {h, static_cast<uint32_t>(host_keys_.size()), static_cast<uint32_t>(key.size()), g};
    host_keys_ += key;
    ++host_kind_count_[kind];
  }

  // Pass 2: per group, a radix tree of prefixes and literal regex prefixes, and regex sets.
  std::vector<std::pair<std::string_view, uint32_t>> items;
  std::vector<std::string> literals;  // keys of regex items; alive until the tree is built
  std::vector<uint32_t> set_regexes;
  std::unordered_map<std::string_view, size_t> literal_count;
  for (size_t g = 0; g < groups_.size(); ++g) {
    items.clear();
    literals.clear();
    set_regexes.clear();
    literal_count.clear();
    literals.reserve(members[g].size());
    for (uint32_t rank : members[g]) {
      const Ranked& c = ranked_[rank];
      if (c.kind == PathKind::kAny) {
        items.emplace_back(std::string_view(), rank);
      } else if (c.kind == PathKind::kPrefix) {
        items.emplace_back(c.route->prefixes[c.path_index], rank);
      } else {
        const RE2& re = *c.route->regexes[c.path_index];
        std::string min, max;
        literals.emplace_back();
        if (re.PossibleMatchRange(&min, &max, kRegexRangeLen)) {
          literals.back() = common_prefix(min, max);
        }
        if (literals.back().size() >= kMinRegexLiteral) ++literal_count[literals.back()];
      }
    }
    size_t li = 0;
    for (uint32_t rank : members[g]) {
      if (ranked_[rank].kind != PathKind::kRegex) continue;
      const std::string& lit = literals[li++];
      if (lit.size() >= kMinRegexLiteral && literal_count[lit] <= kMaxRegexesPerLiteral) {
        items.emplace_back(lit, rank);
      } else {
        set_regexes.push_back(rank);
      }
    }
    if (!items.empty()) {
      std::sort(items.begin(), items.end());
      uint32_t root = static_cast<uint32_t>(nodes_.size());
      nodes_.push_back({});
      first_bytes_.push_back(0);
      build_node(root, items, 0, items.size(), 0);
      groups_[g].root = root;
    }
    for (uint32_t rank : set_regexes) {
      const RE2& re = *ranked_[rank].route->regexes[ranked_[rank].path_index];
      uint32_t key = options_key(re.options());
      auto& sets = groups_[g].sets;
      auto it = std::find_if(sets.begin(), sets.end(), [&](const RegexSet& s) {
        return options_key(s.set_options) == key;
      });
      if (it == sets.end()) {
        RegexSet s;
        s.set_options = re.options();
        s.set_options.set_log_errors(false);
        s.set_options.set_max_mem(std::max(s.set_options.max_mem(), kSetMaxMem));
        s.set = std::make_unique<RE2::Set>(s.set_options, RE2::ANCHOR_START);
        sets.push_back(std::move(s));
        it = sets.end() - 1;
      }
      if (it->set->Add(re.pattern(), nullptr) < 0) {
        groups_[g].loose_regexes.push_back(rank);
        continue;
      }
      it->ranks.push_back(rank);
    }
    for (auto it = groups_[g].sets.begin(); it != groups_[g].sets.end();) {
      if (it->ranks.empty() || !it->set->Compile()) {
        // Too large to compile as one automaton: its patterns are tried one by one.
        auto& loose = groups_[g].loose_regexes;
        loose.insert(loose.end(), it->ranks.begin(), it->ranks.end());
        it = groups_[g].sets.erase(it);
      } else {
        ++it;
      }
    }
    std::sort(groups_[g].loose_regexes.begin(), groups_[g].loose_regexes.end());
  }
}

uint64_t RouteIndex::host_hash(HostKind kind, std::string_view key) {
  uint64_t h = 14695981039346656037ull ^ kind;  // FNV-1a; keys are short
  for (char c : key) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

uint32_t RouteIndex::find_host(HostKind kind, std::string_view key) const {
  if (host_kind_count_[kind] == 0) return UINT32_MAX;
  uint64_t h = host_hash(kind, key);
  size_t mask = hosts_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    const HostSlot& slot = hosts_[i];
    if (slot.group == UINT32_MAX) return UINT32_MAX;
    if (slot.hash == h && slot.key_len == key.size() &&
        std::memcmp(host_keys_.data() + slot.key_begin, key.data(), key.size()) == 0) {
      return slot.group;
    }
  }
}

void RouteIndex::build_node(uint32_t slot, std::vector<std::pair<std::string_view, uint32_t>>& items,
                            size_t lo, size_t hi, size_t depth) {
  // Items are sorted, so the common prefix of the first and the last is that of all of them.
  std::string_view first = items[lo].first;
  std::string_view last = items[hi - 1].first;
  size_t end = depth;
  while (end < first.size() && end < last.size() && first[end] == last[end]) ++end;
  uint32_t label_begin = static_cast<uint32_t>(labels_.size());
  labels_.append(first.substr(depth, end - depth));
  uint32_t ranks_begin = static_cast<uint32_t>(ranks_.size());
  while (lo < hi && items[lo].first.size() == end) ranks_.push_back(items[lo++].second);

  // Children (one per distinct next byte) take a contiguous block, filled recursively.
  uint32_t child_count = 0;
  for (size_t i = lo; i < hi; ++i) {
    if (i == lo || items[i].first[end] != items[i - 1].first[end]) ++child_count;
  }
  uint32_t first_child = static_cast<uint32_t>(nodes_.size());
  nodes_.resize(nodes_.size() + child_count);
  first_bytes_.resize(nodes_.size());
  nodes_[slot] = Node{label_begin, static_cast<uint32_t>(end - depth), first_child, child_count,
                      ranks_begin, static_cast<uint32_t>(ranks_.size() - ranks_begin)};
  uint32_t c = first_child;
  for (size_t i = lo; i < hi;) {
    size_t j = i + 1;
    while (j < hi && items[j].first[end] == items[i].first[end]) ++j;
    first_bytes_[c] = static_cast<unsigned char>(items[i].first[end]);
    build_node(c, items, i, j, end);
    ++c;
    i = j;
  }
}

bool RouteIndex::regex_matches(uint32_t rank, std::string_view path, size_t* consumed) const {
  const Ranked& c = ranked_[rank];
  re2::StringPiece input(path.data(), path.size());
  re2::StringPiece whole;
  if (!c.route->regexes[c.path_index]->Match(input, 0, input.size(), RE2::ANCHOR_START, &whole,
                                              consumed ? 1 : 0)) {
    return false;
  }
  if (consumed) *consumed = whole.size();
  return true;
}

void RouteIndex::collect_group(const Group& g, std::string_view path, Scratch& s) const {
  // Radix walk: each step consumes label bytes of the path, so the walk is O(path length).
  if (g.root != UINT32_MAX) {
    uint32_t n = g.root;
    size_t pos = 0;
    for (;;) {
      const Node& node = nodes_[n];
      if (path.size() - pos < node.label_len ||
          std::memcmp(path.data() + pos, labels_.data() + node.label_begin, node.label_len) != 0) {
        break;
      }
      pos += node.label_len;
      if (node.ranks_count != 0) {
        const uint32_t* b = ranks_.data() + node.ranks_begin;
        s.spans.push_back({b, b + node.ranks_count, false});
      }
      if (pos == path.size() || node.child_count == 0) break;
      const unsigned char* fb = first_bytes_.data() + node.first_child;
      const unsigned char* fe = fb + node.child_count;
      auto byte = static_cast<unsigned char>(path[pos]);
      const unsigned char* it = std::lower_bound(fb, fe, byte);
      if (it == fe || *it != byte) break;
      n = node.first_child + static_cast<uint32_t>(it - fb);
    }
  }
  if (!g.sets.empty()) {
    re2::StringPiece input(path.data(), path.size());
    for (const RegexSet& rs : g.sets) {
      RE2::Set::ErrorInfo error{RE2::Set::kNoError};
      if (rs.set->Match(input, &s.set_hits, &error)) {
        for (int i : s.set_hits) s.regex_ranks.push_back(rs.ranks[static_cast<size_t>(i)]);
      } else if (error.kind != RE2::Set::kNoError) {
        // The set's automaton ran out of memory on this input: fall back to each pattern.
        for (uint32_t rank : rs.ranks) {
          if (regex_matches(rank, path, nullptr)) s.regex_ranks.push_back(rank);
        }
      }
    }
  }
  for (uint32_t rank : g.loose_regexes) {
    if (regex_matches(rank, path, nullptr)) s.regex_ranks.push_back(rank);
  }
}

void RouteIndex::collect_host(bool with_port, std::string_view host, std::string_view path,
                              Scratch& s) const {
  int base = with_port ? kExactPort : kExact;
  auto exact = static_cast<HostKind>(base);
  auto suffix = static_cast<HostKind>(base + 1);
  auto prefix = static_cast<HostKind>(base + 2);
  uint32_t g = find_host(exact, host);
  if (g != UINT32_MAX) collect_group(groups_[g], path, s);
  // "*.x" needs at least one byte before ".x"; "x.*" at least one after "x.".
  if (host_kind_count_[suffix] != 0) {
    for (size_t i = 1; i < host.size(); ++i) {
      if (host[i] != '.') continue;
      g = find_host(suffix, host.substr(i));
      if (g != UINT32_MAX) collect_group(groups_[g], path, s);
    }
  }
  if (host_kind_count_[prefix] != 0) {
    for (size_t i = 0; i + 1 < host.size(); ++i) {
      if (host[i] != '.') continue;
      g = find_host(prefix, host.substr(0, i + 1));
      if (g != UINT32_MAX) collect_group(groups_[g], path, s);
    }
  }
}

Match RouteIndex::match(std::string_view method, std::string_view host, std::string_view path,
                        const http::HeaderMap& headers) const {
  thread_local Scratch s;
  s.spans.clear();
  s.regex_ranks.clear();
  s.host.assign(host.data(), host.size());
  ascii_lower(s.host);
  std::string_view full = s.host;
  collect_host(false, strip_port(full), path, s);
  // Patterns with a port compare with host:port, which must then contain a ':'.
  if (full.find(':') != std::string_view::npos) collect_host(true, full, path, s);
  if (no_host_group_ != UINT32_MAX) collect_group(groups_[no_host_group_], path, s);
  if (!s.regex_ranks.empty()) {
    std::sort(s.regex_ranks.begin(), s.regex_ranks.end());
    s.spans.push_back({s.regex_ranks.data(), s.regex_ranks.data() + s.regex_ranks.size(), true});
  }

  // Each span is ascending: test in rank order and stop a span at the best rank found so far, so
  // only candidates that could still win are tested.
  if (s.spans.size() > 1) {
    std::sort(s.spans.begin(), s.spans.end(),
              [](const Scratch::Span& a, const Scratch::Span& b) { return *a.begin < *b.begin; });
  }
  uint16_t mbit = method_bit(method);
  uint32_t best = UINT32_MAX;
  size_t consumed = 0;
  for (const Scratch::Span& span : s.spans) {
    for (const uint32_t* p = span.begin; p != span.end && *p < best; ++p) {
      const RankInfo& ri = info_[*p];
      if ((ri.method_mask & mbit) == 0) continue;
      size_t len = 0;
      if (ri.kind == static_cast<uint8_t>(PathKind::kPrefix)) {
        len = ri.prefix_len;
      } else if (ri.kind == static_cast<uint8_t>(PathKind::kRegex)) {
        if (!regex_matches(*p, path, span.verified ? nullptr : &len)) continue;
      }
      if ((ri.flags & kNeedsRoute) &&
          !method_and_headers_match(*ranked_[*p].route, method, headers)) {
        continue;
      }
      best = *p;
      consumed = len;
      break;
    }
  }
  if (best == UINT32_MAX) return {};
  const Ranked& c = ranked_[best];
  if (c.kind == PathKind::kRegex && consumed == 0) regex_matches(best, path, &consumed);
  return {c.route, consumed};
}

}  // namespace portico::router
