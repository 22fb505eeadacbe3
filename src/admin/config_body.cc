#include "admin/config_body.h"

#include <cctype>

#include "core/ascii.h"

namespace portico::admin {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

constexpr auto trim = core::trim_ows;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The value of parameter `name` in a header value like `multipart/form-data; boundary="x"`.
std::string parameter(std::string_view value, std::string_view name) {
  size_t pos = value.find(';');
  while (pos != std::string_view::npos) {
    std::string_view rest = value.substr(pos + 1);
    size_t next = rest.find(';');
    std::string_view item = trim(rest.substr(0, next));
    size_t eq = item.find('=');
    if (eq != std::string_view::npos && lower(trim(item.substr(0, eq))) == name) {
      std::string_view v = trim(item.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return std::string(v);
    }
    pos = next == std::string_view::npos ? next : pos + 1 + next;
  }
  return {};
}

bool urlencoded_field(std::string_view body, std::string_view field, std::string& out, std::string& error) {
  while (!body.empty()) {
    size_t amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    size_t eq = pair.find('=');
    std::string key;
    if (!form_decode(pair.substr(0, eq), key)) {
      error = "malformed percent-encoding in the form";
      return false;
    }
    if (key != field) continue;
    if (!form_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), out)) {
      error = "malformed percent-encoding in the form field 'config'";
      return false;
    }
    return true;
  }
  error = "the form has no field 'config'";
  return false;
}

bool multipart_field(std::string_view body, std::string_view boundary, std::string_view field, std::string& out,
                     std::string& error) {
  if (boundary.empty()) {
    error = "multipart/form-data without a boundary parameter";
    return false;
  }
  const std::string delimiter = "--" + std::string(boundary);
  size_t pos = body.find(delimiter);
  while (pos != std::string_view::npos) {
    size_t after = pos + delimiter.size();
    if (body.substr(after, 2) == "--") break;  // the closing delimiter
    size_t head_start = body.find("\r\n", after);
    if (head_start == std::string_view::npos) break;
    head_start += 2;
    size_t head_end = body.find("\r\n\r\n", head_start);
    if (head_end == std::string_view::npos) break;
    size_t next = body.find("\r\n" + delimiter, head_end + 4);
    if (next == std::string_view::npos) break;
    std::string_view headers = body.substr(head_start, head_end - head_start);
    std::string_view content = body.substr(head_end + 4, next - head_end - 4);
    // Each header line; the part's name is in Content-Disposition.
    while (!headers.empty()) {
      size_t eol = headers.find("\r\n");
      std::string_view line = headers.substr(0, eol);
      headers = eol == std::string_view::npos ? std::string_view{} : headers.substr(eol + 2);
      size_t colon = line.find(':');
      if (colon == std::string_view::npos || lower(trim(line.substr(0, colon))) != "content-disposition") continue;
      if (parameter(line.substr(colon + 1), "name") == field) {
        out.assign(content);
        return true;
      }
    }
    pos = next + 2;
  }
  error = "the multipart form has no part named 'config'";
  return false;
}

}  // namespace

std::string media_type(std::string_view content_type) {
  return lower(trim(content_type.substr(0, content_type.find(';'))));
}

bool form_decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      int hi = i + 1 < in.size() ? hex_value(in[i + 1]) : -1;
      int lo = i + 2 < in.size() ? hex_value(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) return false;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return true;
}

bool extract_config_text(std::string_view content_type, std::string_view body, std::string& text,
                         std::string& error) {
  std::string type = media_type(content_type);
  if (type == "application/x-www-form-urlencoded") return urlencoded_field(body, "config", text, error);
  if (type == "multipart/form-data") {
    return multipart_field(body, parameter(content_type, "boundary"), "config", text, error);
  }
  text.assign(body);
  return true;
}

}  // namespace portico::admin
