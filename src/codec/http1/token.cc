#include "codec/http1/token.h"

namespace portico::codec::http1 {

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_token_char(c)) return false;
  }
  return true;
}

bool is_field_value(std::string_view s) {
  if (s.empty()) return true;
  if (is_ows(s.front()) || is_ows(s.back())) return false;
  for (char c : s) {
    if (!is_field_char(c)) return false;
  }
  return true;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (to_lower_ascii(a[i]) != to_lower_ascii(b[i])) return false;
  }
  return true;
}

}  // namespace portico::codec::http1
