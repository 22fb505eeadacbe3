// RouteIndex: the compiled lookup structure behind RouteTable::match.
//
// Contract: built once by RouteTable on the control thread from the candidates in priority order
// (rank 0 = most specific, Kong's order; see route_table.h) and immutable afterwards; `match` is
// called by every worker concurrently (each thread has its own scratch, allocation-free once
// warm). It returns exactly the candidate the linear scan over the same order would return, in
// time that depends on the request (host length, path length, the key lengths of the groups the
// host reaches, the candidates that actually match) and not on the number of routes.
//
// Layout. Host patterns are split into exact / "*.suffix" / "prefix.*" keys of one hash table,
// separately for patterns compared without the request's port and patterns carrying a port
// (compared with host:port); routes without hosts form one more group. A host key is looked up
// only when some pattern of its kind has its length (a 64-bit mask per kind).
//
// Every group's plain prefixes, and the literal prefixes of its regex paths (the common prefix of
// RE2::PossibleMatchRange), are keys of one open-addressing table over (group, key bytes). A
// group lists the distinct lengths of its keys, each with a 64-bit Bloom filter of the last two
// bytes of its keys, so a request probes the table once per (group reached, length its path
// reaches and could end a key at). Probes do not depend on each other: their hashes come from one
// pass over the path, and all are prefetched before any is read, so their cache misses overlap
// where a tree walk would wait for each node before finding the next. A slot is 32 bits, a tag of
// the hash and the line of its key's block; the block (one cache line when it fits) holds the key
// bytes, to verify, and the candidates of that key in ascending rank, each with its Route.
//
// A regex keyed by its literal prefix runs only when the probe found that prefix in the path and
// the candidate could still win. When the pattern's text starts with that literal (plain bytes, no
// alternation anywhere), only the rest of the pattern runs, from where the literal ends; equal
// rests of different routes share one compiled RE2, so routes of one shape ("/users/\d+$",
// "/orders/\d+$") keep one automaton warm. Regexes without a usable literal prefix (or more than
// a few sharing one) go to an RE2::Set per group.
// Only candidates whose host and path can match are considered, in ascending rank, stopping at
// the first whose path, methods, snis and headers all hold.
#pragma once

#include <re2/re2.h>
#include <re2/set.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "router/route_table.h"

namespace portico::router {

class RouteIndex {
 public:
  enum class PathKind : uint8_t { kAny, kPrefix, kRegex };
  struct Ranked {
    const Route* route;
    PathKind kind;
    uint32_t path_index;  // into route->prefixes or route->regexes
  };

  // `ranked` lists every candidate, most specific first. The routes must outlive the index.
  explicit RouteIndex(const std::vector<Ranked>& ranked);
  ~RouteIndex();

  // Same meaning as RouteTable::match. Allocation-free once the calling thread has warmed up its
  // scratch buffers (they keep their capacity between calls).
  Match match(std::string_view method, std::string_view host, std::string_view path,
              const http::HeaderMap& headers, std::string_view sni) const;

 private:
  // A candidate entry: its rank, its meta (method_mask | kind << 16 | needs_route << 18 |
  // has_snis << 19), so the selection loop skips a candidate without touching its Route, and the
  // Route.
  struct Entry {
    uint32_t rank;
    uint32_t meta;
    const Route* route;
  };
  // A key block in blocks_ starts a cache line: 4 words [group, key_len, entry_count, 0], the key
  // bytes padded to 8 bytes, then the entries. Read only when the probe's tag matched.
  struct alignas(64) Line {
    unsigned char bytes[64];  // the blocks' words and entries are created by copying into these
  };
  struct RegexSet {
    RE2::Options set_options;
    std::unique_ptr<RE2::Set> set;
    std::vector<uint32_t> ranks;  // set pattern index → candidate rank
  };
  struct Group {
    std::vector<RegexSet> sets;           // regexes without a usable literal prefix
    std::vector<uint32_t> loose_regexes;  // ranks whose pattern could not join a set
  };
  // What a request needs of a group it reached: a head, then one unit per distinct key length of
  // the group, ascending, each with a bit per pair of last bytes its keys of that length end in
  // (a 64-bit Bloom filter), so a probe is made only where a key could end. Head and lengths are
  // contiguous in group_units_: a group costs the request one run of memory before its probes.
  struct GroupHead {
    uint32_t group;
    uint32_t any_block;  // block of the candidates without paths (key length 0); UINT32_MAX none
    uint32_t lengths;    // units that follow
    uint32_t regexes;    // 1 when the group has regex sets or loose regexes
  };
  struct KeyLength {
    uint32_t len;
    uint32_t unused;
    uint64_t ends;
  };
  union GroupUnit {
    GroupHead head;
    KeyLength length;
  };
  // How a regex keyed by its literal prefix is run: `tail` from byte `start` of the path (the
  // rest of the pattern after a literal the probe has already seen), or, when `tail` is null and
  // `start` is 0, the whole anchored pattern. A null `tail` with `start` > 0 is a pattern that is
  // nothing but its literal: it matches exactly `start` bytes.
  struct RegexRun {
    const RE2* tail = nullptr;
    uint32_t start = 0;
    // The rest has nothing that looks at the byte before it ('^', "\b", ...), so it runs on the
    // rest of the path alone: short inputs then take RE2's lock-free one-pass matcher.
    bool alone = false;
  };
  // Host pattern flavours, each its own key space in hosts_.
  enum HostKind : uint8_t {
    kExact,          // compared without the request's port
    kSuffix,         // "*.x" keyed ".x"
    kPrefix,         // "x.*" keyed "x."
    kExactPort,      // the same three for patterns carrying a port, compared with host:port
    kSuffixPort,
    kPrefixPort,
    kHostKinds
  };
  // Open addressing over (kind, lower-case key) → group; small and contiguous, so a lookup
  // costs about one cache line even next to 100k routes.
  struct HostSlot {
    uint64_t hash;
    uint32_t key_begin;  // into host_keys_
    uint32_t key_len;
    uint32_t group;      // UINT32_MAX = empty slot
    uint32_t head;       // the group's head in group_units_
    HostKind kind;
  };
  struct Scratch;

  uint32_t slot_tag(uint64_t hash) const;
  const HostSlot* find_host(HostKind kind, std::string_view key, uint64_t hash) const;
  void add_group(uint32_t head, std::string_view path, Scratch& s) const;
  void host_keys(bool with_port, size_t len, Scratch& s) const;
  void probe_keys(std::string_view path, Scratch& s) const;
  void collect_regexes(const Group& g, std::string_view path, Scratch& s) const;
  bool regex_matches(uint32_t rank, std::string_view path, size_t* consumed) const;
  bool run_keyed_regex(uint32_t rank, std::string_view path, size_t* consumed) const;

  std::vector<Ranked> ranked_;
  std::vector<uint32_t> meta_;  // per rank
  // Per rank, for regex paths: "^(?:pattern)" with the route's options. Same matches, but RE2
  // then checks the leading literal with memcmp and runs its automaton on the rest only.
  std::vector<std::unique_ptr<RE2>> anchored_;
  std::vector<RegexRun> runs_;                     // per rank, for regexes keyed by a literal
  std::vector<std::unique_ptr<RE2>> tails_;        // owned by runs_, one per distinct rest
  std::vector<Group> groups_;
  std::vector<GroupUnit> group_units_;
  std::vector<Line> block_lines_;
  const uint32_t* blocks_ = nullptr;   // block_lines_ as words
  // Per slot: 0 when empty, else (tag << line_bits_) | (line + 1), where `line` is the cache
  // line its key's block starts at and the tag is the top bits of the key's hash.
  std::vector<uint32_t> slots_;  // power-of-two size
  uint32_t line_bits_ = 0;
  uint32_t max_key_len_ = 0;
  std::vector<HostSlot> hosts_;  // power-of-two size
  std::string host_keys_;
  // Per host kind, bit min(len, 63) set when some key has that length: most of the keys a host
  // could match (one per dot) are skipped without hashing.
  uint64_t host_len_mask_[kHostKinds] = {};
  uint32_t no_host_group_ = UINT32_MAX;
  uint32_t no_host_head_ = UINT32_MAX;
};

}  // namespace portico::router
