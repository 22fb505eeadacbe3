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
    const uint32_t* begin;  // (rank, meta) pairs, ascending by rank
    const uint32_t* end;
    size_t depth;   // path bytes a plain prefix here consumes
    bool verified;  // regex candidates already known to match (from a set)
  };
  std::vector<Span> spans;
  std::vector<Walker> walkers;
  std::vector<uint32_t> regex_entries;  // (rank, meta) pairs found by sets
  std::vector<int> set_hits;
  std::string host;
};

RouteIndex::RouteIndex(const std::vector<Ranked>& ranked) : ranked_(ranked) {
  meta_.reserve(ranked_.size());
  for (const Ranked& c : ranked_) {
    uint32_t mask = kAllMethods;
    uint32_t needs_route = c.route->headers.empty() ? 0 : 1;
    if (!c.route->methods.empty()) {
      mask = 0;
      for (const std::string& m : c.route->methods) {
        uint16_t bit = method_bit(m);
        if (bit == kOtherMethod) {
          mask = kAllMethods;
          needs_route = 1;
          break;
        }
        mask |= bit;
      }
    }
    meta_.push_back(mask | static_cast<uint32_t>(c.kind) << 16 | needs_route << 18);
  }

  anchored_.resize(ranked_.size());
  for (size_t rank = 0; rank < ranked_.size(); ++rank) {
    const Ranked& c = ranked_[rank];
    if (c.kind != PathKind::kRegex) continue;
    const RE2& re = *c.route->regexes[c.path_index];
    // Wrapping could make a broken pattern valid, and would change a literal-option pattern.
    if (!re.ok() || re.options().literal()) continue;
    RE2::Options opts = re.options();
    opts.set_log_errors(false);
    auto wrapped = std::make_unique<RE2>("^(?:" + re.pattern() + ")", opts);
    if (wrapped->ok()) anchored_[rank] = std::move(wrapped);
  }

  // Pass 1: candidates into groups by host pattern.
  std::vector<std::vector<uint32_t>> members;  // per group, ascending ranks
  std::unordered_map<std::string, uint32_t> group_of;  // kind byte + lower-case key
  std::string probe;  // reused: most patterns repeat, and the lookup then allocates nothing
  auto group_for = [&](HostKind kind, std::string_view text) {
    probe.assign(1, static_cast<char>(kind));
    probe += text;
    auto it = group_of.find(probe);
    if (it != group_of.end()) return it->second;
    auto g = static_cast<uint32_t>(groups_.size());
    group_of.emplace(probe, g);
    groups_.emplace_back();
    members.emplace_back();
    return g;
  };
  std::string lower;
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
      lower.assign(pattern);
      ascii_lower(lower);
      size_t n = lower.size();
      uint32_t g;
      if (n > 1 && lower[0] == '*' && lower[1] == '.') {
        g = group_for(static_cast<HostKind>(base + 1), std::string_view(lower).substr(1));
      } else if (n > 1 && lower[n - 1] == '*' && lower[n - 2] == '.') {
        g = group_for(static_cast<HostKind>(base + 2), std::string_view(lower).substr(0, n - 1));
      } else {
        g = group_for(static_cast<HostKind>(base), lower);
      }
      // A route naming one host twice lands in a group once.
      if (members[g].empty() || members[g].back() != rank) members[g].push_back(rank);
    }
  }

  // Host table: at most half full.
  size_t capacity = 8;
  while (capacity < group_of.size() * 2) capacity *= 2;
  hosts_.assign(capacity, HostSlot{0, 0, 0, UINT32_MAX, UINT32_MAX, kExact, false});
  for (const auto& [k, g] : group_of) {
    auto kind = static_cast<HostKind>(k[0]);
    std::string_view key = std::string_view(k).substr(1);
    uint64_t h = host_hash(kind, key);
    size_t i = h & (capacity - 1);
    while (hosts_[i].group != UINT32_MAX) i = (i + 1) & (capacity - 1);
    hosts_[i] = {h, static_cast<uint32_t>(host_keys_.size()), static_cast<uint32_t>(key.size()), g,
                 UINT32_MAX, kind, false};
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
        items.emplace_back(std::string_view(""), rank);  // matches every path
      } else if (c.kind == PathKind::kPrefix) {
        items.emplace_back(c.route->prefixes[c.path_index], rank);
      } else {
        // The anchored copy has the same language and lets RE2 peel off the leading literal,
        // which makes the range computation far cheaper than on the original.
        const RE2& re = anchored_[rank] ? *anchored_[rank] : *c.route->regexes[c.path_index];
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
      groups_[g].root = build_node(items, 0, items.size(), 0);
    }
    for (uint32_t rank : set_regexes) {
      const RE2& re = *ranked_[rank].route->regexes[ranked_[rank].path_index];
      uint32_t options = options_key(re.options());
      auto& sets = groups_[g].sets;
      auto it = std::find_if(sets.begin(), sets.end(), [&](const RegexSet& s) {
        return options_key(s.set_options) == options;
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
  for (HostSlot& slot : hosts_) {
    if (slot.group == UINT32_MAX) continue;
    const Group& g = groups_[slot.group];
    slot.root = g.root;
    slot.regexes = !g.sets.empty() || !g.loose_regexes.empty();
  }
}

void RouteIndex::add_walker(uint32_t root, Scratch& s) const {
  __builtin_prefetch(trie_.data() + root);
  s.walkers.push_back({root, 0});
}

uint64_t RouteIndex::host_hash(HostKind kind, std::string_view key) {
  uint64_t h = 14695981039346656037ull ^ kind;  // FNV-1a; keys are short
  for (char c : key) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

const RouteIndex::HostSlot* RouteIndex::find_host(HostKind kind, std::string_view key,
                                                  uint64_t hash) const {
  size_t mask = hosts_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const HostSlot& slot = hosts_[i];
    if (slot.group == UINT32_MAX) return nullptr;
    if (slot.hash == hash && slot.kind == kind && slot.key_len == key.size() &&
        std::memcmp(host_keys_.data() + slot.key_begin, key.data(), key.size()) == 0) {
      return &slot;
    }
  }
}

uint32_t RouteIndex::build_node(const std::vector<std::pair<std::string_view, uint32_t>>& items,
                                size_t lo, size_t hi, size_t depth) {
  // Items are sorted, so the common prefix of the first and the last is that of all of them.
  std::string_view first = items[lo].first;
  std::string_view last = items[hi - 1].first;
  size_t end = depth;
  while (end < first.size() && end < last.size() && first[end] == last[end]) ++end;
  size_t entries_lo = lo;
  while (lo < hi && items[lo].first.size() == end) ++lo;
  // Children: one per distinct byte at `end` among items[lo, hi).
  size_t child_count = 0;
  for (size_t i = lo; i < hi; ++i) {
    if (i == lo || items[i].first[end] != items[i - 1].first[end]) ++child_count;
  }

  // Written in place (no temporaries: 100k-route tables have a few hundred thousand nodes).
  size_t label_len = end - depth;
  auto w = static_cast<uint32_t>(trie_.size());
  size_t text = w + 3;
  size_t kids = text + (label_len + child_count + 3) / 4;
  trie_.resize(kids + child_count, 0);
  trie_[w] = static_cast<uint32_t>(label_len);
  trie_[w + 1] = static_cast<uint32_t>(child_count);
  trie_[w + 2] = static_cast<uint32_t>(lo - entries_lo);
  auto* bytes = reinterpret_cast<unsigned char*>(trie_.data() + text);
  if (label_len != 0) std::memcpy(bytes, first.data() + depth, label_len);
  size_t k = 0;
  for (size_t i = lo; i < hi; ++i) {
    if (i == lo || items[i].first[end] != items[i - 1].first[end]) {
      bytes[label_len + k++] = static_cast<unsigned char>(items[i].first[end]);
    }
  }
  for (size_t i = entries_lo; i < lo; ++i) {
    trie_.push_back(items[i].second);
    trie_.push_back(meta_[items[i].second]);
  }
  k = 0;
  for (size_t i = lo; i < hi;) {
    size_t j = i + 1;
    while (j < hi && items[j].first[end] == items[i].first[end]) ++j;
    uint32_t child = build_node(items, i, j, end);  // may reallocate trie_: index, not pointer
    trie_[kids + k++] = child;
    i = j;
  }
  return w;
}

bool RouteIndex::regex_matches(uint32_t rank, std::string_view path, size_t* consumed) const {
  const Ranked& c = ranked_[rank];
  re2::StringPiece input(path.data(), path.size());
  re2::StringPiece whole;
  const RE2* re = anchored_[rank] ? anchored_[rank].get() : c.route->regexes[c.path_index].get();
  if (!re->Match(input, 0, input.size(), RE2::ANCHOR_START, &whole,
                                              consumed ? 1 : 0)) {
    return false;
  }
  if (consumed) *consumed = whole.size();
  return true;
}

bool RouteIndex::step(Walker& walker, std::string_view path, Scratch& s) const {
  // One radix node: each step consumes label bytes of the path, so a walk is O(path length).
  const uint32_t* t = trie_.data();
  uint32_t w = walker.node;
  uint32_t label_len = t[w];
  uint32_t child_count = t[w + 1];
  uint32_t entry_count = t[w + 2];
  const auto* text = reinterpret_cast<const unsigned char*>(t + w + 3);
  const uint32_t* kids = t + w + 3 + (label_len + child_count + 3) / 4;
  size_t pos = walker.pos;
  if (path.size() - pos < label_len || std::memcmp(path.data() + pos, text, label_len) != 0) {
    return false;
  }
  pos += label_len;
  if (entry_count != 0) {
    const uint32_t* entries = kids + child_count;
    s.spans.push_back({entries, entries + 2 * entry_count, pos, false});
  }
  if (pos == path.size() || child_count == 0) return false;
  const unsigned char* fb = text + label_len;
  const unsigned char* fe = fb + child_count;
  auto byte = static_cast<unsigned char>(path[pos]);
  const unsigned char* it = std::lower_bound(fb, fe, byte);
  if (it == fe || *it != byte) return false;
  walker.node = kids[it - fb];
  walker.pos = pos;
  __builtin_prefetch(t + walker.node);
  return true;
}

void RouteIndex::walk_all(std::string_view path, Scratch& s) const {
  // The walks of all groups the host reached advance in lockstep, one node each per round, so
  // their cache misses overlap instead of queueing behind each other.
  size_t active = s.walkers.size();
  while (active != 0) {
    active = 0;
    for (Walker& walker : s.walkers) {
      if (walker.node == UINT32_MAX) continue;
      if (step(walker, path, s)) {
        ++active;
      } else {
        walker.node = UINT32_MAX;
      }
    }
  }
}

void RouteIndex::collect_regexes(const Group& g, std::string_view path, Scratch& s) const {
  auto add_regex = [&](uint32_t rank) {
    s.regex_entries.push_back(rank);
    s.regex_entries.push_back(meta_[rank]);
  };
  if (!g.sets.empty()) {
    re2::StringPiece input(path.data(), path.size());
    for (const RegexSet& rs : g.sets) {
      RE2::Set::ErrorInfo error{RE2::Set::kNoError};
      if (rs.set->Match(input, &s.set_hits, &error)) {
        for (int i : s.set_hits) add_regex(rs.ranks[static_cast<size_t>(i)]);
      } else if (error.kind != RE2::Set::kNoError) {
        // The set's automaton ran out of memory on this input: fall back to each pattern.
        for (uint32_t rank : rs.ranks) {
          if (regex_matches(rank, path, nullptr)) add_regex(rank);
        }
      }
    }
  }
  for (uint32_t rank : g.loose_regexes) {
    if (regex_matches(rank, path, nullptr)) add_regex(rank);
  }
}

void RouteIndex::collect_host(bool with_port, std::string_view host, std::string_view path,
                              Scratch& s) const {
  // Every key the host could match (exact, "*.x" at each dot, "x.*" at each dot) is hashed and
  // its slot prefetched before any is probed, so the cache misses overlap.
  struct Probe {
    HostKind kind;
    std::string_view key;
    uint64_t hash;
  };
  constexpr size_t kBatch = 16;
  Probe probes[kBatch];
  size_t n = 0;
  auto flush = [&] {
    for (size_t i = 0; i < n; ++i) {
      const HostSlot* slot = find_host(probes[i].kind, probes[i].key, probes[i].hash);
      if (slot == nullptr) continue;
      if (slot->root != UINT32_MAX) add_walker(slot->root, s);
      if (slot->regexes) collect_regexes(groups_[slot->group], path, s);
    }
    n = 0;
  };
  auto add = [&](HostKind kind, std::string_view key) {
    if (host_kind_count_[kind] == 0) return;
    uint64_t h = host_hash(kind, key);
    __builtin_prefetch(&hosts_[h & (hosts_.size() - 1)]);
    probes[n++] = {kind, key, h};
    if (n == kBatch) flush();
  };
  int base = with_port ? kExactPort : kExact;
  add(static_cast<HostKind>(base), host);
  // "*.x" needs at least one byte before ".x"; "x.*" at least one after "x.".
  for (size_t i = 0; i + 1 < host.size(); ++i) {
    if (host[i] != '.') continue;
    if (i > 0) add(static_cast<HostKind>(base + 1), host.substr(i));
    add(static_cast<HostKind>(base + 2), host.substr(0, i + 1));
  }
  if (host.size() > 1 && host.back() == '.') add(static_cast<HostKind>(base + 1), host.substr(host.size() - 1));
  flush();
}

Match RouteIndex::match(std::string_view method, std::string_view host, std::string_view path,
                        const http::HeaderMap& headers) const {
  thread_local Scratch s;
  s.walkers.clear();
  s.spans.clear();
  s.regex_entries.clear();
  s.host.assign(host.data(), host.size());
  ascii_lower(s.host);
  std::string_view full = s.host;
  collect_host(false, strip_port(full), path, s);
  // Patterns with a port compare with host:port, which must then contain a ':'.
  if (full.find(':') != std::string_view::npos) collect_host(true, full, path, s);
  if (no_host_group_ != UINT32_MAX) {
    if (groups_[no_host_group_].root != UINT32_MAX) add_walker(groups_[no_host_group_].root, s);
    collect_regexes(groups_[no_host_group_], path, s);
  }
  walk_all(path, s);
  if (!s.regex_entries.empty()) {
    // Pairs sort by rank (insertion sort: few, only the regexes a set matched).
    size_t n = s.regex_entries.size() / 2;
    for (size_t i = 1; i < n; ++i) {
      for (size_t j = i; j > 0 && s.regex_entries[2 * j] < s.regex_entries[2 * j - 2]; --j) {
        std::swap(s.regex_entries[2 * j], s.regex_entries[2 * j - 2]);
        std::swap(s.regex_entries[2 * j + 1], s.regex_entries[2 * j - 1]);
      }
    }
    const uint32_t* b = s.regex_entries.data();
    s.spans.push_back({b, b + s.regex_entries.size(), 0, true});
  }

  // Each span is ascending: test in rank order and stop a span at the best rank found so far, so
  // only candidates that could still win are tested.
  if (s.spans.size() > 1) {
    std::sort(s.spans.begin(), s.spans.end(),
              [](const Scratch::Span& a, const Scratch::Span& b) { return *a.begin < *b.begin; });
  }
  uint32_t mbit = method_bit(method);
  uint32_t best = UINT32_MAX;
  size_t consumed = 0;
  bool length_known = true;
  for (const Scratch::Span& span : s.spans) {
    for (const uint32_t* p = span.begin; p != span.end && p[0] < best; p += 2) {
      uint32_t meta = p[1];
      if ((meta & mbit) == 0) continue;
      auto kind = static_cast<PathKind>((meta >> 16) & 3);
      size_t len = 0;
      if (kind == PathKind::kPrefix) {
        len = span.depth;
      } else if (kind == PathKind::kRegex && !span.verified) {
        // Only its literal prefix is known to match; this run also yields the length.
        if (!regex_matches(p[0], path, &len)) continue;
      }
      if ((meta & (1u << 18)) && !method_and_headers_match(*ranked_[p[0]].route, method, headers)) {
        continue;
      }
      best = p[0];
      consumed = len;
      length_known = !span.verified;
      break;
    }
  }
  if (best == UINT32_MAX) return {};
  const Ranked& c = ranked_[best];
  // A set only says which patterns match; the winner's length needs its own regex.
  if (!length_known) regex_matches(best, path, &consumed);
  return {c.route, consumed};
}

}  // namespace portico::router
