#include "filter/log_fields.h"

#include <fmt/format.h>
#include <sys/time.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <iterator>

#include "observability/access_log.h"
#include "observability/json_escape.h"

namespace portico::filter {

namespace {

using Var = LogFields::Var;

struct VarName {
  std::string_view name;
  Var var;
};

constexpr VarName kVariables[] = {
    {"time", Var::kTime},
    {"started_at", Var::kStartedAt},
    {"client_ip", Var::kClientIp},
    {"client_port", Var::kClientPort},
    {"method", Var::kMethod},
    {"path", Var::kPath},
    {"query", Var::kQuery},
    {"uri", Var::kUri},
    {"host", Var::kHost},
    {"scheme", Var::kScheme},
    {"status", Var::kStatus},
    {"bytes_sent", Var::kBytesSent},
    {"bytes_received", Var::kBytesReceived},
    {"route", Var::kRoute},
    {"service", Var::kService},
    {"consumer", Var::kConsumer},
    {"credential", Var::kCredential},
    {"upstream", Var::kUpstream},
    {"attempts", Var::kAttempts},
    {"latency_ms", Var::kLatencyMs},
    {"gateway_ms", Var::kGatewayMs},
    {"filter_ms", Var::kFilterMs},
    {"request_filters_ms", Var::kRequestFiltersMs},
    {"response_filters_ms", Var::kResponseFiltersMs},
    {"connect_ms", Var::kConnectMs},
    {"upstream_ms", Var::kUpstreamMs},
    {"receive_ms", Var::kReceiveMs},
    {"request_id", Var::kRequestId},
};
constexpr std::string_view kRequestHeaderPrefix = "header.";
constexpr std::string_view kResponseHeaderPrefix = "response_header.";

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool is_header_char(char c) {
  // RFC 9110 token characters.
  if (is_name_char(c)) return true;
  return std::string_view("!#$%&'*+-.^`|~").find(c) != std::string_view::npos;
}

bool is_millis(Var v) {
  switch (v) {
    case Var::kLatencyMs:
    case Var::kGatewayMs:
    case Var::kFilterMs:
    case Var::kRequestFiltersMs:
    case Var::kResponseFiltersMs:
    case Var::kConnectMs:
    case Var::kUpstreamMs:
    case Var::kReceiveMs:
      return true;
    default:
      return false;
  }
}

// Written as JSON numbers: counts, times in ms, and the millisecond durations.
bool is_number(Var v) {
  switch (v) {
    case Var::kStartedAt:
    case Var::kClientPort:
    case Var::kStatus:
    case Var::kBytesSent:
    case Var::kBytesReceived:
    case Var::kAttempts:
      return true;
    default:
      return is_millis(v);
  }
}

using observability::json::escaped_max;
using observability::json::kJsonPlain;
using observability::json::put_escaped;

// Value writers over a raw cursor: each writes at `p` and returns the new end. The caller has made
// room first (the bounds: kNumberMax, kMillisMax, kTimeSize, escaped_max()).
constexpr size_t kNumberMax = 20;
constexpr size_t kMillisMax = kNumberMax + 4;
constexpr size_t kTimeSize = 24;

constexpr char kDigitPairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

[[gnu::always_inline]] inline char* put_number(char* p, uint64_t n) {
  if (n < 100) [[likely]] {
    if (n < 10) {
      *p = static_cast<char>('0' + n);
      return p + 1;
    }
    std::memcpy(p, kDigitPairs + 2 * n, 2);
    return p + 2;
  }
  if (n < 1000) {
    p[0] = static_cast<char>('0' + n / 100);
    std::memcpy(p + 1, kDigitPairs + 2 * (n % 100), 2);
    return p + 3;
  }
  return std::to_chars(p, p + kNumberMax, n).ptr;
}

// Milliseconds with exactly three decimals (microseconds), like "{:.3f}" for the values logged
// (non-negative, far below 2^53 µs; anything else is written as 0.000).
[[gnu::always_inline]] inline char* put_millis(char* p, double ms) {
  const uint64_t us = ms > 0 && ms < 1e15 ? static_cast<uint64_t>(static_cast<int64_t>(ms * 1000.0 + 0.5)) : 0;
  if (us < 10000) [[likely]] {
    // Below 10 ms (the usual value): "D.DDD" from two digit pairs.
    const auto high = static_cast<unsigned>(us) / 100;
    const auto low = static_cast<unsigned>(us) % 100;
    p[0] = kDigitPairs[2 * high];
    p[1] = '.';
    p[2] = kDigitPairs[2 * high + 1];
    std::memcpy(p + 3, kDigitPairs + 2 * low, 2);
    return p + 5;
  }
  p = put_number(p, us / 1000);
  const auto frac = static_cast<unsigned>(us % 1000);
  p[0] = '.';
  p[1] = static_cast<char>('0' + frac / 100);
  std::memcpy(p + 2, kDigitPairs + 2 * (frac % 100), 2);
  return p + 4;
}

// "YYYY-MM-DDTHH:MM:SS.mmmZ"; the part up to the seconds is formatted once per second per thread.
thread_local time_t cached_second = -1;
thread_local char cached_date[20];  // "YYYY-MM-DDTHH:MM:SS"

// Out of line: it runs once a second, and its frame would cost every caller.
[[gnu::noinline, gnu::cold]] void format_cached_second(time_t second) {
  tm utc;
  gmtime_r(&second, &utc);
  fmt::format_to_n(cached_date, sizeof cached_date, "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", utc.tm_year + 1900,
                   utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
  cached_second = second;
}

[[gnu::always_inline]] inline char* put_time(char* p) {
  timeval tv;
  gettimeofday(&tv, nullptr);
  if (tv.tv_sec != cached_second) [[unlikely]] format_cached_second(tv.tv_sec);
  std::memcpy(p, cached_date, 19);
  const auto ms = static_cast<unsigned>(tv.tv_usec) / 1000;  // tv_usec is in [0, 999999]
  p[19] = '.';
  p[20] = static_cast<char>('0' + ms / 100);
  std::memcpy(p + 21, kDigitPairs + 2 * (ms % 100), 2);
  p[23] = 'Z';
  return p + kTimeSize;
}


// The line is written through a raw cursor into a per-thread scratch buffer (which only ever
// grows), then appended to `out` in one copy: one capacity check per value (or per line) instead
// of one per append, and no zero-filling (this runs for every field of every logged request).
class Writer {
 public:
  // Literal text is read kLiteralPad bytes at a time (one fixed-size copy, no call): the compiled
  // layout keeps that many padding bytes after its last literal.
  static constexpr size_t kLiteralPad = 32;

  explicit Writer(std::string& out) : out_(out) {
    if (scratch().size() < 1024) scratch().resize(1024);
    p_ = scratch().data();
    end_ = p_ + scratch().size();
  }
  ~Writer() { out_.append(scratch().data(), size()); }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Room for `n` more bytes; returns the cursor, to be handed back with commit().
  char* room(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) [[unlikely]] grow(n);
    return p_;
  }
  void commit(char* p) { p_ = p; }

  void put(char c) { commit(put_char(room(1), c)); }
  template <size_t N>
  void lit(const char (&s)[N]) {
    char* p = room(N);
    std::memcpy(p, s, N - 1);
    commit(p + N - 1);
  }
  // Literal text of a compiled layout; `s` has kLiteralPad readable bytes even when `n` is smaller.
  void literal(const char* s, size_t n) {
    char* p = room(n + kLiteralPad);
    if (n <= kLiteralPad) [[likely]] {
      std::memcpy(p, s, kLiteralPad);
    } else {
      std::memcpy(p, s, n);
    }
    commit(p + n);
  }
  void escaped(std::string_view s) { commit(put_escaped(room(escaped_max(s.size())), s)); }
  void number(uint64_t n) { commit(put_number(room(kNumberMax), n)); }
  void millis(double ms) { commit(put_millis(room(kMillisMax), ms)); }
  void time() { commit(put_time(room(kTimeSize))); }
  size_t size() const { return static_cast<size_t>(p_ - scratch().data()); }

 private:
  static char* put_char(char* p, char c) {
    *p = c;
    return p + 1;
  }
  [[gnu::noinline]] void grow(size_t n) {
    const size_t at = size();
    scratch().resize(std::max(scratch().size() * 2, at + n + 1024));
    p_ = scratch().data() + at;
    end_ = scratch().data() + scratch().size();
  }
  static std::vector<char>& scratch() {
    thread_local std::vector<char> buffer;
    return buffer;
  }

  std::string& out_;
  char* p_ = nullptr;
  char* end_ = nullptr;
};

}  // namespace

uint64_t LogFields::started_at_ms(const Timings& t) {
  timeval tv;
  gettimeofday(&tv, nullptr);
  const double now_ms = static_cast<double>(tv.tv_sec) * 1000.0 + static_cast<double>(tv.tv_usec) / 1000.0;
  const double ago = t.start.time_since_epoch().count() > 0 ? core::ms_between(t.start, core::MonoClock::now()) : 0.0;
  return static_cast<uint64_t>(now_ms - ago);
}

namespace {

uint64_t number_of(const Exchange& x, Var v) {
  switch (v) {
    case Var::kStartedAt: return LogFields::started_at_ms(x.timings);
    case Var::kClientPort: return x.request.client_port;
    case Var::kStatus: return x.status_sent;
    case Var::kBytesSent: return x.bytes_sent;
    case Var::kBytesReceived: return x.bytes_received;
    case Var::kAttempts: return x.upstream_attempts;
    default: return 0;
  }
}

double millis_of(const Exchange& x, const Latencies& l, Var v) {
  switch (v) {
    case Var::kLatencyMs: return l.total;
    case Var::kGatewayMs: return l.gateway;
    case Var::kFilterMs: return x.timings.filter_ms;
    case Var::kRequestFiltersMs: return x.timings.request_filters_ms;
    case Var::kResponseFiltersMs: return x.timings.response_filters_ms;
    case Var::kConnectMs: return l.connect;
    case Var::kUpstreamMs: return l.upstream;
    case Var::kReceiveMs: return l.receive;
    default: return 0;
  }
}

std::string_view text_of(const Exchange& x, Var v) {
  switch (v) {
    case Var::kClientIp: return x.request.client_ip;
    case Var::kMethod: return x.request.method;
    case Var::kPath: return x.request.path;
    case Var::kQuery: return x.request.query;
    case Var::kHost: return x.request.host;
    case Var::kScheme: return x.request.scheme;
    case Var::kRoute: return x.route_name;
    case Var::kService: return x.service_name;
    case Var::kConsumer: return x.consumer_id;
    case Var::kCredential: return x.credential_id;
    case Var::kUpstream: return x.upstream_address;
    case Var::kRequestId: return x.request.request_id;
    default: return {};
  }
}

#if defined(__SSE2__)
// The fast path of the default line: values are copied as they are while their bytes are checked
// for anything JSON would escape; the check is settled once, at the end of the line (when some
// byte needs an escape, the line is written again through put_escaped). Every copy reads and writes
// exactly the value's bytes: short values go through overlapping 1-, 4- and 8-byte pieces, longer
// ones 16 bytes at a time with an overlapping last block.
class PlainCheck {
 public:
  void add(__m128i v) { mask_ |= observability::json::needs_escape(v); }
  // Three bytes (of a value too short for a vector), through the table.
  void add_bytes(unsigned char a, unsigned char b, unsigned char c) {
    plain_ &= kJsonPlain[a] & kJsonPlain[b] & kJsonPlain[c];
  }
  // No byte seen needs a JSON escape.
  bool clean() const { return plain_ && mask_ == 0; }

 private:
  unsigned mask_ = 0;  // needs_escape of every block seen, or-ed
  bool plain_ = true;
};

[[gnu::always_inline]] inline char* put_plain(char* p, std::string_view s, PlainCheck& check) {
  const size_t n = s.size();
  const char* in = s.data();
  if (n >= 8) {
    if (n <= 16) {
      const __m128i lo = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(in));
      const __m128i hi = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(in + n - 8));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(p), lo);
      _mm_storel_epi64(reinterpret_cast<__m128i*>(p + n - 8), hi);
      check.add(_mm_unpacklo_epi64(lo, hi));
      return p + n;
    }
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(p + i), v);
      check.add(v);
    }
    if (i < n) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + n - 16));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(p + n - 16), v);
      check.add(v);
    }
    return p + n;
  }
  if (n >= 4) {
    uint32_t lo;
    uint32_t hi;
    std::memcpy(&lo, in, 4);
    std::memcpy(&hi, in + n - 4, 4);
    std::memcpy(p, &lo, 4);
    std::memcpy(p + n - 4, &hi, 4);
    const __m128i pair =
        _mm_unpacklo_epi32(_mm_cvtsi32_si128(static_cast<int>(lo)), _mm_cvtsi32_si128(static_cast<int>(hi)));
    check.add(_mm_unpacklo_epi64(pair, pair));  // every lane a byte of the value
    return p + n;
  }
  if (n > 0) {
    const auto a = static_cast<unsigned char>(in[0]);
    const auto b = static_cast<unsigned char>(in[n / 2]);
    const auto c = static_cast<unsigned char>(in[n - 1]);
    p[0] = static_cast<char>(a);
    p[n / 2] = static_cast<char>(b);
    p[n - 1] = static_cast<char>(c);
    check.add_bytes(a, b, c);
  }
  return p + n;
}

struct PutPlain {
  PlainCheck& check;
  [[gnu::always_inline]] char* operator()(char* p, std::string_view s) const { return put_plain(p, s, check); }
};
#endif

// Literal text of the default line as a compile-time constant padded to whole 16-byte blocks:
// put_literal copies whole blocks (one load and one store each), so it writes up to 15 bytes
// past the text's end, which the next value or literal overwrites (kDefaultKeysMax has room).
template <size_t N>
struct PaddedText {
  static constexpr size_t kSize = N - 1;
  static constexpr size_t kBlocks = (N - 1 + 15) / 16;
  char text[kBlocks * 16] = {};
  constexpr PaddedText(const char (&s)[N]) {  // NOLINT: implicit, to be a template argument
    for (size_t i = 0; i < kSize; ++i) text[i] = s[i];
  }
};

template <PaddedText L>
[[gnu::always_inline]] inline char* put_literal(char* p) {
  for (size_t i = 0; i < L.kBlocks; ++i) std::memcpy(p + 16 * i, L.text + 16 * i, 16);
  return p + L.kSize;
}

// The access log's default line, field by field, with its keys as constants: the same bytes as
// the compiled layout of those fields gives (a unit test holds the two together). `text` writes a
// string value's contents; the caller has made room for the keys (kDefaultKeysMax), the bound of
// every number and time, and text's bound of every string value.
constexpr size_t kDefaultKeysMax = 256;  // the keys and braces: 223 bytes, +15 for put_literal
constexpr size_t kDefaultFixedMax = kDefaultKeysMax + kTimeSize + 4 * kNumberMax + 5 * kMillisMax;

template <typename Text>
[[gnu::always_inline]] inline char* put_default_members(char* p, const Exchange& x, const Latencies& l, Text&& text) {
  const http::Request& r = x.request;
  p = put_literal<",\"time\":\"">(p);
  p = put_time(p);
  p = put_literal<"\",\"client\":\"">(p);
  p = text(p, r.client_ip);
  p = put_literal<"\",\"method\":\"">(p);
  p = text(p, r.method);
  p = put_literal<"\",\"path\":\"">(p);
  p = text(p, r.path);
  p = put_literal<"\",\"status\":">(p);
  p = put_number(p, x.status_sent);
  p = put_literal<",\"bytes_sent\":">(p);
  p = put_number(p, x.bytes_sent);
  p = put_literal<",\"bytes_received\":">(p);
  p = put_number(p, x.bytes_received);
  p = put_literal<",\"route\":\"">(p);
  p = text(p, x.route_name);
  p = put_literal<"\",\"service\":\"">(p);
  p = text(p, x.service_name);
  p = put_literal<"\",\"upstream\":\"">(p);
  p = text(p, x.upstream_address);
  p = put_literal<"\",\"attempts\":">(p);
  p = put_number(p, x.upstream_attempts);
  p = put_literal<",\"latency_ms\":">(p);
  p = put_millis(p, l.total);
  p = put_literal<",\"gateway_ms\":">(p);
  p = put_millis(p, l.gateway);
  p = put_literal<",\"filter_ms\":">(p);
  p = put_millis(p, x.timings.filter_ms);
  p = put_literal<",\"connect_ms\":">(p);
  p = put_millis(p, l.connect);
  p = put_literal<",\"upstream_ms\":">(p);
  p = put_millis(p, l.upstream);
  p = put_literal<",\"request_id\":\"">(p);
  p = text(p, r.request_id);
  *p++ = '"';
  return p;
}

// The default line through the Writer, every value escaped as it goes (the general path).
[[gnu::noinline]] void write_default_line(const Exchange& x, const Latencies& l, Writer& w) {
  const http::Request& r = x.request;
  char* p = w.room(kDefaultFixedMax + escaped_max(r.client_ip.size()) + escaped_max(r.method.size()) +
                   escaped_max(r.path.size()) + escaped_max(x.route_name.size()) +
                   escaped_max(x.service_name.size()) + escaped_max(x.upstream_address.size()) +
                   escaped_max(r.request_id.size()));
  w.commit(put_default_members(p, x, l, [](char* q, std::string_view s) { return put_escaped(q, s); }));
}

// Members appended to `out` from `open` on become one object: the first member's comma becomes
// the opening brace.
void close_object(std::string& out, size_t open) {
  if (out.size() > open) {
    out[open] = '{';
  } else {
    out += '{';
  }
  out += '}';
}

// The default line's members (`object`: the whole object, braces included) appended to `out`.
void append_default(const Exchange& x, std::string& out, bool object) {
  const Latencies l = latencies_of(x.timings);
  const size_t open = out.size();
#if defined(__SSE2__)
  // The usual line: values that need no escape. Written straight into `out` in one pass with a
  // single check at the end, over room made for the bound of every value copied as it is.
  const http::Request& r = x.request;
  const size_t values = r.client_ip.size() + r.method.size() + r.path.size() + x.route_name.size() +
                        x.service_name.size() + x.upstream_address.size() + r.request_id.size();
  out.resize(open + kDefaultFixedMax + values + 1);
  PlainCheck check;
  char* const line = out.data() + open;
  char* end = put_default_members(line, x, l, PutPlain{check});
  if (check.clean()) [[likely]] {
    if (object) {
      line[0] = '{';  // the first member's comma becomes the brace
      *end++ = '}';
    }
    out.resize(static_cast<size_t>(end - out.data()));
    return;
  }
  out.resize(open);
#endif
  {
    Writer w(out);
    write_default_line(x, l, w);
  }
  if (object) close_object(out, open);
}

}  // namespace

std::string LogFields::add(std::string_view key, std::string_view t) {
  if (key.empty()) return "field names must not be empty";
  Field f;
  observability::append_json_string(f.key, key);
  std::string literal;
  auto flush_literal = [&] {
    if (literal.empty()) return;
    Piece p;
    p.text = std::move(literal);
    f.pieces.push_back(std::move(p));
    literal.clear();
  };
  for (size_t i = 0; i < t.size();) {
    if (t[i] != '$') {
      literal += t[i++];
      continue;
    }
    if (i + 1 < t.size() && t[i + 1] == '$') {
      literal += '$';
      i += 2;
      continue;
    }
    std::string_view name;
    if (i + 1 < t.size() && t[i + 1] == '{') {
      size_t close = t.find('}', i + 2);
      if (close == std::string_view::npos) return "unclosed \"${\" in \"" + std::string(t) + "\"";
      name = t.substr(i + 2, close - i - 2);
      i = close + 1;
    } else {
      size_t end = i + 1;
      // `$header.x-name` runs over header characters; a plain `$name` over [A-Za-z0-9_].
      while (end < t.size() && is_name_char(t[end])) ++end;
      std::string_view head = t.substr(i + 1, end - i - 1);
      if ((head == "header" || head == "response_header") && end < t.size() && t[end] == '.') {
        ++end;
        while (end < t.size() && is_header_char(t[end])) ++end;
      }
      name = t.substr(i + 1, end - i - 1);
      i = end;
    }
    if (name.empty()) return "\"$\" must be followed by a variable name (write \"$$\" for a dollar sign)";
    Piece p;
    p.is_var = true;
    bool found = false;
    for (const auto& [n, v] : kVariables) {
      if (n == name) {
        p.var = v;
        found = true;
      }
    }
    for (auto [prefix, v] : {std::pair{kRequestHeaderPrefix, Var::kRequestHeader},
                             std::pair{kResponseHeaderPrefix, Var::kResponseHeader}}) {
      if (!found && name.starts_with(prefix)) {
        std::string_view header = name.substr(prefix.size());
        if (header.empty()) return "\"" + std::string(prefix) + "\" needs a header name";
        for (char c : header) {
          if (!is_header_char(c)) return "\"" + std::string(header) + "\" is not a valid header name";
        }
        p.var = v;
        p.text = std::string(header);
        found = true;
      }
    }
    if (!found) {
      std::string known;
      for (auto n : variable_names()) known += (known.empty() ? "" : ", ") + std::string(n);
      return "unknown variable \"" + std::string(name) + "\"; expected one of " + known +
             ", header.<name>, response_header.<name>";
    }
    flush_literal();
    f.pieces.push_back(std::move(p));
  }
  flush_literal();
  fields_.push_back(std::move(f));
  default_layout_ = false;
  compile();
  return {};
}

bool LogFields::read(const core::ConfigNode& map, const std::string& path, core::ConfigErrors& errors) {
  bool ok = true;
  for (size_t i = 0; i < map.size(); ++i) {
    const std::string& key = map.key(i);
    const core::ConfigNode& value = map[i];
    const std::string item_path = path + "." + key;
    if (!value.is_scalar()) {
      errors.add(value, item_path, "expected a template string (e.g. \"$status\" or \"${header.user-agent}\")");
      ok = false;
      continue;
    }
    if (has_key(key)) {
      errors.add(value, item_path, "field \"" + key + "\" is given twice");
      ok = false;
      continue;
    }
    if (std::string e = add(key, value.scalar()); !e.empty()) {
      errors.add(value, item_path, std::move(e));
      ok = false;
    }
  }
  return ok;
}

bool LogFields::has_key(std::string_view key) const {
  std::string quoted;
  observability::append_json_string(quoted, key);
  for (const Field& f : fields_) {
    if (f.key == quoted) return true;
  }
  return false;
}

void LogFields::compile() {
  ops_.clear();
  literals_.clear();
  headers_.clear();
  std::string literal;  // text waiting for the next op
  auto emit = [&](Code code, Var var, uint16_t header) {
    Op op;
    op.literal_offset = static_cast<uint32_t>(literals_.size());
    op.literal_size = static_cast<uint32_t>(literal.size());
    op.code = code;
    op.var = var;
    op.header = header;
    literals_ += literal;
    literal.clear();
    ops_.push_back(op);
  };
  auto header_index = [&](const std::string& name) {
    for (size_t i = 0; i < headers_.size(); ++i) {
      if (headers_[i] == name) return static_cast<uint16_t>(i);
    }
    headers_.push_back(name);
    return static_cast<uint16_t>(headers_.size() - 1);
  };
  auto is_header = [](Var v) { return v == Var::kRequestHeader || v == Var::kResponseHeader; };
  auto emit_var = [&](const Piece& p) {
    if (is_header(p.var)) {
      emit(Code::kHeader, p.var, header_index(p.text));
    } else if (is_millis(p.var)) {
      emit(Code::kMillis, p.var, 0);
    } else if (is_number(p.var)) {
      emit(Code::kNumber, p.var, 0);
    } else if (p.var == Var::kTime) {
      emit(Code::kTime, p.var, 0);
    } else if (p.var == Var::kUri) {
      emit(Code::kUri, p.var, 0);
    } else {
      emit(Code::kText, p.var, 0);
    }
  };
  for (const Field& f : fields_) {
    literal += ',';
    literal += f.key;
    literal += ':';
    const bool single = f.pieces.size() == 1 && f.pieces[0].is_var;
    if (single && is_number(f.pieces[0].var)) {
      emit_var(f.pieces[0]);  // a JSON number
      continue;
    }
    if (single && is_header(f.pieces[0].var)) {
      emit(Code::kHeaderOrNull, f.pieces[0].var, header_index(f.pieces[0].text));  // a string or null
      continue;
    }
    literal += '"';  // a JSON string: variables interpolated, literal text escaped here, once
    for (const Piece& p : f.pieces) {
      if (p.is_var) {
        emit_var(p);
      } else {
        observability::append_json_escaped(literal, p.text);
      }
    }
    literal += '"';
  }
  if (!literal.empty()) emit(Code::kNone, Var::kTime, 0);
  literals_.append(Writer::kLiteralPad, '\0');  // every literal can be read kLiteralPad at a time
}

void LogFields::write_ops(const Exchange& x, std::string& out) const {
  const Latencies l = latencies_of(x.timings);
  Writer w(out);
  const char* const literals = literals_.data();
  for (const Op& op : ops_) {
    w.literal(literals + op.literal_offset, op.literal_size);
    switch (op.code) {
      case Code::kNone: break;
      case Code::kNumber: w.number(number_of(x, op.var)); break;
      case Code::kMillis: w.millis(millis_of(x, l, op.var)); break;
      case Code::kTime: w.time(); break;
      case Code::kText: w.escaped(text_of(x, op.var)); break;
      case Code::kUri:
        w.escaped(x.request.path);
        if (x.request.has_query) {
          w.put('?');
          w.escaped(x.request.query);
        }
        break;
      case Code::kHeader:
      case Code::kHeaderOrNull: {
        const auto& headers = op.var == Var::kRequestHeader ? x.request.headers : x.response.headers;
        const auto value = headers.get(headers_[op.header]);
        if (op.code == Code::kHeader) {
          if (value) w.escaped(*value);  // an absent header adds nothing to a template
        } else if (value) {
          w.put('"');
          w.escaped(*value);
          w.put('"');
        } else {
          w.lit("null");
        }
        break;
      }
    }
  }
}

void LogFields::append_members(const Exchange& x, std::string& out) const {
  if (default_layout_) {
    append_default(x, out, false);
    return;
  }
  write_ops(x, out);
}

namespace {

// append_object of a compiled layout (out of line: the default layout's call stays a jump).
[[gnu::noinline]] void append_compiled_object(const LogFields& fields, const Exchange& x, std::string& out) {
  const size_t open = out.size();
  fields.append_members(x, out);
  close_object(out, open);
}

}  // namespace

void LogFields::append_object(const Exchange& x, std::string& out) const {
  if (default_layout_) [[likely]] {
    append_default(x, out, true);
    return;
  }
  append_compiled_object(*this, x, out);
}

const LogFields& LogFields::access_log_default() {
  static const LogFields fields = [] {
    LogFields f;
    for (auto [key, t] : {std::pair{"time", "$time"}, {"client", "$client_ip"}, {"method", "$method"},
                          {"path", "$path"}, {"status", "$status"}, {"bytes_sent", "$bytes_sent"},
                          {"bytes_received", "$bytes_received"}, {"route", "$route"}, {"service", "$service"},
                          {"upstream", "$upstream"}, {"attempts", "$attempts"}, {"latency_ms", "$latency_ms"},
                          {"gateway_ms", "$gateway_ms"}, {"filter_ms", "$filter_ms"}, {"connect_ms", "$connect_ms"},
                          {"upstream_ms", "$upstream_ms"}, {"request_id", "$request_id"}}) {
      f.add(key, t);
    }
    f.default_layout_ = true;
    return f;
  }();
  return fields;
}

std::vector<std::string_view> LogFields::variable_names() {
  std::vector<std::string_view> out;
  for (const auto& v : kVariables) out.push_back(v.name);
  return out;
}

}  // namespace portico::filter
