// Config bodies of `POST /config`: finds the declarative config text in an admin request body as
// Kong's DB-less admin API accepts it.
//
// Contract: pure functions (no I/O, any thread). `extract_config_text` looks at the media type of
// `content_type` (parameters and case ignored):
// - `multipart/form-data; boundary=...`: the text of the part named `config`;
// - `application/x-www-form-urlencoded`: the percent-decoded value of the field `config`
//   (`+` is a space);
// - anything else (JSON, YAML, none): the body itself, since the loader reads YAML, a superset of
//   JSON.
// It returns false with `error` set when a form is malformed or has no `config` field.
#pragma once

#include <string>
#include <string_view>

namespace portico::admin {

bool extract_config_text(std::string_view content_type, std::string_view body, std::string& text,
                         std::string& error);

// The lower-cased media type of a Content-Type value, without parameters or spaces.
std::string media_type(std::string_view content_type);

// Percent-decodes one application/x-www-form-urlencoded value; false on a malformed escape.
bool form_decode(std::string_view in, std::string& out);

}  // namespace portico::admin
