#include "auth/strict_json.h"

#include <algorithm>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>
#include <string>
#include <vector>

namespace portico::auth {
namespace {

namespace json = boost::json;

// Builds the value exactly like boost::json::parser (through a value_stack) and records every
// member name of the open objects; an object's names are sorted and compared when it closes.
struct StrictHandler {
  static constexpr size_t max_object_size = json::object::max_size();
  static constexpr size_t max_array_size = json::array::max_size();
  static constexpr size_t max_key_size = json::string::max_size();
  static constexpr size_t max_string_size = json::string::max_size();

  json::value_stack st;
  // Names of every open object, innermost last; `frames` holds where each object's names start.
  std::vector<std::string> names;
  std::vector<size_t> frames;
  std::string key_buf;
  bool duplicate = false;

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) {
    frames.push_back(names.size());
    return true;
  }
  bool on_object_end(size_t n, json::error_code& ec) {
    const size_t start = frames.back();
    frames.pop_back();
    auto first = names.begin() + static_cast<std::ptrdiff_t>(start);
    std::sort(first, names.end());
    if (std::adjacent_find(first, names.end()) != names.end()) {
      duplicate = true;
      ec = json::error::syntax;
      return false;
    }
    names.erase(first, names.end());
    st.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(size_t n, json::error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, size_t, json::error_code&) {
    key_buf.append(s.data(), s.size());
    st.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, size_t, json::error_code&) {
    key_buf.append(s.data(), s.size());
    names.push_back(std::move(key_buf));
    key_buf.clear();
    st.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, size_t, json::error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(int64_t i, json::string_view, json::error_code&) {
    st.push_int64(i);
    return true;
  }
  bool on_uint64(uint64_t u, json::string_view, json::error_code&) {
    st.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view, json::error_code&) {
    st.push_double(d);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code& ec) {
    ec = json::error::syntax;
    return false;
  }
  bool on_comment(json::string_view, json::error_code& ec) {
    ec = json::error::syntax;
    return false;
  }
};

}  // namespace

StrictJsonError parse_strict_json(std::string_view text, json::value& out, size_t max_depth) {
  json::parse_options opts;
  opts.max_depth = max_depth;
  opts.allow_comments = false;
  opts.allow_trailing_commas = false;
  opts.allow_invalid_utf8 = false;
  try {
    json::basic_parser<StrictHandler> parser(opts);
    parser.handler().st.reset();
    json::error_code ec;
    const size_t used = parser.write_some(false, text.data(), text.size(), ec);
    if (parser.handler().duplicate) return StrictJsonError::kDuplicateKey;
    if (ec || used != text.size() || !parser.done()) return StrictJsonError::kSyntax;
    out = parser.handler().st.release();
    return StrictJsonError::kOk;
  } catch (...) {
    // Only allocation failure or a limit of Boost.JSON's containers can throw here.
    return StrictJsonError::kSyntax;
  }
}

}  // namespace portico::auth
