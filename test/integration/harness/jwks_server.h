#pragma once
// An identity provider's JWKS endpoint for tests: an Upstream whose answer the test changes at
// will (status, body, Cache-Control), remembering when each request came.
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "harness/upstream.h"

namespace portico::integration {

struct JwksServer {
  using Clock = std::chrono::steady_clock;

  // `s`: the server to answer from (a TLS Upstream, say); a plain one by default.
  explicit JwksServer(std::unique_ptr<Upstream> s = std::make_unique<Upstream>()) : server(std::move(s)) {
    server->set_handler([this](const RecordedRequest&) {
      std::lock_guard lock(mu);
      times.push_back(Clock::now());
      return response;
    });
  }
  void answer(int status, std::string body, std::string cache_control = {}) {
    UpstreamResponse r;
    r.status = status;
    r.body = std::move(body);
    r.headers.emplace_back("Content-Type", "application/json");
    if (!cache_control.empty()) r.headers.emplace_back("Cache-Control", cache_control);
    answer(std::move(r));
  }
  void answer(UpstreamResponse r) {
    std::lock_guard lock(mu);
    response = std::move(r);
  }
  std::vector<Clock::time_point> request_times() {
    std::lock_guard lock(mu);
    return times;
  }
  size_t count() { return request_times().size(); }
  // Until `n` requests have been answered from here (their times are in request_times()). The
  // server counts a request before its handler runs, so its own wait_for_requests can return
  // before the time is noted.
  bool wait_for_requests(size_t n, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (count() < n) {
      if (Clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
  }
  std::string uri() const { return "http://127.0.0.1:" + std::to_string(server->port()) + "/.well-known/jwks.json"; }

  std::mutex mu;
  UpstreamResponse response;
  std::vector<Clock::time_point> times;
  std::unique_ptr<Upstream> server;  // last: stopped before the members its handler uses go
};

}  // namespace portico::integration
