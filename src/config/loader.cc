#include "config/loader.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>

#include "config/kong_schema.h"
#include "config/route_conflicts.h"

namespace portico::config {
namespace {

// Hashes the source text and, in lookup order, every substituted environment variable: a change
// in the environment is a change of configuration, so it must change the reported version.
class VersionHasher {
 public:
  VersionHasher() : ctx_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) ctx_.reset();
  }
  void update(std::string_view bytes) {
    if (ctx_) EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size());
  }
  std::string hex16() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (!ctx_ || EVP_DigestFinal_ex(ctx_.get(), digest, &size) != 1 || size < 8) return {};
    std::string out;
    for (unsigned int i = 0; i < 8; ++i) out += fmt::format("{:02x}", digest[i]);
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

void fail(LoadResult& result, const std::string& file, std::string message) {
  result.errors.add(core::ConfigError{file, core::Mark{}, "", std::move(message)});
}

void load_into(LoadResult& result, std::string_view text, std::string file_name,
               const LoadOptions& options) {
  VersionHasher hasher;
  hasher.update(text);
  YamlOptions yaml;
  yaml.env = [&](std::string_view name) -> std::optional<std::string> {
    std::optional<std::string> value;
    if (options.env) {
      value = options.env(name);
    } else if (const char* v = std::getenv(std::string(name).c_str())) {
      value = v;
    }
    if (value) {
      hasher.update(std::string_view("\0", 1));
      hasher.update(name);
      hasher.update("=");
      hasher.update(*value);
    }
    return value;
  };
  std::string file = file_name;
  auto document = parse_yaml_document(text, std::move(file_name), result.errors, yaml);
  if (!document) return;

  Config config;
  config.file = file;
  config.document = document;
  KongSchema schema(result.errors, config);
  schema.read(*document);
  if (result.errors.empty()) check_route_conflicts(config, *document, result.errors);
  if (!result.errors.empty()) {
    result.errors.sort_by_position();
    return;
  }
  config.version = hasher.hex16();
  result.config = std::move(config);
}

}  // namespace

LoadResult load_string(std::string_view text, std::string file_name, const LoadOptions& options) {
  LoadResult result;
  std::string file = file_name;
  try {
    load_into(result, text, std::move(file_name), options);
  } catch (const std::exception& e) {
    result.config.reset();
    fail(result, file, fmt::format("internal error while loading: {}", e.what()));
  }
  return result;
}

LoadResult load_file(const std::string& path, const LoadOptions& options) {
  std::unique_ptr<std::FILE, decltype(&std::fclose)> f(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (!f) {
    LoadResult result;
    fail(result, path, fmt::format("cannot open the file: {}", std::strerror(errno)));
    return result;
  }
  std::string text;
  char buffer[1 << 16];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, f.get())) > 0) text.append(buffer, n);
  if (std::ferror(f.get())) {
    LoadResult result;
    fail(result, path, fmt::format("cannot read the file: {}", std::strerror(errno)));
    return result;
  }
  return load_string(text, path, options);
}

}  // namespace portico::config
