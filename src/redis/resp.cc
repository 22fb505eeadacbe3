#include "redis/resp.h"

#include <charconv>

namespace portico::redis {
namespace {

template <class Args>
void encode(std::string& out, const Args& args) {
  char number[24];
  auto append_number = [&](char prefix, size_t n) {
    out.push_back(prefix);
    auto r = std::to_chars(number, number + sizeof number, n);
    out.append(number, r.ptr);
    out.append("\r\n", 2);
  };
  append_number('*', args.size());
  for (std::string_view arg : args) {
    append_number('$', arg.size());
    out.append(arg);
    out.append("\r\n", 2);
  }
}

// Canonical decimal int64: optional '-', no leading zeros (except "0"), no "-0", no '+'.
bool parse_integer(std::string_view s, int64_t& out) {
  if (s.empty()) return false;
  const bool negative = s.front() == '-';
  const std::string_view digits = negative ? s.substr(1) : s;
  if (digits.empty() || (digits.size() > 1 && digits.front() == '0') || (negative && digits == "0")) return false;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
  }
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

void encode_command(std::string& out, std::initializer_list<std::string_view> args) { encode(out, args); }
void encode_command(std::string& out, const std::vector<std::string_view>& args) { encode(out, args); }
void encode_command(std::string& out, const std::vector<std::string>& args) { encode(out, args); }

size_t RespReply::skip(size_t index) const {
  size_t pending = 1;
  while (pending > 0 && index < nodes.size()) {
    const RespNode& n = nodes[index++];
    --pending;
    if (n.type == RespType::kArray) pending += static_cast<size_t>(n.integer);
  }
  return index;
}

RespStatus RespParser::parse(std::string_view buf, RespReply& out, size_t& consumed) {
  out.nodes.clear();
  size_t pos = 0;
  // Elements still expected at each open array level; the reply is complete when none are.
  size_t open[16];
  size_t depth = 0;
  size_t elements = 0;
  const size_t max_depth = limits_.max_depth < 16 ? limits_.max_depth : 16;
  for (;;) {
    if (pos >= buf.size()) return RespStatus::kNeedMore;
    const char kind = buf[pos];
    // The line after the type byte.
    const size_t line_begin = pos + 1;
    const size_t scan_end = std::min(buf.size(), line_begin + limits_.max_line + 1);
    const size_t lf = buf.find('\n', line_begin);
    if (lf == std::string_view::npos || lf >= scan_end) {
      if (buf.size() - line_begin > limits_.max_line) return fail("line too long");
      return RespStatus::kNeedMore;
    }
    if (lf == line_begin || buf[lf - 1] != '\r') return fail("line not terminated by CRLF");
    const std::string_view line = buf.substr(line_begin, lf - 1 - line_begin);
    if (line.find('\r') != std::string_view::npos) return fail("CR inside a line");
    pos = lf + 1;
    RespNode node;
    switch (kind) {
      case '+':
        node.type = RespType::kSimpleString;
        node.text = line;
        break;
      case '-':
        node.type = RespType::kError;
        node.text = line;
        break;
      case ':':
        node.type = RespType::kInteger;
        if (!parse_integer(line, node.integer)) return fail("bad integer");
        break;
      case '$': {
        int64_t length = 0;
        if (!parse_integer(line, length) || length < -1) return fail("bad bulk string length");
        if (length == -1) {
          node.type = RespType::kNull;
          break;
        }
        if (static_cast<uint64_t>(length) > limits_.max_bulk) return fail("bulk string too large");
        const size_t n = static_cast<size_t>(length);
        if (buf.size() - pos < n + 2) return RespStatus::kNeedMore;
        if (buf[pos + n] != '\r' || buf[pos + n + 1] != '\n') return fail("bulk string not terminated by CRLF");
        node.type = RespType::kBulkString;
        node.text = buf.substr(pos, n);
        pos += n + 2;
        break;
      }
      case '*': {
        int64_t count = 0;
        if (!parse_integer(line, count) || count < -1) return fail("bad array length");
        if (count == -1) {
          node.type = RespType::kNull;
          break;
        }
        elements += static_cast<size_t>(count);
        if (static_cast<uint64_t>(count) > limits_.max_elements || elements > limits_.max_elements) {
          return fail("too many array elements");
        }
        node.type = RespType::kArray;
        node.integer = count;
        break;
      }
      default:
        return fail("unknown reply type");
    }
    out.nodes.push_back(node);
    // This node fills one slot of the enclosing array.
    if (depth > 0) --open[depth - 1];
    if (node.type == RespType::kArray && node.integer > 0) {
      if (depth == max_depth) return fail("arrays nested too deeply");
      open[depth++] = static_cast<size_t>(node.integer);
    }
    while (depth > 0 && open[depth - 1] == 0) --depth;
    if (depth == 0) {
      consumed = pos;
      return RespStatus::kComplete;
    }
  }
}

}  // namespace portico::redis
