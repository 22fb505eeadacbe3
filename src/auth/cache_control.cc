#include "auth/cache_control.h"

#include <cstdint>

#include "core/ascii.h"

namespace portico::auth {
namespace {

constexpr uint64_t kMaxDelta = uint64_t{1} << 31;

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

using core::iequals;

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}
  bool done() const { return i_ >= s_.size(); }
  char peek() const { return s_[i_]; }
  void skip_ows() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  std::string_view token() {
    const size_t start = i_;
    while (i_ < s_.size() && is_tchar(s_[i_])) ++i_;
    return s_.substr(start, i_ - start);
  }
  // A quoted-string starting at '"'; returns its raw inside (escapes kept) or nullopt if unterminated.
  std::optional<std::string_view> quoted() {
    const size_t start = ++i_;
    while (i_ < s_.size()) {
      if (s_[i_] == '\\') {
        i_ += 2;
        continue;
      }
      if (s_[i_] == '"') return s_.substr(start, i_++ - start);
      ++i_;
    }
    i_ = s_.size();
    return std::nullopt;
  }
  // Skips to just past the next comma outside quotes.
  void skip_directive() {
    while (i_ < s_.size()) {
      if (s_[i_] == ',') {
        ++i_;
        return;
      }
      if (s_[i_] == '"') {
        (void)quoted();
        continue;
      }
      ++i_;
    }
  }
  void advance() { ++i_; }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

// delta-seconds = 1*DIGIT, saturating at 2^31.
std::optional<uint64_t> delta_seconds(std::string_view v) {
  if (v.empty()) return std::nullopt;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
    if (n > kMaxDelta) n = kMaxDelta;
  }
  return n;
}

struct DeltaDirective {
  bool seen = false;
  bool stale = false;  // invalid or repeated
  uint64_t value = 0;

  void add(std::optional<std::string_view> arg) {
    if (seen) stale = true;
    seen = true;
    const std::optional<uint64_t> d = arg ? delta_seconds(*arg) : std::nullopt;
    if (!d) {
      stale = true;
      return;
    }
    value = *d;
  }
  std::optional<std::chrono::seconds> result() const {
    if (!seen) return std::nullopt;
    return std::chrono::seconds(stale ? 0 : static_cast<int64_t>(value));
  }
};

}  // namespace

CacheControl parse_cache_control(std::string_view value) {
  CacheControl cc;
  DeltaDirective max_age, s_maxage;
  Scanner sc(value);
  while (true) {
    sc.skip_ows();
    if (sc.done()) break;
    if (sc.peek() == ',') {
      sc.advance();
      continue;
    }
    const std::string_view name = sc.token();
    if (name.empty()) {
      sc.skip_directive();
      continue;
    }
    std::optional<std::string_view> arg;
    bool well_formed = true;
    if (!sc.done() && sc.peek() == '=') {
      sc.advance();
      if (!sc.done() && sc.peek() == '"') {
        arg = sc.quoted();
        if (!arg) well_formed = false;
      } else {
        arg = sc.token();
      }
    }
    sc.skip_ows();
    if (!sc.done() && sc.peek() != ',') {
      well_formed = false;
      sc.skip_directive();
    }
    if (iequals(name, "max-age")) {
      max_age.add(well_formed ? arg : std::nullopt);
    } else if (iequals(name, "s-maxage")) {
      s_maxage.add(well_formed ? arg : std::nullopt);
    } else if (iequals(name, "no-cache")) {
      cc.no_cache = true;  // qualified or not: the conservative reading
    } else if (iequals(name, "no-store")) {
      cc.no_store = true;
    }
  }
  cc.max_age = max_age.result();
  cc.s_maxage = s_maxage.result();
  return cc;
}

std::optional<std::chrono::seconds> freshness_lifetime(const CacheControl& cc) {
  if (cc.no_store || cc.no_cache) return std::chrono::seconds(0);
  if (cc.s_maxage) return cc.s_maxage;
  return cc.max_age;
}

}  // namespace portico::auth
