// Strict JSON for JOSE documents (JWS headers, JWT claims sets, JWK sets).
//
// RFC 7515 §5.2 and RFC 7519 §4 let a parser either reject duplicate member names or keep the
// last one; two components that disagree on which duplicate wins can be made to disagree on a
// token's meaning, so Portico rejects them. Boost.JSON's own parser keeps the last, so this wraps
// boost::json::basic_parser with a handler that builds the value and checks names per object.
//
// Contract: pure, callable from any thread, no exceptions escape. Input must be one complete
// document: RFC 8259 JSON, valid UTF-8, no comments, no trailing commas, nesting at most
// `max_depth`.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <string_view>

namespace portico::auth {

enum class StrictJsonError : uint8_t {
  kOk = 0,
  kSyntax,        // not one well-formed JSON document (or nested too deeply)
  kDuplicateKey,  // some object has the same member name twice
};

StrictJsonError parse_strict_json(std::string_view text, boost::json::value& out, size_t max_depth = 16);

}  // namespace portico::auth
