#include "auth/base64url.h"

#include <array>
#include <cstdint>

namespace portico::auth {
namespace {

constexpr uint8_t kInvalid = 0xFF;

constexpr std::array<uint8_t, 256> make_table(char c62, char c63) {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = kInvalid;
  for (int i = 0; i < 26; ++i) {
    t[static_cast<uint8_t>('A' + i)] = static_cast<uint8_t>(i);
    t[static_cast<uint8_t>('a' + i)] = static_cast<uint8_t>(26 + i);
  }
  for (int i = 0; i < 10; ++i) t[static_cast<uint8_t>('0' + i)] = static_cast<uint8_t>(52 + i);
  t[static_cast<uint8_t>(c62)] = 62;
  t[static_cast<uint8_t>(c63)] = 63;
  return t;
}

constexpr std::array<uint8_t, 256> kUrlTable = make_table('-', '_');
constexpr std::array<uint8_t, 256> kStdTable = make_table('+', '/');
constexpr char kUrlAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Decodes unpadded text with `table`; shared by both alphabets once padding is stripped.
bool decode_unpadded(std::string_view in, const std::array<uint8_t, 256>& table, std::string& out) {
  const size_t rem = in.size() % 4;
  if (rem == 1) return false;
  out.reserve(out.size() + in.size() / 4 * 3 + 2);
  size_t i = 0;
  const size_t full = in.size() - rem;
  for (; i < full; i += 4) {
    const uint8_t a = table[static_cast<uint8_t>(in[i])];
    const uint8_t b = table[static_cast<uint8_t>(in[i + 1])];
    const uint8_t c = table[static_cast<uint8_t>(in[i + 2])];
    const uint8_t d = table[static_cast<uint8_t>(in[i + 3])];
    if ((a | b | c | d) & 0xC0) return false;  // kInvalid has the top bits set; 0..63 never does
    const uint32_t v = (uint32_t{a} << 18) | (uint32_t{b} << 12) | (uint32_t{c} << 6) | d;
    out.push_back(static_cast<char>(v >> 16));
    out.push_back(static_cast<char>((v >> 8) & 0xFF));
    out.push_back(static_cast<char>(v & 0xFF));
  }
  if (rem == 2) {
    const uint8_t a = table[static_cast<uint8_t>(in[i])];
    const uint8_t b = table[static_cast<uint8_t>(in[i + 1])];
    if ((a | b) & 0xC0) return false;
    if (b & 0x0F) return false;  // non-canonical: bits that belong to no output byte
    out.push_back(static_cast<char>((a << 2) | (b >> 4)));
  } else if (rem == 3) {
    const uint8_t a = table[static_cast<uint8_t>(in[i])];
    const uint8_t b = table[static_cast<uint8_t>(in[i + 1])];
    const uint8_t c = table[static_cast<uint8_t>(in[i + 2])];
    if ((a | b | c) & 0xC0) return false;
    if (c & 0x03) return false;
    const uint32_t v = (uint32_t{a} << 10) | (uint32_t{b} << 4) | (c >> 2);
    out.push_back(static_cast<char>(v >> 8));
    out.push_back(static_cast<char>(v & 0xFF));
  }
  return true;
}

}  // namespace

bool base64url_decode(std::string_view in, std::string& out) { return decode_unpadded(in, kUrlTable, out); }

std::optional<std::string> base64url_decode(std::string_view in) {
  std::string out;
  if (!base64url_decode(in, out)) return std::nullopt;
  return out;
}

void base64url_encode(std::string_view bytes, std::string& out) {
  out.reserve(out.size() + (bytes.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{static_cast<uint8_t>(bytes[i])} << 16) |
                       (uint32_t{static_cast<uint8_t>(bytes[i + 1])} << 8) | static_cast<uint8_t>(bytes[i + 2]);
    out.push_back(kUrlAlphabet[v >> 18]);
    out.push_back(kUrlAlphabet[(v >> 12) & 63]);
    out.push_back(kUrlAlphabet[(v >> 6) & 63]);
    out.push_back(kUrlAlphabet[v & 63]);
  }
  const size_t rem = bytes.size() - i;
  if (rem == 1) {
    const uint32_t v = static_cast<uint8_t>(bytes[i]);
    out.push_back(kUrlAlphabet[v >> 2]);
    out.push_back(kUrlAlphabet[(v & 3) << 4]);
  } else if (rem == 2) {
    const uint32_t v = (uint32_t{static_cast<uint8_t>(bytes[i])} << 8) | static_cast<uint8_t>(bytes[i + 1]);
    out.push_back(kUrlAlphabet[v >> 10]);
    out.push_back(kUrlAlphabet[(v >> 4) & 63]);
    out.push_back(kUrlAlphabet[(v & 15) << 2]);
  }
}

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  base64url_encode(bytes, out);
  return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
  if (!in.empty() && in.back() == '=') {
    // Padding, when used, must bring the length to a multiple of four with one or two '='.
    if (in.size() % 4 != 0) return std::nullopt;
    in.remove_suffix(1);
    if (!in.empty() && in.back() == '=') in.remove_suffix(1);
  }
  std::string out;
  if (!decode_unpadded(in, kStdTable, out)) return std::nullopt;
  return out;
}

}  // namespace portico::auth
