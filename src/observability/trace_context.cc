#include "observability/trace_context.h"

#include <bit>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/request_id.h"

namespace portico::observability {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Lower-case hex only: the spec forbids upper-case in traceparent.
int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool parse_hex(std::string_view text, uint8_t* out, size_t n) {
  if (text.size() != n * 2) return false;
  for (size_t i = 0; i < n; ++i) {
    int hi = hex_digit(text[2 * i]);
    int lo = hex_digit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

bool is_lcalpha(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_key_char(char c) {
  return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}
bool is_nblk_chr(char c) { return c >= 0x21 && c <= 0x7e && c != ',' && c != '='; }

bool valid_key(std::string_view key) {
  size_t at = key.find('@');
  if (at == std::string_view::npos) {
    // simple-key = lcalpha 0*255(key chars)
    if (key.empty() || key.size() > 256 || !is_lcalpha(key[0])) return false;
    for (char c : key.substr(1)) {
      if (!is_key_char(c)) return false;
    }
    return true;
  }
  // multi-tenant-key = tenant-id "@" system-id
  std::string_view tenant = key.substr(0, at), system = key.substr(at + 1);
  if (tenant.empty() || tenant.size() > 241 || !(is_lcalpha(tenant[0]) || is_digit(tenant[0]))) {
    return false;
  }
  for (char c : tenant.substr(1)) {
    if (!is_key_char(c)) return false;
  }
  if (system.empty() || system.size() > 14 || !is_lcalpha(system[0])) return false;
  for (char c : system.substr(1)) {
    if (!is_key_char(c)) return false;  // a second '@' lands here
  }
  return true;
}

bool valid_value(std::string_view value) {
  if (value.empty() || value.size() > 256 || !is_nblk_chr(value.back())) return false;
  for (char c : value) {
    if (c != ' ' && !is_nblk_chr(c)) return false;
  }
  return true;
}

bool is_ows(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

core::RequestIdGenerator& thread_generator() {
  thread_local core::RequestIdGenerator generator;
  return generator;
}

}  // namespace

bool is_zero(const TraceId& id) {
  uint64_t a, b;
  std::memcpy(&a, id.data(), 8);
  std::memcpy(&b, id.data() + 8, 8);
  return (a | b) == 0;
}

bool is_zero(const SpanId& id) {
  uint64_t a;
  std::memcpy(&a, id.data(), 8);
  return a == 0;
}

std::optional<TraceParent> parse_traceparent(std::string_view value) {
  if (value.size() < kTraceparentLength) return std::nullopt;
  TraceParent tp;
  if (!parse_hex(value.substr(0, 2), &tp.version, 1)) return std::nullopt;
  if (tp.version == 0xff) return std::nullopt;
  if (tp.version == 0 && value.size() != kTraceparentLength) return std::nullopt;
  // A future version may append fields, but only after a '-'.
  if (value.size() > kTraceparentLength && value[kTraceparentLength] != '-') return std::nullopt;
  if (value[2] != '-' || value[35] != '-' || value[52] != '-') return std::nullopt;
  if (!parse_hex(value.substr(3, 32), tp.trace_id.data(), 16)) return std::nullopt;
  if (!parse_hex(value.substr(36, 16), tp.parent_id.data(), 8)) return std::nullopt;
  if (!parse_hex(value.substr(53, 2), &tp.flags, 1)) return std::nullopt;
  if (is_zero(tp.trace_id) || is_zero(tp.parent_id)) return std::nullopt;
  return tp;
}

namespace {

#if defined(__SSE2__)
// Lower-case hex of 8 bytes into 16 characters: nibbles split and interleaved in one register,
// then '0' + n, plus 39 more for n > 9 ('a' - '0' - 10). The traceparent is written on every
// request, sampled or not.
inline void hex8(const uint8_t* in, char* out) {
  const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(in));
  const __m128i low_nibble = _mm_set1_epi8(0x0f);
  const __m128i hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), low_nibble);
  const __m128i lo = _mm_and_si128(bytes, low_nibble);
  const __m128i nibbles = _mm_unpacklo_epi8(hi, lo);  // hi0 lo0 hi1 lo1 ...
  const __m128i letters = _mm_and_si128(_mm_cmpgt_epi8(nibbles, _mm_set1_epi8(9)), _mm_set1_epi8(39));
  const __m128i text = _mm_add_epi8(_mm_add_epi8(nibbles, _mm_set1_epi8('0')), letters);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), text);
}
#else
// Two hex digits per byte from one table load.
constexpr std::array<char, 512> make_hex_pairs() {
  std::array<char, 512> t{};
  for (size_t i = 0; i < 256; ++i) {
    t[2 * i] = kHex[i >> 4];
    t[2 * i + 1] = kHex[i & 15];
  }
  return t;
}
constexpr std::array<char, 512> kHexPairs = make_hex_pairs();

inline void hex8(const uint8_t* in, char* out) {
  for (size_t i = 0; i < 8; ++i) std::memcpy(out + 2 * i, &kHexPairs[2 * size_t{in[i]}], 2);
}
#endif

}  // namespace

void format_traceparent(const TraceId& trace_id, const SpanId& parent_id, bool sampled, char* out) {
  out[0] = '0';
  out[1] = '0';
  out[2] = '-';
  hex8(trace_id.data(), out + 3);
  hex8(trace_id.data() + 8, out + 19);
  out[35] = '-';
  hex8(parent_id.data(), out + 36);
  out[52] = '-';
  out[53] = '0';
  out[54] = sampled ? '1' : '0';
}

std::string format_traceparent(const TraceId& trace_id, const SpanId& parent_id, bool sampled) {
  std::string out(kTraceparentLength, '\0');
  format_traceparent(trace_id, parent_id, sampled, out.data());
  return out;
}

bool valid_tracestate(std::string_view value) {
  // Keys seen so far, to reject duplicates; at most 32 members, so a linear scan is cheapest.
  std::string_view keys[kMaxTracestateMembers];
  size_t members = 0;
  while (true) {
    size_t comma = value.find(',');
    std::string_view member = trim_ows(value.substr(0, comma));
    if (!member.empty()) {
      if (members == kMaxTracestateMembers) return false;
      size_t eq = member.find('=');
      if (eq == std::string_view::npos) return false;
      std::string_view key = member.substr(0, eq);
      if (!valid_key(key) || !valid_value(member.substr(eq + 1))) return false;
      for (size_t i = 0; i < members; ++i) {
        if (keys[i] == key) return false;
      }
      keys[members++] = key;
    }
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return true;
}

void append_hex(std::string& out, const uint8_t* bytes, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 15];
  }
}

std::string to_hex(const TraceId& id) {
  std::string out;
  out.reserve(32);
  append_hex(out, id.data(), id.size());
  return out;
}

std::string to_hex(const SpanId& id) {
  std::string out;
  out.reserve(16);
  append_hex(out, id.data(), id.size());
  return out;
}

TraceId new_trace_id() {
  TraceId id;
  do {
    uint64_t a = thread_generator().next_u64(), b = thread_generator().next_u64();
    std::memcpy(id.data(), &a, 8);
    std::memcpy(id.data() + 8, &b, 8);
  } while (is_zero(id));
  return id;
}

SpanId new_span_id() {
  SpanId id;
  do {
    uint64_t a = thread_generator().next_u64();
    std::memcpy(id.data(), &a, 8);
  } while (is_zero(id));
  return id;
}

uint64_t sampling_threshold(double ratio) {
  if (!(ratio > 0)) return 0;  // NaN too
  if (ratio >= 1) return uint64_t{1} << 63;
  return static_cast<uint64_t>(ratio * 9223372036854775808.0);  // ratio × 2^63
}

bool sample_trace(const TraceId& trace_id, uint64_t threshold) {
  uint64_t x;
  std::memcpy(&x, trace_id.data() + 8, sizeof x);
  if constexpr (std::endian::native == std::endian::little) x = __builtin_bswap64(x);  // big-endian read
  return (x >> 1) < threshold;
}

bool decide_sampled(const std::optional<TraceParent>& parent, const TraceId& trace_id,
                    uint64_t threshold) {
  if (parent) return parent->sampled();
  return sample_trace(trace_id, threshold);
}

}  // namespace portico::observability
