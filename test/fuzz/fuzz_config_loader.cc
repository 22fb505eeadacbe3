// libFuzzer target: the configuration loader (YAML via libyaml → core::ConfigNode → Kong
// declarative schema → config::Config, with `${VAR}` substitution and the `portico:` block).
// The input is the file text. Besides ASan/UBSan/LeakSanitizer, it checks the loader's contract
// (src/config/loader.h): it never throws; `config` is set iff there are no errors; each error has a
// message, its file, and a 1-based line:column when it has a position; a loaded config has a
// 16-hex-digit version, a document, and cross-reference indices inside their vectors.
// The environment is a fixed table (not the process's), so runs are reproducible.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/loader.h"
#include "fuzz_support.h"

namespace {

using namespace portico;

constexpr char kFile[] = "fuzz.yaml";

std::optional<std::string> fake_env(std::string_view name) {
  if (name == "PORT") return "8080";
  if (name == "HOST") return "example.com";
  if (name == "NAME") return "svc";
  if (name == "EMPTY") return "";
  if (name == "URL") return "http://127.0.0.1:9000/api";
  if (name == "WEIRD") return "a: [b, ${PORT}";  // substituted text is never parsed again
  return std::nullopt;
}

bool is_hex16(const std::string& s) {
  if (s.size() != 16) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// -1 (none) or a valid index.
bool index_ok(int index, size_t size) { return index == -1 || (index >= 0 && size_t(index) < size); }

void check_errors(const core::ConfigErrors& errors) {
  FUZZ_CHECK(!errors.empty());
  FUZZ_CHECK(errors.list().size() <= core::ConfigErrors::kMaxErrors);
  FUZZ_CHECK(errors.count() >= errors.list().size());
  for (const core::ConfigError& e : errors) {
    FUZZ_CHECK(!e.message.empty());
    FUZZ_CHECK(e.file == kFile);
    if (e.mark.line != 0) FUZZ_CHECK(e.mark.column >= 1);
    FUZZ_CHECK(!e.to_string().empty());
  }
  (void)errors.to_string();
}

void check_config(const config::Config& c) {
  FUZZ_CHECK(is_hex16(c.version));
  FUZZ_CHECK(c.file == kFile);
  FUZZ_CHECK(c.document != nullptr);
  FUZZ_CHECK(c.format_version == "3.0");
  for (const config::Route& r : c.routes) {
    FUZZ_CHECK(index_ok(r.service, c.services.size()));
    for (const config::HeaderCondition& h : r.headers) FUZZ_CHECK(!h.values.empty());
  }
  for (const config::PluginInstance& p : c.plugins) {
    FUZZ_CHECK(index_ok(p.service, c.services.size()));
    FUZZ_CHECK(index_ok(p.route, c.routes.size()));
    FUZZ_CHECK(index_ok(p.consumer, c.consumers.size()));
  }
  for (const config::Upstream& u : c.upstreams) {
    for (const config::UpstreamTarget& t : u.targets) FUZZ_CHECK(t.weight <= 65535);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  config::LoadOptions options;
  options.env = fake_env;
  const config::LoadResult result = config::load_string(text, kFile, options);
  FUZZ_CHECK(result.ok() == result.errors.empty());
  if (result.ok()) {
    check_config(*result.config);
  } else {
    check_errors(result.errors);
  }
  return 0;
}
