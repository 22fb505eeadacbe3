// Kong `ca_certificates` and `certificates`, and the references services and upstreams make to
// them (`ca_certificates`, `client_certificate`); Kong `mtls_auth_credentials`, which name one. Every PEM is parsed and checked while loading,
// so a bad certificate is a load error with its line and column, never a failed reload.
#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string_view>

#include "config/kong_schema.h"
#include "config/validators.h"
#include "core/object_reader.h"

namespace portico::config {
namespace {

using core::ConfigNode;
using core::ObjectReader;
using core::path_index;

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

std::string openssl_reason() {
  unsigned long code = ERR_peek_last_error();
  const char* reason = code ? ERR_reason_error_string(code) : nullptr;
  ERR_clear_error();
  return reason ? reason : "unreadable";
}

// Every certificate of a PEM string; an error message when there is none or garbage.
std::string parse_certs(const std::string& pem, std::vector<X509Ptr>& out) {
  ERR_clear_error();
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return "out of memory";
  for (;;) {
    X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    if (x == nullptr) break;
    out.emplace_back(x);
  }
  BIO_free(bio);
  unsigned long last = ERR_peek_last_error();
  if (!out.empty() && ERR_GET_REASON(last) == PEM_R_NO_START_LINE) {
    ERR_clear_error();
    return "";
  }
  if (out.empty()) {
    ERR_clear_error();
    return "not a PEM certificate (expected -----BEGIN CERTIFICATE-----)";
  }
  return "invalid PEM certificate: " + openssl_reason();
}

std::string parse_key(const std::string& pem, EVP_PKEY** out) {
  ERR_clear_error();
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return "out of memory";
  *out = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (*out == nullptr) return "not a PEM private key (" + openssl_reason() + ")";
  return "";
}

std::string time_text(const ASN1_TIME* t) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return "?";
  ASN1_TIME_print(bio, t);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n > 0 ? n : 0));
  BIO_free(bio);
  return out;
}

std::string subject_text(X509* x) {
  char buf[256];
  X509_NAME_oneline(X509_get_subject_name(x), buf, sizeof buf);
  return buf;
}

std::string sha256_hex(X509* x) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(x, EVP_sha256(), md, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

// `ocsp_stapling`: reads the file (a relative path is relative to the configuration file's
// directory) and checks that it holds a successful DER OCSP response; an error message or "".
std::string read_ocsp_response(const std::string& path, const std::string& config_file, std::string& out) {
  std::string full = path;
  if (!path.empty() && path.front() != '/') {
    const size_t slash = config_file.rfind('/');
    if (slash != std::string::npos) full = config_file.substr(0, slash + 1) + path;
  }
  std::unique_ptr<std::FILE, decltype(&std::fclose)> f(std::fopen(full.c_str(), "rb"), &std::fclose);
  if (!f) return fmt::format("cannot read \"{}\": {}", full, std::strerror(errno));
  out.clear();
  char buf[8192];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f.get())) > 0;) {
    out.append(buf, n);
    if (out.size() > 1024 * 1024) return fmt::format("\"{}\" is larger than 1 MiB: not an OCSP response", full);
  }
  ERR_clear_error();
  const auto* p = reinterpret_cast<const unsigned char*>(out.data());
  OCSP_RESPONSE* resp = d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(out.size()));
  if (resp == nullptr) {
    ERR_clear_error();
    return fmt::format("\"{}\" is not a DER OCSP response", full);
  }
  const int status = OCSP_response_status(resp);
  OCSP_RESPONSE_free(resp);
  if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    return fmt::format("\"{}\" is an unsuccessful OCSP response ({})", full, OCSP_response_status_str(status));
  }
  return "";
}

// Checks a `cert` + `key` pair; an error message or "".
std::string check_pair(const std::string& cert, const std::string& key, std::string_view cert_field) {
  std::vector<X509Ptr> chain;
  if (std::string e = parse_certs(cert, chain); !e.empty()) return e;
  EVP_PKEY* pkey = nullptr;
  if (std::string e = parse_key(key, &pkey); !e.empty()) return e;
  const bool match = X509_check_private_key(chain[0].get(), pkey) == 1;
  EVP_PKEY_free(pkey);
  ERR_clear_error();
  if (!match) return fmt::format("the key does not match the certificate in '{}'", cert_field);
  return "";
}

}  // namespace

void KongSchema::read_ca_certificates(const ConfigNode& list, const std::string& path) {
  std::unordered_map<std::string, core::Mark> digests;
  for (size_t i = 0; i < list.size(); ++i) {
    ObjectReader r(list[i], path_index(path, i), errors_);
    if (!r.valid()) continue;
    CaCertificate ca;
    ca.mark = list[i].mark();
    r.require("cert");
    std::string given_digest;
    const bool has_digest = r.get("cert_digest", given_digest);
    if (r.get("cert", ca.cert)) {
      std::vector<X509Ptr> certs;
      if (std::string e = parse_certs(ca.cert, certs); !e.empty()) {
        r.error("cert", std::move(e));
      } else {
        for (const auto& x : certs) {
          if (X509_check_ca(x.get()) == 0) {
            r.error("cert", fmt::format("certificate \"{}\" is not a CA certificate (no basicConstraints "
                                        "CA:TRUE)",
                                        subject_text(x.get())));
          } else if (X509_cmp_current_time(X509_get0_notAfter(x.get())) < 0) {
            r.error("cert", fmt::format("CA certificate \"{}\" expired on {}", subject_text(x.get()),
                                        time_text(X509_get0_notAfter(x.get()))));
          }
        }
        const std::string digest = sha256_hex(certs[0].get());
        if (has_digest) {
          std::string given = given_digest;
          for (char& c : given) c = static_cast<char>(c >= 'A' && c <= 'F' ? c + 32 : c);
          if (given != digest) {
            r.error("cert_digest", fmt::format("cert_digest does not match the certificate (its SHA-256 "
                                               "is {})",
                                               digest));
          }
        }
        ca.cert_digest = digest;
        auto [it, inserted] = digests.emplace(digest, list[i].mark());
        if (!inserted) {
          r.error("cert", fmt::format("duplicate ca_certificate (the same certificate is at line {})",
                                      it->second.line));
        }
      }
    }
    read_common(r, ca.id, ca.tags);
    register_entity(ca_certificates_, ca.id, "", static_cast<int>(config_.ca_certificates.size()), r);
    ca.yaml_path = r.path();
    r.finish();
    config_.ca_certificates.push_back(std::move(ca));
  }
}

void KongSchema::read_certificates(const ConfigNode& list, const std::string& path) {
  for (size_t i = 0; i < list.size(); ++i) {
    ObjectReader r(list[i], path_index(path, i), errors_);
    if (!r.valid()) continue;
    Certificate c;
    c.mark = list[i].mark();
    r.require("cert");
    r.require("key");
    const bool has_cert = r.get("cert", c.cert);
    const bool has_key = r.get("key", c.key);
    if (has_cert && has_key) {
      if (std::string e = check_pair(c.cert, c.key, "cert"); !e.empty()) {
        const char* field = e.starts_with("not a PEM private key") ? "key" : "cert";
        r.error(field, std::move(e));
      }
    }
    const bool has_cert_alt = r.get("cert_alt", c.cert_alt);
    const bool has_key_alt = r.get("key_alt", c.key_alt);
    if (has_cert_alt != has_key_alt) {
      r.error(has_cert_alt ? "cert_alt" : "key_alt", "'cert_alt' and 'key_alt' must be given together");
    } else if (has_cert_alt) {
      if (std::string e = check_pair(c.cert_alt, c.key_alt, "cert_alt"); !e.empty()) {
        const char* field = e.starts_with("not a PEM private key") ? "key_alt" : "cert_alt";
        r.error(field, std::move(e));
      }
    }
    if (const ConfigNode* snis = r.sequence("snis")) {
      // Kong's shorthand (names) or decK's form (maps with a `name`).
      const std::string snis_path = r.path_of("snis");
      for (size_t j = 0; j < snis->size(); ++j) {
        const ConfigNode& item = (*snis)[j];
        const std::string item_path = path_index(snis_path, j);
        std::string name;
        const ConfigNode* at = &item;
        if (item.is_map()) {
          ObjectReader m(item, item_path, errors_);
          m.require("name");
          if (!m.get("name", name)) {
            m.finish();
            continue;
          }
          at = item.find("name");
          std::string id;
          std::vector<std::string> tags;
          read_common(m, id, tags);
          m.finish();
        } else if (!core::read_string(item, item_path, errors_, name)) {
          continue;
        }
        if (add_sni(c, std::move(name), *at, item_path)) continue;
      }
    }
    if (r.get("ocsp_stapling", c.ocsp_stapling)) {
      if (std::string e = read_ocsp_response(c.ocsp_stapling, list[i].file(), c.ocsp_response); !e.empty()) {
        r.error("ocsp_stapling", std::move(e));
      }
    }
    if (const ConfigNode* verify = r.map("client_certificate")) {
      // Portico: mutual TLS for connections served with this certificate.
      ObjectReader m(*verify, r.path_of("client_certificate"), errors_);
      c.verify_clients = true;
      m.get("required", c.client_certificate_required);
      m.require("ca_certificates");
      if (const ConfigNode* list = m.sequence("ca_certificates")) {
        const std::string list_path = m.path_of("ca_certificates");
        if (list->empty()) m.error("ca_certificates", "ca_certificates must name at least one ca_certificate id");
        for (size_t j = 0; j < list->size(); ++j) {
          std::string id;
          if (!core::read_string((*list)[j], path_index(list_path, j), errors_, id)) continue;
          CertRef ref{true, -1, -1, std::move(id), &(*list)[j], path_index(list_path, j)};
          ref.certificate = static_cast<int>(config_.certificates.size());
          cert_refs_.push_back(std::move(ref));
        }
      }
      m.finish();
    }
    read_common(r, c.id, c.tags);
    register_entity(certificates_, c.id, "", static_cast<int>(config_.certificates.size()), r);
    c.yaml_path = r.path();
    r.finish();
    config_.certificates.push_back(std::move(c));
  }
}

// One server name of a certificate (from its `snis` or a top-level `snis` entity); false with
// the error recorded when the name is invalid or taken.
bool KongSchema::add_sni(Certificate& c, std::string name, const ConfigNode& at, const std::string& path) {
  for (char& ch : name) ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
  std::string host = name;
  if (name != "*" && (!check_route_host(host).empty() || name.find(':') != std::string::npos)) {
    errors_.add(at, path, fmt::format("sni \"{}\" is not a valid server name", name));
    return false;
  }
  auto [it, inserted] = certificate_snis_.emplace(name, at.mark());
  if (!inserted) {
    errors_.add(at, path, fmt::format("duplicate sni \"{}\" (first defined at line {})", name, it->second.line));
    return false;
  }
  c.snis.push_back(std::move(name));
  return true;
}

// Kong's top-level `snis` entities: `name` and the `certificate` (an id, or a map with `id`) it
// selects. Read after `certificates`.
void KongSchema::read_snis(const ConfigNode& list, const std::string& path) {
  for (size_t i = 0; i < list.size(); ++i) {
    ObjectReader r(list[i], path_index(path, i), errors_);
    if (!r.valid()) continue;
    r.require("name");
    r.require("certificate");
    std::string name;
    const bool has_name = r.get("name", name);
    std::string id;
    const ConfigNode* at = nullptr;
    std::string at_path = r.path_of("certificate");
    if (const ConfigNode* value = r.child("certificate")) {
      at = value;
      if (value->is_map()) {
        ObjectReader m(*value, at_path, errors_);
        m.require("id");
        if (m.get("id", id)) {
          at = value->find("id");
          at_path = m.path_of("id");
        }
        m.finish();
      } else {
        core::read_string(*value, at_path, errors_, id);
      }
    }
    std::string sni_id;
    std::vector<std::string> tags;
    read_common(r, sni_id, tags);
    r.finish();
    if (!has_name || id.empty() || at == nullptr) continue;
    auto it = certificates_.by_id.find(id);
    if (it == certificates_.by_id.end()) {
      errors_.add(*at, at_path, fmt::format("no certificate has id \"{}\"{}", id,
                                            certificates_.by_id.empty() ? "; declare it in the top-level 'certificates' list" : ""));
      continue;
    }
    add_sni(config_.certificates[static_cast<size_t>(it->second.first)], std::move(name), *list[i].find("name"),
            r.path_of("name"));
  }
}

void KongSchema::read_certificate_refs(ObjectReader& r, int service, int upstream) {
  const ConfigNode* list = service >= 0 ? r.sequence("ca_certificates") : nullptr;  // services only
  if (list) {
    const std::string list_path = r.path_of("ca_certificates");
    for (size_t i = 0; i < list->size(); ++i) {
      std::string id;
      if (!core::read_string((*list)[i], path_index(list_path, i), errors_, id)) continue;
      cert_refs_.push_back({true, service, upstream, std::move(id), &(*list)[i], path_index(list_path, i)});
    }
  }
  if (const ConfigNode* value = r.child("client_certificate")) {
    std::string id;
    std::string at_path = r.path_of("client_certificate");
    const ConfigNode* at = value;
    if (value->is_map()) {
      ObjectReader m(*value, at_path, errors_);
      m.require("id");
      bool ok = m.get("id", id);
      m.finish();
      if (!ok) return;
      at = value->find("id");
      at_path = m.path_of("id");
    } else if (!core::read_string(*value, at_path, errors_, id)) {
      return;
    }
    cert_refs_.push_back({false, service, upstream, std::move(id), at, std::move(at_path)});
  }
}

void KongSchema::resolve_certificate_refs() {
  for (const CertRef& ref : cert_refs_) {
    const Registry& reg = ref.ca ? ca_certificates_ : certificates_;
    auto it = reg.by_id.find(ref.value);
    if (it == reg.by_id.end()) {
      std::string message = fmt::format("no {} has id \"{}\"", reg.type, ref.value);
      std::string_view best;
      size_t best_distance = 4;
      for (const auto& [id, unused] : reg.by_id) {
        size_t d = core::edit_distance(ref.value, id);
        if (d < best_distance) {
          best_distance = d;
          best = id;
        }
      }
      if (!best.empty()) message += fmt::format(" (did you mean \"{}\"?)", best);
      if (reg.by_id.empty()) {
        message += fmt::format("; declare it in the top-level '{}s' list", reg.type);
      }
      errors_.add(*ref.at, ref.path, std::move(message));
      continue;
    }
    const int found = it->second.first;
    if (ref.certificate >= 0) {
      config_.certificates[static_cast<size_t>(ref.certificate)].client_ca_certificates.push_back(found);
    } else if (ref.service >= 0) {
      Service& s = config_.services[static_cast<size_t>(ref.service)];
      if (ref.ca) {
        s.ca_certificates.push_back(found);
      } else {
        s.client_certificate = found;
      }
    } else if (ref.upstream >= 0) {
      config_.upstreams[static_cast<size_t>(ref.upstream)].client_certificate = found;
    }
  }
  // The default certificate of TLS listeners: SNI "*", else the first certificate without SNIs
  // that is not some service's or upstream's client certificate (that one is for upstreams).
  std::vector<bool> presented(config_.certificates.size(), false);
  for (const Service& s : config_.services) {
    if (s.client_certificate >= 0) presented[static_cast<size_t>(s.client_certificate)] = true;
  }
  for (const Upstream& u : config_.upstreams) {
    if (u.client_certificate >= 0) presented[static_cast<size_t>(u.client_certificate)] = true;
  }
  config_.default_certificate = -1;
  for (size_t i = 0; i < config_.certificates.size(); ++i) {
    const auto& snis = config_.certificates[i].snis;
    if (std::find(snis.begin(), snis.end(), "*") != snis.end()) config_.default_certificate = static_cast<int>(i);
  }
  for (size_t i = 0; i < config_.certificates.size() && config_.default_certificate < 0; ++i) {
    if (config_.certificates[i].snis.empty() && !presented[i]) config_.default_certificate = static_cast<int>(i);
  }
  for (MtlsAuthCredential& m : config_.mtls_auth_credentials) {
    if (m.ca_certificate_at == nullptr) continue;
    auto it = ca_certificates_.by_id.find(m.ca_certificate_ref);
    if (it == ca_certificates_.by_id.end()) {
      errors_.add(*m.ca_certificate_at, m.ca_certificate_path,
                  fmt::format("no ca_certificate has id \"{}\"{}", m.ca_certificate_ref,
                              ca_certificates_.by_id.empty() ? "; declare it in the top-level 'ca_certificates' list"
                                                             : ""));
      continue;
    }
    m.ca_certificate = it->second.first;
  }
}

// Kong's mtls_auth_credentials: `subject_name` (required), `ca_certificate` (an id, or a map with
// `id`), and the owning consumer (nested, or a top-level `consumer` reference).
void KongSchema::read_mtls_auth_credentials(const ConfigNode& list, const std::string& path, int consumer) {
  for (size_t i = 0; i < list.size(); ++i) {
    ObjectReader r(list[i], path_index(path, i), errors_);
    if (!r.valid()) continue;
    MtlsAuthCredential m;
    m.mark = list[i].mark();
    if (consumer >= 0) {
      r.reject("consumer", "an mtls_auth_credential nested under a consumer must not have a 'consumer' field; it "
                           "belongs to that consumer already");
      m.consumer = consumer;
    } else {
      m.consumer = read_credential_consumer(r);
    }
    r.require("subject_name");
    if (r.get("subject_name", m.subject_name) && m.subject_name.empty()) {
      r.error("subject_name", "subject_name must not be empty");
    }
    if (const ConfigNode* value = r.child("ca_certificate")) {
      std::string at_path = r.path_of("ca_certificate");
      const ConfigNode* at = value;
      std::string id;
      bool ok = false;
      if (value->is_map()) {
        ObjectReader ref(*value, at_path, errors_);
        ref.require("id");
        ok = ref.get("id", id);
        ref.finish();
        if (ok) {
          at = value->find("id");
          at_path = ref.path_of("id");
        }
      } else {
        ok = core::read_string(*value, at_path, errors_, id);
      }
      if (ok) {
        m.ca_certificate_ref = std::move(id);
        m.ca_certificate_at = at;
        m.ca_certificate_path = std::move(at_path);
      }
    }
    read_common(r, m.id, m.tags);
    m.yaml_path = r.path();
    r.finish();
    config_.mtls_auth_credentials.push_back(std::move(m));
  }
}

}  // namespace portico::config
