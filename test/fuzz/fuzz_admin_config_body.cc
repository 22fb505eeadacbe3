// libFuzzer target: a POST /config request's Content-Type and body (as sent by any admin client)
// through the form parsers. The first line of the input is the Content-Type, the rest the body.
// Besides ASan/UBSan, it checks what the admin handler relies on: a failure names its reason, a
// success never yields more text than the body held, and a body that is neither form comes back
// unchanged.
#include <cstdint>
#include <string>
#include <string_view>

#include "admin/config_body.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t eol = input.find('\n');
  std::string_view content_type = eol == std::string_view::npos ? input : input.substr(0, eol);
  std::string_view body = eol == std::string_view::npos ? std::string_view() : input.substr(eol + 1);
  std::string text, error;
  const bool ok = portico::admin::extract_config_text(content_type, body, text, error);
  if (!ok) {
    FUZZ_CHECK(!error.empty());
    return 0;
  }
  FUZZ_CHECK(text.size() <= body.size());
  const std::string type = portico::admin::media_type(content_type);
  if (type != "multipart/form-data" && type != "application/x-www-form-urlencoded") {
    FUZZ_CHECK(text == body);
  }
  std::string decoded;
  if (portico::admin::form_decode(text, decoded)) FUZZ_CHECK(decoded.size() <= text.size());
  return 0;
}
