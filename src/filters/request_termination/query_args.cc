#include "filters/request_termination/query_args.h"

namespace portico::filters {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void url_decode(std::string_view in, std::string& out) {
  out.reserve(out.size() + in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%' && i + 2 < in.size() && hex_value(in[i + 1]) >= 0 &&
               hex_value(in[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
}

bool decodes_to(std::string_view raw, std::string_view decoded) {
  if (raw.find_first_of("%+") == std::string_view::npos) return raw == decoded;
  std::string buffer;
  url_decode(raw, buffer);
  return buffer == decoded;
}

std::string_view decoded_view(std::string_view raw, std::string& scratch) {
  if (raw.find_first_of("%+") == std::string_view::npos) return raw;
  scratch.clear();
  url_decode(raw, scratch);
  return scratch;
}

std::string without_arg(std::string_view query, std::string_view name) {
  std::string out;
  out.reserve(query.size());
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view segment = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    std::string_view key = segment.substr(0, segment.find('='));
    if (!key.empty() && decodes_to(key, name)) continue;
    if (!out.empty()) out.push_back('&');
    out.append(segment);
  }
  return out;
}

}  // namespace portico::filters
