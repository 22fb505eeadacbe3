#include "filters/oauth2_introspection/introspection_cache.h"

#include <openssl/sha.h>

#include <algorithm>

namespace portico::filters {

IntrospectionCache::IntrospectionCache(size_t max_entries)
    : per_stripe_(std::max<size_t>(1, (max_entries + kStripes - 1) / kStripes)) {}

std::shared_ptr<const Introspection> IntrospectionCache::find(std::string_view digest, Clock::time_point now) {
  Stripe& s = stripe_of(digest);
  std::lock_guard lock(s.mu);
  auto it = s.entries.find(std::string(digest));
  if (it == s.entries.end()) return nullptr;
  if (it->second.expires <= now) {
    s.entries.erase(it);
    return nullptr;
  }
  return it->second.value;
}

void IntrospectionCache::insert(std::string digest, std::shared_ptr<const Introspection> value,
                                Clock::time_point expires, Clock::time_point now) {
  if (expires <= now) return;
  Stripe& s = stripe_of(digest);
  std::lock_guard lock(s.mu);
  auto it = s.entries.find(digest);
  if (it != s.entries.end()) {
    it->second = Entry{std::move(value), expires};
    return;
  }
  if (s.entries.size() >= per_stripe_) {
    std::erase_if(s.entries, [now](const auto& e) { return e.second.expires <= now; });
  }
  if (s.entries.size() >= per_stripe_) {
    auto soonest = std::min_element(s.entries.begin(), s.entries.end(), [](const auto& a, const auto& b) {
      return a.second.expires < b.second.expires;
    });
    s.entries.erase(soonest);
  }
  s.entries.emplace(std::move(digest), Entry{std::move(value), expires});
}

size_t IntrospectionCache::size() const {
  size_t n = 0;
  for (const Stripe& s : stripes_) {
    std::lock_guard lock(s.mu);
    n += s.entries.size();
  }
  return n;
}

std::string token_digest(std::string_view token) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(),
         reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

}  // namespace portico::filters
