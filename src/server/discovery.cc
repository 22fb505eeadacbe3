#include "server/discovery.h"

#include <boost/asio/post.hpp>

#include <algorithm>

#include "net/resolv_conf.h"
#include "observability/log.h"

namespace portico::server {

namespace asio = boost::asio;

net::DnsResolverOptions resolver_options(const config::DnsSettings& settings) {
  net::DnsResolverOptions o;
  if (settings.resolvers.empty()) {
    auto conf = net::ResolvConf::load("/etc/resolv.conf");
    o = net::DnsResolverOptions::from_resolv_conf(conf ? *conf : net::ResolvConf::parse(""));
  } else {
    for (const auto& r : settings.resolvers) o.nameservers.emplace_back(asio::ip::make_address(r.host), r.port);
  }
  // Explicit settings win over resolv.conf's options.
  o.timeout = std::chrono::milliseconds(settings.timeout_ms);
  o.attempts = static_cast<int>(settings.attempts);
  o.hosts_path = settings.hosts_file;
  o.min_ttl = std::chrono::seconds(settings.min_ttl);
  o.max_ttl = std::chrono::seconds(settings.max_ttl);
  o.negative_ttl = std::chrono::seconds(settings.not_found_ttl);
  return o;
}

namespace {

net::DnsFamily query_family(const std::string& family) {
  if (family == "v4_only") return net::DnsFamily::kV4;
  if (family == "v6_only") return net::DnsFamily::kV6;
  return net::DnsFamily::kAny;
}

std::string join(const std::vector<asio::ip::address>& addresses) {
  std::string out;
  for (const auto& a : addresses) out += (out.empty() ? "" : ", ") + a.to_string();
  return out;
}

}  // namespace

Discovery::Discovery(asio::io_context& io, const config::DnsSettings& settings)
    : io_(io), resolver_(io, resolver_options(settings)), family_(settings.family) {}

Discovery::~Discovery() {
  *alive_ = false;
  for (auto& [name, e] : names_) {
    if (e.watch) resolver_.unwatch(e.watch);
  }
}

std::vector<asio::ip::address> Discovery::pick(const std::vector<asio::ip::address>& all) const {
  if (family_ != "v4_preferred") return all;
  std::vector<asio::ip::address> v4;
  for (const auto& a : all) {
    if (a.is_v4()) v4.push_back(a);
  }
  return v4.empty() ? all : v4;
}

void Discovery::track(const std::vector<std::string>& list, std::function<void()> settled) {
  if (settled) waiting_.push_back(std::move(settled));
  std::vector<std::string> names = list;
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  // Forget the names no longer listed.
  for (auto it = names_.begin(); it != names_.end();) {
    if (std::binary_search(names.begin(), names.end(), it->first)) {
      ++it;
      continue;
    }
    if (it->second.watch) resolver_.unwatch(it->second.watch);
    it = names_.erase(it);
  }
  const net::DnsFamily family = query_family(family_);
  for (const std::string& name : names) {
    if (names_.count(name)) continue;
    names_.emplace(name, Entry{});
    std::weak_ptr<bool> alive = alive_;
    // The first answer (success or failure) settles the name; the watch then keeps it fresh and
    // reports changes (its first delivery repeats the first answer and is ignored as unchanged).
    resolver_.resolve(name, family, [this, alive, name](net::DnsResult r) {
      auto token = alive.lock();
      if (!token || !*token) return;
      if (r.ok()) {
        on_answer(name, r.addresses, {});
      } else {
        on_answer(name, {}, std::string(net::to_string(r.error)));
      }
    });
    names_[name].watch = resolver_.watch(name, family, [this, alive, name](const std::vector<asio::ip::address>& a) {
      auto token = alive.lock();
      if (token && *token) on_answer(name, a, {});
    });
  }
  // Nothing to wait for (or everything known): settle later, never inside this call.
  std::weak_ptr<bool> alive = alive_;
  asio::post(io_, [this, alive] {
    auto token = alive.lock();
    if (token && *token) check_settled();
  });
}

void Discovery::on_answer(const std::string& name, std::vector<asio::ip::address> addresses, std::string error) {
  auto it = names_.find(name);
  if (it == names_.end()) return;  // forgotten meanwhile
  Entry& e = it->second;
  std::vector<asio::ip::address> picked = pick(addresses);
  bool changed;
  if (picked.empty()) {
    // A failure never replaces good addresses.
    if (e.known && !e.answer.addresses.empty()) return;
    changed = !e.known || e.answer.error != error;
    e.answer.error = error.empty() ? "no usable address" : std::move(error);
    if (changed) PORTICO_LOG_WARN("dns: {} did not resolve: {}", name, e.answer.error);
  } else {
    changed = !e.known || e.answer.addresses != picked;
    if (changed) {
      PORTICO_LOG_INFO("dns: {} -> {}", name, join(picked));
      e.answer.addresses = std::move(picked);
      e.answer.error.clear();
    }
  }
  const bool first = !e.known;
  e.known = true;
  if (first) check_settled();
  if (changed && !first && on_change) on_change(name);
}

void Discovery::check_settled() {
  if (waiting_.empty()) return;
  for (const auto& [name, e] : names_) {
    if (!e.known) return;
  }
  auto done = std::move(waiting_);
  waiting_.clear();
  for (auto& f : done) f();
}

const upstream::HostAddresses* Discovery::lookup(std::string_view name) const {
  auto it = names_.find(name);
  if (it == names_.end() || !it->second.known) return nullptr;
  return &it->second.answer;
}

upstream::AddressLookup Discovery::lookup_function() const {
  return [this](std::string_view name) { return lookup(name); };
}

}  // namespace portico::server
