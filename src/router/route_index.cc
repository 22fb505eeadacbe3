#include "router/route_index.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <map>
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
char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }
void ascii_lower(std::string& s) {
  for (char& c : s) c = ascii_lower(c);
}

constexpr int64_t kSetMaxMem = int64_t{64} << 20;
// More regexes than this sharing one literal prefix are matched as a set, not one by one.
constexpr size_t kMaxRegexesPerLiteral = 8;
// A literal prefix shorter than this ("/") would make the regex run for almost every request.
constexpr size_t kMinRegexLiteral = 2;
constexpr int kRegexRangeLen = 128;

constexpr uint16_t kAllMethods = 0xffff;
constexpr uint16_t kOtherMethod = 0x8000;
constexpr uint32_t kNeedsRoute = 1u << 18;
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

// Hashing for both tables: a multiply-xorshift chain over 8-byte words, then the partial last
// word, the length and a salt (group, or host kind) through a 64-bit finaliser. Every prefix of a
// string reuses the chain of the words before it, so all prefix keys of one path cost one pass.
// Inputs are read 8 bytes at a time: callers pad them with 8 zero bytes.
constexpr uint64_t kSeed = 0x243f6a8885a308d3ull;
constexpr uint64_t kWordMul = 0x9e3779b97f4a7c15ull;
constexpr uint64_t kTailMul = 0xc2b2ae3d27d4eb4full;
constexpr size_t kPad = 8;

uint64_t load_word(const unsigned char* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

uint64_t chain_step(uint64_t chain, uint64_t word) {
  uint64_t x = (chain ^ word) * kWordMul;
  return x ^ (x >> 29);
}

// The first `n` (< 8) bytes at p as a word, the others zero.
uint64_t head_bytes(const unsigned char* p, size_t n) {
  if (n == 0) return 0;
  uint64_t w = load_word(p);
  if constexpr (std::endian::native == std::endian::little) {
    return w & (~uint64_t{0} >> (64 - 8 * n));
  } else {
    return w & (~uint64_t{0} << (64 - 8 * n));
  }
}

uint64_t finish(uint64_t chain, uint64_t tail, size_t len, uint32_t salt) {
  uint64_t x = chain + tail * kTailMul;
  x ^= static_cast<uint64_t>(len) << 32 | salt;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  return x ^ (x >> 33);
}

// The hash of p[0, len) given the chain over its first len / 8 words.
uint64_t finish_at(const unsigned char* p, uint64_t chain, size_t len, uint32_t salt) {
  size_t full = len & ~size_t{7};
  return finish(chain, head_bytes(p + full, len - full), len, salt);
}

uint64_t hash_bytes(const unsigned char* p, size_t len, uint32_t salt) {
  uint64_t c = kSeed;
  for (size_t i = 0; i + 8 <= len; i += 8) c = chain_step(c, load_word(p + i));
  return finish_at(p, c, len, salt);
}


// One of 64 bits for the last two bytes of a key (or of the path at a key length): a group's
// keys of one length set their bits, so most lengths a path does not end a key at are skipped
// before hashing.
uint64_t end_bit(const unsigned char* key, size_t len) {
  uint32_t x = key[len - 1] | (len > 1 ? key[len - 2] : 0u) << 8;
  return uint64_t{1} << ((x * 0x9e3779b1u) >> 26);
}

// True when a block's key (zero-padded to 8 bytes) equals the first `len` bytes of `text`
// (padded); word by word, without a call.
bool same_key(const uint32_t* key, const unsigned char* text, size_t len) {
  const auto* k = reinterpret_cast<const unsigned char*>(key);
  uint64_t diff = 0;
  size_t full = len & ~size_t{7};
  for (size_t i = 0; i < full; i += 8) diff |= load_word(k + i) ^ load_word(text + i);
  if (len != full) diff |= load_word(k + full) ^ head_bytes(text + full, len - full);
  return diff == 0;
}

constexpr size_t kBlockHeader = 4;  // words
size_t key_words(size_t len) { return (len + 7) / 8 * 2; }

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

void assign_padded(std::string& buf, std::string_view text) {
  buf.assign(text.data(), text.size());
  buf.append(kPad, '\0');
}

// Characters that RE2 reads as themselves outside a class, whatever the options.
bool plain_regex_byte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("/-_~%:=&,;@").find(c) != std::string_view::npos;
}

// Where the pattern's text can be cut after the literal `literal` that every match starts with:
// the bytes before the cut are plain characters equal to the literal's, and the byte at the cut
// does not quantify the one before it. The pattern is then that literal followed by the rest.
// 0 when there is no such cut (an alternation could reach back over the literal, so a pattern
// with '|' anywhere is never cut).
size_t literal_cut(std::string_view pattern, std::string_view literal) {
  if (pattern.find('|') != std::string_view::npos) return 0;
  size_t k = 0;
  while (k < literal.size() && k < pattern.size() && pattern[k] == literal[k] &&
         plain_regex_byte(pattern[k])) {
    ++k;
  }
  if (k > 0 && k < pattern.size() &&
      std::string_view("*+?{").find(pattern[k]) != std::string_view::npos) {
    --k;
  }
  return k;
}

}  // namespace

struct RouteIndex::Scratch {
  struct Span {
    const Entry* begin;  // ascending by rank
    const Entry* end;
    size_t depth;   // path bytes a plain prefix here consumes
    bool verified;  // regex candidates already known to match (from a set)
  };
  struct Probe {
    uint64_t hash;
    uint32_t group;
    uint32_t len;
  };
  struct HostProbe {
    uint64_t hash;
    uint32_t begin;  // the key is s.host[begin, begin + len)
    uint32_t len;
    HostKind kind;
  };
  std::vector<HostProbe> host_probes;
  std::vector<Span> spans;
  std::vector<Probe> probes;
  std::vector<const uint32_t*> found;  // blocks whose tag matched a probe, to verify
  std::vector<uint32_t> found_probe;   // the probe of each
  std::vector<Entry> regex_entries;  // found by sets
  std::vector<int> set_hits;
  std::vector<uint64_t> chain;  // chain[i]: the path's hash chain over its first i words
  std::vector<uint64_t> host_chain;
  std::string path;  // the path's first max_key_len_ bytes, padded
  std::string host;  // the host, lower-case, padded
};

RouteIndex::~RouteIndex() = default;

RouteIndex::RouteIndex(const std::vector<Ranked>& ranked) : ranked_(ranked) {
  meta_.reserve(ranked_.size());
  for (const Ranked& c : ranked_) {
    uint32_t mask = kAllMethods;
    uint32_t needs_route = c.route->headers.empty() && c.route->snis.empty() ? 0 : kNeedsRoute;
    if (!c.route->methods.empty()) {
      mask = 0;
      for (const std::string& m : c.route->methods) {
        uint16_t bit = method_bit(m);
        if (bit == kOtherMethod) {
          mask = kAllMethods;
          needs_route = kNeedsRoute;
          break;
        }
        mask |= bit;
      }
    }
    meta_.push_back(mask | static_cast<uint32_t>(c.kind) << 16 | needs_route);
  }

  // Per regex rank: the anchored copy and the literal prefix of every match.
  anchored_.resize(ranked_.size());
  runs_.resize(ranked_.size());
  std::vector<std::string> literal_of(ranked_.size());
  for (size_t rank = 0; rank < ranked_.size(); ++rank) {
    const Ranked& c = ranked_[rank];
    if (c.kind != PathKind::kRegex) continue;
    const RE2& re = *c.route->regexes[c.path_index];
    // Wrapping could make a broken pattern valid, and would change a literal-option pattern.
    if (re.ok() && !re.options().literal()) {
      RE2::Options opts = re.options();
      opts.set_log_errors(false);
      auto wrapped = std::make_unique<RE2>("^(?:" + re.pattern() + ")", opts);
      if (wrapped->ok()) anchored_[rank] = std::move(wrapped);
    }
    // The anchored copy has the same language and lets RE2 peel off the leading literal, which
    // makes the range computation far cheaper than on the original.
    const RE2& ranged = anchored_[rank] ? *anchored_[rank] : re;
    std::string min, max;
    if (ranged.PossibleMatchRange(&min, &max, kRegexRangeLen)) {
      literal_of[rank] = common_prefix(min, max);
    }
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
  std::vector<GroupHead> heads(groups_.size(), GroupHead{0, UINT32_MAX, 0, 0});
  std::vector<std::vector<KeyLength>> lengths(groups_.size());

  // Host table: at most half full.
  size_t capacity = 8;
  while (capacity < group_of.size() * 2) capacity *= 2;
  hosts_.assign(capacity, HostSlot{0, 0, 0, UINT32_MAX, 0, kExact});
  std::string padded;
  for (const auto& [k, g] : group_of) {
    auto kind = static_cast<HostKind>(k[0]);
    std::string_view key = std::string_view(k).substr(1);
    assign_padded(padded, key);
    uint64_t h = hash_bytes(bytes(padded), key.size(), kind);
    size_t i = h & (capacity - 1);
    while (hosts_[i].group != UINT32_MAX) i = (i + 1) & (capacity - 1);
    hosts_[i] = {h, static_cast<uint32_t>(host_keys_.size()), static_cast<uint32_t>(key.size()), g,
                 0, kind};
    host_keys_ += key;
    host_len_mask_[kind] |= uint64_t{1} << std::min<size_t>(key.size(), 63);
  }

  // Pass 2: per group, key blocks for prefixes and regex literals, and regex sets.
  struct Key {
    uint32_t group;
    std::string_view text;
    uint32_t block;
  };
  std::vector<Key> keys;
  std::vector<std::pair<std::string_view, uint32_t>> items;
  std::vector<uint32_t> any;
  std::vector<uint32_t> set_regexes;
  std::vector<std::pair<uint32_t, uint64_t>> group_lengths;  // (length, end bit) per key
  std::unordered_map<std::string_view, size_t> literal_count;
  std::map<std::pair<uint32_t, std::string>, const RE2*> tail_of;
  std::vector<uint32_t> ranks;
  // Blocks are written straight into their cache lines, as bytes: the words and entries they hold
  // are read through typed pointers once construction is over.
  auto add_block = [&](uint32_t g, std::string_view key, const uint32_t* ranks, size_t count) {
    size_t words = kBlockHeader + key_words(key.size()) + count * (sizeof(Entry) / 4);
    auto b = static_cast<uint32_t>(block_lines_.size() * 16);  // each block starts a cache line
    block_lines_.resize(block_lines_.size() + (words + 15) / 16, Line{});
    unsigned char* at = block_lines_.data()->bytes + size_t{b} * 4;
    uint32_t header[kBlockHeader] = {g, static_cast<uint32_t>(key.size()),
                                     static_cast<uint32_t>(count), 0};
    std::memcpy(at, header, sizeof header);
    if (!key.empty()) std::memcpy(at + kBlockHeader * 4, key.data(), key.size());
    at += (kBlockHeader + key_words(key.size())) * 4;
    for (size_t i = 0; i < count; ++i) {
      Entry e{ranks[i], meta_[ranks[i]], ranked_[ranks[i]].route};
      std::memcpy(at + i * sizeof(Entry), &e, sizeof e);
    }
    return b;
  };
  // How a regex reached through its literal runs: only the rest of the pattern when its text
  // can be cut after the literal (see literal_cut), equal rests sharing one RE2.
  auto plan_run = [&](uint32_t rank) {
    RegexRun& run = runs_[rank];
    if (run.tail != nullptr || run.start != 0) return;  // planned for another group already
    const RE2& re = *ranked_[rank].route->regexes[ranked_[rank].path_index];
    if (!re.ok() || re.options().literal()) return;
    size_t cut = literal_cut(re.pattern(), literal_of[rank]);
    if (cut == 0) return;
    if (cut == re.pattern().size()) {
      run.start = static_cast<uint32_t>(cut);  // nothing but its literal
      return;
    }
    std::pair<uint32_t, std::string> key{options_key(re.options()), re.pattern().substr(cut)};
    auto it = tail_of.find(key);
    if (it == tail_of.end()) {
      RE2::Options opts = re.options();
      opts.set_log_errors(false);
      auto tail = std::make_unique<RE2>(key.second, opts);
      const RE2* compiled = tail->ok() ? tail.get() : nullptr;
      if (compiled != nullptr) tails_.push_back(std::move(tail));
      it = tail_of.emplace(std::move(key), compiled).first;
    }
    if (it->second == nullptr) return;
    run.tail = it->second;
    run.start = static_cast<uint32_t>(cut);
    std::string_view rest = it->first.second;
    run.alone = rest.find('^') == std::string_view::npos &&
                rest.find("\\b") == std::string_view::npos &&
                rest.find("\\B") == std::string_view::npos &&
                rest.find("\\A") == std::string_view::npos;
  };
  size_t memberships = 0;
  for (const auto& m : members) memberships += m.size();
  block_lines_.reserve(memberships + groups_.size());  // about one line per key
  for (uint32_t g = 0; g < groups_.size(); ++g) {
    items.clear();
    any.clear();
    set_regexes.clear();
    literal_count.clear();
    group_lengths.clear();
    for (uint32_t rank : members[g]) {
      if (ranked_[rank].kind != PathKind::kRegex) continue;
      const std::string& lit = literal_of[rank];
      if (lit.size() >= kMinRegexLiteral) ++literal_count[lit];
    }
    for (uint32_t rank : members[g]) {
      const Ranked& c = ranked_[rank];
      if (c.kind == PathKind::kAny ||
          (c.kind == PathKind::kPrefix && c.route->prefixes[c.path_index].empty())) {
        any.push_back(rank);  // matches every path, consuming nothing
      } else if (c.kind == PathKind::kPrefix) {
        items.emplace_back(c.route->prefixes[c.path_index], rank);
      } else {
        const std::string& lit = literal_of[rank];
        if (lit.size() >= kMinRegexLiteral && literal_count[lit] <= kMaxRegexesPerLiteral) {
          items.emplace_back(lit, rank);
          plan_run(rank);
        } else {
          set_regexes.push_back(rank);
        }
      }
    }
    heads[g].group = g;
    if (!any.empty()) heads[g].any_block = add_block(g, {}, any.data(), any.size());
    // Sorted by key, then rank: each distinct key becomes one block of ascending ranks.
    std::sort(items.begin(), items.end());
    for (size_t i = 0; i < items.size();) {
      size_t j = i;
      ranks.clear();
      while (j < items.size() && items[j].first == items[i].first) {
        ranks.push_back(items[j++].second);
      }
      std::string_view key = items[i].first;
      keys.push_back({g, key, add_block(g, key, ranks.data(), ranks.size())});
      group_lengths.emplace_back(static_cast<uint32_t>(key.size()),
                                 end_bit(bytes(key), key.size()));
      max_key_len_ = std::max(max_key_len_, static_cast<uint32_t>(key.size()));
      i = j;
    }
    std::sort(group_lengths.begin(), group_lengths.end());
    for (const auto& [len, bit] : group_lengths) {
      if (!lengths[g].empty() && lengths[g].back().len == len) {
        lengths[g].back().ends |= bit;
      } else {
        lengths[g].push_back({len, 0, bit});
      }
    }
    heads[g].lengths = static_cast<uint32_t>(lengths[g].size());

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
    heads[g].regexes = !groups_[g].sets.empty() || !groups_[g].loose_regexes.empty();
  }

  // Each group's head and lengths, contiguous; host slots point at their group's head.
  std::vector<uint32_t> head_of(groups_.size());
  for (uint32_t g = 0; g < groups_.size(); ++g) {
    head_of[g] = static_cast<uint32_t>(group_units_.size());
    group_units_.push_back(GroupUnit{.head = heads[g]});
    for (const KeyLength& l : lengths[g]) group_units_.push_back(GroupUnit{.length = l});
  }
  for (HostSlot& slot : hosts_) {
    if (slot.group != UINT32_MAX) slot.head = head_of[slot.group];
  }
  if (no_host_group_ != UINT32_MAX) no_host_head_ = head_of[no_host_group_];

  // Key table: at most half full.
  capacity = 16;
  while (capacity < keys.size() * 2) capacity *= 2;
  slots_.assign(capacity, 0);
  line_bits_ = static_cast<uint32_t>(std::bit_width(block_lines_.size() + 1));
  for (const Key& k : keys) {
    assign_padded(padded, k.text);
    uint64_t h = hash_bytes(bytes(padded), k.text.size(), k.group);
    size_t i = h & (capacity - 1);
    while (slots_[i] != 0) i = (i + 1) & (capacity - 1);
    slots_[i] = slot_tag(h) | (k.block / 16 + 1);
  }
  blocks_ = block_lines_.empty() ? nullptr
                                 : reinterpret_cast<const uint32_t*>(block_lines_.data()->bytes);
}

uint32_t RouteIndex::slot_tag(uint64_t hash) const {
  // The top (32 - line_bits_) bits of the hash, in place above the line number.
  return line_bits_ >= 32 ? 0 : static_cast<uint32_t>(hash >> 32) >> line_bits_ << line_bits_;
}

const RouteIndex::HostSlot* RouteIndex::find_host(HostKind kind, std::string_view key,
                                                  uint64_t hash) const {
  size_t mask = hosts_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const HostSlot& slot = hosts_[i];
    if (slot.group == UINT32_MAX) return nullptr;
    if (slot.hash != hash || slot.kind != kind || slot.key_len != key.size()) continue;
    // Almost surely the one: fetch the group's head while the key is compared.
    __builtin_prefetch(&group_units_[slot.head]);
    if (std::memcmp(host_keys_.data() + slot.key_begin, key.data(), key.size()) == 0) return &slot;
  }
}

void RouteIndex::add_group(uint32_t at, std::string_view path, Scratch& s) const {
  const GroupHead& head = group_units_[at].head;
  uint32_t group = head.group;
  if (head.any_block != UINT32_MAX) {
    const uint32_t* b = blocks_ + head.any_block;
    const auto* entries = reinterpret_cast<const Entry*>(b + kBlockHeader);
    s.spans.push_back({entries, entries + b[2], 0, false});
  }
  // One probe per key length the path can hold; hashed and prefetched now, checked once every
  // group is in, so the cache misses of all probes overlap.
  const GroupUnit* unit = &group_units_[at] + 1;
  const GroupUnit* end = unit + head.lengths;
  const unsigned char* p = bytes(s.path);
  size_t mask = slots_.size() - 1;
  for (; unit != end && unit->length.len <= path.size(); ++unit) {
    const KeyLength& len = unit->length;
    if ((len.ends & end_bit(p, len.len)) == 0) continue;
    uint64_t h = finish_at(p, s.chain[len.len / 8], len.len, group);
    __builtin_prefetch(&slots_[h & mask]);
    s.probes.push_back({h, group, len.len});
  }
  if (head.regexes) collect_regexes(groups_[group], path, s);
}

void RouteIndex::probe_keys(std::string_view path, Scratch& s) const {
  size_t mask = slots_.size() - 1;
  uint32_t line_mask = line_bits_ >= 32 ? ~uint32_t{0} : (uint32_t{1} << line_bits_) - 1;
  s.found.clear();
  s.found_probe.clear();
  for (uint32_t i = 0; i < s.probes.size(); ++i) {
    const Scratch::Probe& pr = s.probes[i];
    uint32_t tag = slot_tag(pr.hash);
    for (size_t slot = pr.hash & mask; slots_[slot] != 0; slot = (slot + 1) & mask) {
      if ((slots_[slot] & ~line_mask) != tag) continue;
      const uint32_t* b = blocks_ + 16 * size_t{(slots_[slot] & line_mask) - 1};
      __builtin_prefetch(b);
      s.found.push_back(b);
      s.found_probe.push_back(i);
    }
  }
  for (size_t i = 0; i < s.found.size(); ++i) {
    const uint32_t* b = s.found[i];
    const Scratch::Probe& pr = s.probes[s.found_probe[i]];
    if (b[0] != pr.group || b[1] != pr.len || !same_key(b + kBlockHeader, bytes(s.path), pr.len)) {
      continue;  // another key with the same tag
    }
    const auto* entries = reinterpret_cast<const Entry*>(b + kBlockHeader + key_words(pr.len));
    s.spans.push_back({entries, entries + b[2], pr.len, false});
  }
}

void RouteIndex::host_keys(bool with_port, size_t len, Scratch& s) const {
  // The key space is the first `len` bytes of s.host. Exact and "x.*" keys are prefixes of it,
  // hashed from one chain; a "*.x" key starts at a dot and needs its own, so keys of a length no
  // pattern of the kind has are skipped before hashing. Each slot is prefetched; the lookups
  // wait until the path's hashes are computed.
  const unsigned char* h = bytes(s.host);
  int base = with_port ? kExactPort : kExact;
  auto wanted = [&](int kind, size_t n) {
    return (host_len_mask_[kind] >> std::min<size_t>(n, 63) & 1) != 0;
  };
  auto add = [&](int kind, size_t begin, size_t n, uint64_t hash) {
    __builtin_prefetch(&hosts_[hash & (hosts_.size() - 1)]);
    s.host_probes.push_back({hash, static_cast<uint32_t>(begin), static_cast<uint32_t>(n),
                             static_cast<HostKind>(kind)});
  };
  const uint64_t* chain = s.host_chain.data();
  if (wanted(base, len)) add(base, 0, len, finish_at(h, chain[len / 8], len, base));
  // "*.x" needs at least one byte before ".x"; "x.*" at least one after "x.".
  for (size_t i = 0; i + 1 < len; ++i) {
    if (h[i] != '.') continue;
    if (i > 0 && wanted(base + 1, len - i)) {
      add(base + 1, i, len - i, hash_bytes(h + i, len - i, base + 1));
    }
    if (wanted(base + 2, i + 1)) {
      add(base + 2, 0, i + 1, finish_at(h, chain[(i + 1) / 8], i + 1, base + 2));
    }
  }
  if (len > 1 && h[len - 1] == '.' && wanted(base + 1, 1)) {
    add(base + 1, len - 1, 1, hash_bytes(h + len - 1, 1, base + 1));
  }
}

bool RouteIndex::regex_matches(uint32_t rank, std::string_view path, size_t* consumed) const {
  const Ranked& c = ranked_[rank];
  re2::StringPiece input(path.data(), path.size());
  re2::StringPiece whole;
  const RE2* re = anchored_[rank] ? anchored_[rank].get() : c.route->regexes[c.path_index].get();
  if (!re->Match(input, 0, input.size(), RE2::ANCHOR_START, &whole, consumed ? 1 : 0)) {
    return false;
  }
  if (consumed) *consumed = whole.size();
  return true;
}

bool RouteIndex::run_keyed_regex(uint32_t rank, std::string_view path, size_t* consumed) const {
  // The probe has seen the literal at the start of the path.
  const RegexRun& run = runs_[rank];
  if (run.tail == nullptr) {
    if (run.start == 0) return regex_matches(rank, path, consumed);
    *consumed = run.start;
    return true;
  }
  re2::StringPiece rest;
  if (run.alone) {
    re2::StringPiece input(path.data() + run.start, path.size() - run.start);
    if (!run.tail->Match(input, 0, input.size(), RE2::ANCHOR_START, &rest, 1)) return false;
  } else {
    // The whole path is the context, so "^", "\b" and the like at the cut see the literal.
    re2::StringPiece input(path.data(), path.size());
    if (!run.tail->Match(input, run.start, input.size(), RE2::ANCHOR_START, &rest, 1)) return false;
  }
  *consumed = run.start + rest.size();
  return true;
}

void RouteIndex::collect_regexes(const Group& g, std::string_view path, Scratch& s) const {
  auto add_regex = [&](uint32_t rank) {
    s.regex_entries.push_back({rank, meta_[rank], ranked_[rank].route});
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

Match RouteIndex::match(std::string_view method, std::string_view host, std::string_view path,
                        const http::HeaderMap& headers, std::string_view sni) const {
  thread_local Scratch s;
  s.spans.clear();
  s.probes.clear();
  s.regex_entries.clear();

  // The host, lower-case, and where its port starts (as strip_port reads it).
  s.host.resize(host.size() + kPad);
  size_t colon = std::string_view::npos;
  for (size_t i = 0; i < host.size(); ++i) {
    s.host[i] = ascii_lower(host[i]);
    if (host[i] == ':') colon = i;
  }
  std::memset(s.host.data() + host.size(), 0, kPad);
  size_t bare = host.size();
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    if (close != std::string_view::npos) bare = close + 1;
  } else if (colon != std::string_view::npos) {
    bare = colon;
  }
  s.host_chain.resize(host.size() / 8 + 1);
  s.host_chain[0] = kSeed;
  for (size_t i = 0; i < host.size() / 8; ++i) {
    s.host_chain[i + 1] = chain_step(s.host_chain[i], load_word(bytes(s.host) + 8 * i));
  }
  s.host_probes.clear();
  host_keys(false, bare, s);
  // Patterns with a port compare with host:port, which must then contain a ':'.
  if (colon != std::string_view::npos) host_keys(true, host.size(), s);

  // The path's hash chain, for the key lengths any group has, while the host slots arrive.
  size_t n = std::min<size_t>(path.size(), max_key_len_);
  assign_padded(s.path, path.substr(0, n));
  s.chain.resize(n / 8 + 1);
  s.chain[0] = kSeed;
  for (size_t i = 0; i < n / 8; ++i) {
    s.chain[i + 1] = chain_step(s.chain[i], load_word(bytes(s.path) + 8 * i));
  }
  if (no_host_head_ != UINT32_MAX) add_group(no_host_head_, path, s);
  for (const Scratch::HostProbe& hp : s.host_probes) {
    const HostSlot* slot =
        find_host(hp.kind, std::string_view(s.host.data() + hp.begin, hp.len), hp.hash);
    if (slot != nullptr) add_group(slot->head, path, s);
  }
  probe_keys(path, s);
  if (!s.regex_entries.empty()) {
    // By rank (insertion sort: few, only the regexes a set matched).
    auto& found = s.regex_entries;
    for (size_t i = 1; i < found.size(); ++i) {
      for (size_t j = i; j > 0 && found[j].rank < found[j - 1].rank; --j) {
        std::swap(found[j], found[j - 1]);
      }
    }
    s.spans.push_back({found.data(), found.data() + found.size(), 0, true});
  }

  // Each span is ascending: test in rank order and stop a span at the best rank found so far, so
  // only candidates that could still win are tested.
  if (s.spans.size() > 1) {
    std::sort(s.spans.begin(), s.spans.end(),
              [](const Scratch::Span& a, const Scratch::Span& b) {
                return a.begin->rank < b.begin->rank;
              });
  }
  uint32_t mbit = method_bit(method);
  uint32_t best = UINT32_MAX;
  const Route* winner = nullptr;
  size_t consumed = 0;
  bool length_known = true;
  for (const Scratch::Span& span : s.spans) {
    for (const Entry* p = span.begin; p != span.end && p->rank < best; ++p) {
      uint32_t meta = p->meta;
      if ((meta & mbit) == 0) continue;
      auto kind = static_cast<PathKind>((meta >> 16) & 3);
      size_t len = 0;
      if (kind == PathKind::kPrefix) {
        len = span.depth;
      } else if (kind == PathKind::kRegex && !span.verified) {
        // Only its literal prefix is known to match; this run also yields the length.
        if (!run_keyed_regex(p->rank, path, &len)) continue;
      }
      if ((meta & kNeedsRoute) && !conditions_match(*p->route, method, sni, headers)) continue;
      best = p->rank;
      winner = p->route;
      consumed = len;
      length_known = !span.verified;
      break;
    }
  }
  if (winner == nullptr) return {};
  // A set only says which patterns match; the winner's length needs its own regex.
  if (!length_known) regex_matches(best, path, &consumed);
  return {winner, consumed};
}

}  // namespace portico::router
