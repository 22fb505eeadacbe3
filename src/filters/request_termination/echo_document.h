// build_echo_document: the JSON body request-termination answers with `echo: true`, shaped like
// Kong's: {"message":..., "request":{...}, "matched_route":..., "matched_service":...}.
//
// Contract: worker thread, synchronous, reads the exchange only. `message` may be null (no
// "message" member, as Kong leaves it out when the status has no default text). The request body
// is never read (bodies stream; buffering one for a debug echo is not worth its cost), so "body",
// "raw_body" and "uri_captures" are absent; the route and service are objects carrying only "name".
#pragma once

#include <string>
#include <string_view>

#include "filter/exchange.h"

namespace portico::filters {

// Appends `s` to `out` as a JSON string literal (quotes included). Bytes >= 0x80 pass through, as
// Kong's encoder does; control characters are escaped.
void append_json_string(std::string& out, std::string_view s);

void build_echo_document(const filter::Exchange& exchange, const std::string* message,
                         std::string& out);

}  // namespace portico::filters
