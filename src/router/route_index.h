// RouteIndex: the compiled lookup structure behind RouteTable::match.
//
// Contract: built once by RouteTable on the control thread from the candidates in priority order
// (rank 0 = most specific, Kong's order; see route_table.h) and immutable afterwards; `match` is
// called by every worker concurrently. It returns exactly the candidate the linear scan over the
// same order would return, in time that depends on the request (host length, path length, the
// candidates that actually match it) and not on the number of routes.
//
// Layout: host patterns are split into exact / "*.suffix" / "prefix.*" keys of one hash table,
// separately for patterns compared without the request's port and patterns carrying a port
// (compared with host:port); routes without hosts form one more group. Each group owns a radix
// tree of its plain prefixes (a node lists the ranks of the candidates whose prefix ends there,
// ascending). A regex path sits in the tree at its literal prefix (the common prefix of
// RE2::PossibleMatchRange) and is run only when the walk reaches it and it could still win;
// regexes without a usable literal prefix (or too many sharing one) go to an RE2::Set per group.
// Only candidates whose host and path can match are considered, in ascending rank, stopping at
// the first whose path, methods and headers all hold.
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

// The host without its port ("[v6]" keeps its brackets); shared by host_matches and the index so
// both read a Host header the same way.
std::string_view strip_port(std::string_view host);

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

  // Same meaning as RouteTable::match. Allocation-free once the calling thread has warmed up its
  // scratch buffers (they keep their capacity between calls).
  Match match(std::string_view method, std::string_view host, std::string_view path,
              const http::HeaderMap& headers) const;

 private:
  // A candidate entry is two words: its rank and its meta (method_mask | kind << 16 |
  // needs_route << 18), so the selection loop skips a candidate without touching its Route.
  //
  // The radix tree is packed into trie_ in depth-first order; a node at word w is
  //   [label_len, child_count, entry_count,
  //    label bytes + first byte of each child's label (sorted), padded to a word,
  //    child offsets, entries (2 words each)]
  // so one node is one contiguous run of memory, and the walk reads its first bytes only. Its entries are the candidates whose prefix
  // (or regex literal prefix) ends exactly at this node, ascending by rank.
  struct RegexSet {
    RE2::Options set_options;
    std::unique_ptr<RE2::Set> set;
    std::vector<uint32_t> ranks;  // set pattern index → candidate rank
  };
  struct Group {
    uint32_t root = UINT32_MAX;
    std::vector<RegexSet> sets;           // regexes without a usable literal prefix
    std::vector<uint32_t> loose_regexes;  // ranks whose pattern could not join a set
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
    uint32_t root;       // copy of the group's, saving a load on the common path
    HostKind kind;
    bool regexes;        // the group has regex sets or loose regexes
  };
  struct Scratch;

  static uint64_t host_hash(HostKind kind, std::string_view key);
  const HostSlot* find_host(HostKind kind, std::string_view key, uint64_t hash) const;
  // Appends the subtree of sorted items[lo, hi) below `depth` bytes; returns its word offset.
  uint32_t build_node(const std::vector<std::pair<std::string_view, uint32_t>>& items, size_t lo,
                      size_t hi, size_t depth);
  struct Walker {
    uint32_t node;  // word offset in trie_; UINT32_MAX when finished
    size_t pos;     // path bytes consumed before this node
  };
  void add_walker(uint32_t root, Scratch& s) const;
  bool step(Walker& walker, std::string_view path, Scratch& s) const;
  void walk_all(std::string_view path, Scratch& s) const;
  void collect_regexes(const Group& g, std::string_view path, Scratch& s) const;
  void collect_host(bool with_port, std::string_view host, std::string_view path,
                    Scratch& s) const;
  bool regex_matches(uint32_t rank, std::string_view path, size_t* consumed) const;

  std::vector<Ranked> ranked_;
  std::vector<uint32_t> meta_;  // per rank
  // Per rank, for regex paths: "^(?:pattern)" with the route's options. Same matches, but RE2
  // then checks the leading literal with memcmp and runs its automaton on the rest only, which
  // matters when thousands of regexes each have cold automata.
  std::vector<std::unique_ptr<RE2>> anchored_;
  std::vector<uint32_t> trie_;
  std::vector<Group> groups_;
  std::vector<HostSlot> hosts_;  // power-of-two size
  std::string host_keys_;
  uint32_t host_kind_count_[kHostKinds] = {};
  uint32_t no_host_group_ = UINT32_MAX;
};

}  // namespace portico::router
