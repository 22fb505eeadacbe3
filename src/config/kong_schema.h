// KongSchema: reads a parsed Kong declarative document (format 3.0) into config::Config.
//
// Contract (internal to src/config; loader.cc is the only user):
// - One instance per load, control thread. read() records every problem in `errors` and fills
//   `config` as far as it could; the caller discards `config` when errors is not empty.
// - Entities may be nested (services[].routes[], services[].plugins[], services[].routes[].
//   plugins[], routes[].plugins[], consumers[].plugins[]) or flat with references by name or id;
//   both forms give the same model. Entities are stored in a fixed order that does not depend on
//   the order of keys in any map: routes nested in services (by service), then top-level routes;
//   plugins of each service, then of its routes, service by service, then those nested in
//   top-level routes, then in consumers, then top-level plugins.
// - Adding a field: a member in model.h, one getter call in the entity's read_* function, a line
//   in docs/configuration.md. Adding an entity: a struct, a read_* function, a Registry, and a
//   line in read() (and in `kNotSupportedYet` until then).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "config/model.h"
#include "core/config_error.h"
#include "core/config_node.h"
#include "core/object_reader.h"

namespace portico::config {

class KongSchema {
 public:
  KongSchema(core::ConfigErrors& errors, Config& config) : errors_(errors), config_(config) {}

  void read(const core::ConfigNode& root);

 private:
  enum class EntityType { kService, kRoute, kConsumer };
  enum class Lookup { kIdOrName, kId, kName };

  // The entity a nested one lives under (type and index), if any.
  struct Parent {
    EntityType type;
    int index;
  };

  // A reference from a route or plugin to another entity, resolved after everything is read.
  // Its path (owner's yaml_path + key [+ sub_key]) is built only for an error.
  struct PendingRef {
    EntityType target;
    bool from_plugin;  // else from a route
    size_t owner;
    Lookup lookup;
    std::string value;
    const core::ConfigNode* at;
    std::string_view key;      // "service", "route", "consumer"
    std::string_view sub_key;  // "id" or the name field for the map form, else empty
  };

  // Names and ids of one entity type: value → (index, mark of the defining value).
  struct Registry {
    std::string_view type;
    std::string_view name_field;
    std::unordered_map<std::string, std::pair<int, core::Mark>> by_id;
    std::unordered_map<std::string, std::pair<int, core::Mark>> by_name;
  };

  void read_services(const core::ConfigNode& list, const std::string& path);
  void read_service(const core::ConfigNode& node, std::string path);
  void read_routes(const core::ConfigNode& list, const std::string& path, int service);
  void read_route(const core::ConfigNode& node, std::string path, int service);
  void read_consumers(const core::ConfigNode& list, const std::string& path);
  void read_consumer(const core::ConfigNode& node, std::string path);
  void read_plugins(const core::ConfigNode& list, const std::string& path,
                    std::optional<Parent> parent);
  void read_plugin(const core::ConfigNode& node, std::string path, std::optional<Parent> parent);
  // kong_upstreams.cc
  void read_upstreams(const core::ConfigNode& list, const std::string& path);
  void read_upstream(const core::ConfigNode& node, std::string path);
  // kong_certificates.cc: the top-level lists, the references services and upstreams make to
  // them (`ca_certificates`, `client_certificate`; `service` or `upstream` names the owner, the
  // other is -1), resolved by id after everything is read.
  void read_ca_certificates(const core::ConfigNode& list, const std::string& path);
  void read_certificates(const core::ConfigNode& list, const std::string& path);
  void read_certificate_refs(core::ObjectReader& r, int service, int upstream);
  void read_snis(const core::ConfigNode& list, const std::string& path);
  bool add_sni(Certificate& c, std::string name, const core::ConfigNode& at, const std::string& path);
  void resolve_certificate_refs();
  // Kong `mtls_auth_credentials` (nested under consumer `consumer`, or top-level with -1); their
  // `ca_certificate` references resolve in resolve_certificate_refs().
  void read_mtls_auth_credentials(const core::ConfigNode& list, const std::string& path, int consumer);
  // kong_credentials.cc: Kong `keyauth_credentials`, `basicauth_credentials`, `acls` and
  // `jwt_secrets`, nested
  // under the consumer of index `consumer`, or top-level (consumer -1: they name theirs in a
  // `consumer` field, resolved against the consumers read before them).
  enum class CredentialType { kKeyAuth, kBasicAuth, kAcl, kJwt };
  void read_credentials(const core::ConfigNode& list, const std::string& path, CredentialType type,
                        int consumer);
  void read_credential(const core::ConfigNode& node, std::string path, CredentialType type,
                       int consumer);
  int read_credential_consumer(core::ObjectReader& r);
  // kong_circuit_breakers.cc: the `circuit_breakers` map of an upstream or a service, if any.
  void read_circuit_breakers(core::ObjectReader& r, std::optional<CircuitBreakers>& out);

  // Fields every entity has: id (UUID), tags, created_at/updated_at (accepted, no effect).
  void read_common(core::ObjectReader& r, std::string& id, std::vector<std::string>& tags);
  // Reads `key` as a reference to `target` (a string, or a map with `id` or name field).
  void read_reference(core::ObjectReader& r, std::string_view key, EntityType target,
                      bool from_plugin, size_t owner);
  // Records a unique value (name, id, custom_id); errors on a duplicate, pointing at the first.
  void register_unique(std::unordered_map<std::string, std::pair<int, core::Mark>>& table,
                       std::string_view type, std::string_view field, const std::string& value,
                       int index, core::ObjectReader& r, std::string_view key);
  void register_entity(Registry& registry, const std::string& id, const std::string& name,
                       int index, core::ObjectReader& r);

  void resolve_references();
  void check_plugin_uniqueness();
  const Registry& registry(EntityType type) const;
  std::string describe_entity(EntityType type, int index) const;

  core::ConfigErrors& errors_;
  Config& config_;
  Registry services_{"service", "name", {}, {}};
  Registry routes_{"route", "name", {}, {}};
  Registry consumers_{"consumer", "username", {}, {}};
  Registry upstreams_{"upstream", "name", {}, {}};
  Registry ca_certificates_{"ca_certificate", "id", {}, {}};
  Registry certificates_{"certificate", "id", {}, {}};
  // A service's or upstream's reference to a (ca_)certificate, by id.
  struct CertRef {
    bool ca;  // else client_certificate
    int service;
    int upstream;
    std::string value;
    const core::ConfigNode* at;
    std::string path;
    int certificate = -1;  // a certificate's client_certificate.ca_certificates (then `ca`)
  };
  std::vector<CertRef> cert_refs_;
  std::unordered_map<std::string, core::Mark> certificate_snis_;
  std::unordered_map<std::string, std::pair<int, core::Mark>> consumer_custom_ids_;
  // Credentials: keys and basic-auth usernames are unique across consumers, ids per entity type,
  // groups per consumer ("<consumer>\x1f<group>").
  std::unordered_map<std::string, std::pair<int, core::Mark>> credential_keys_;
  std::unordered_map<std::string, std::pair<int, core::Mark>> basicauth_usernames_;
  std::unordered_map<std::string, std::pair<int, core::Mark>> credential_ids_[4];
  std::unordered_map<std::string, std::pair<int, core::Mark>> jwt_secret_keys_;
  std::unordered_map<std::string, std::pair<int, core::Mark>> acl_groups_;
  std::unordered_map<std::string, std::pair<int, core::Mark>> plugin_ids_;
  std::unordered_map<std::string, std::pair<int, core::Mark>> plugin_instance_names_;
  std::vector<PendingRef> refs_;
  std::vector<const core::ConfigNode*> plugin_name_nodes_;  // parallel to config_.plugins
  // Plugins whose scope could not be resolved: skipped by the uniqueness check.
  std::unordered_set<size_t> plugins_with_bad_scope_;
};

}  // namespace portico::config
