#include "http/message.h"

namespace portico::http {

std::string json_message(std::string_view message) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(message.size() + 16);
  out += "{\"message\":\"";
  for (char c : message) {
    unsigned char u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20) {
          out += "\\u00";
          out += kHex[u >> 4];
          out += kHex[u & 15];
        } else {
          out += c;
        }
    }
  }
  out += "\"}";
  return out;
}

void set_json_error(LocalReply& reply, uint16_t status, std::string_view message) {
  reply.status = status;
  reply.content_type = "application/json; charset=utf-8";
  reply.body = json_message(message);
}

}  // namespace portico::http
