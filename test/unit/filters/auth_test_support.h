// Helpers for the authentication plugins' tests: a hand-built consumer directory.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "filter/consumer_directory.h"
#include "filter/exchange.h"
#include "filter/filter.h"

namespace portico::filters::testing {

// alice (id a1, custom_id A, key "alice-key" id k1, basic alice:open-sesame, groups admins, ops),
// bob (username only, key "bob-key", group users), anon (id an0).
inline std::shared_ptr<const filter::ConsumerDirectory> make_directory() {
  auto d = std::make_shared<filter::ConsumerDirectory>();
  d->consumers.push_back({"a1", "alice", "A", {"admins", "ops"}, "admins, ops"});
  d->consumers.push_back({"", "bob", "", {"users"}, "users"});
  d->consumers.push_back({"an0", "anon", "", {}, ""});
  d->add_key("alice-key", {0, "k1"});
  d->add_key("bob-key", {1, ""});
  filter::BasicCredentialEntry b{0, "b1", "alice", filter::random_salt(), {}};
  b.hash = filter::password_digest(b.salt, "open-sesame");
  d->add_basic(b);
  d->index_consumers();
  return d;
}

inline filter::Verdict run_request(const filter::Filter& f, filter::Exchange& x) {
  filter::Step step = f.on_request(x);
  EXPECT_TRUE(step.ready()) << "authentication plugins never wait";
  return step.verdict();
}

inline std::string header(const filter::Exchange& x, std::string_view name) {
  auto v = x.request.headers.get(name);
  return v ? std::string(*v) : std::string("<none>");
}

inline std::string reply_header(const filter::Exchange& x, std::string_view name) {
  for (const auto& h : x.reply.headers) {
    if (http::iequals(h.name, name)) return std::string(h.value);
  }
  return "<none>";
}

}  // namespace portico::filters::testing
