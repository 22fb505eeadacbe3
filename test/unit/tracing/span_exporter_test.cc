// SpanExporter against a small in-process collector: batching by count and by delay, headers and
// content types, keep-alive, a bounded queue that drops (and counts) when full, failed exports
// counted, the shutdown flush, sharing by settings, and URL parsing.
#include "observability/span_exporter.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace portico::observability {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Received {
  std::string head;
  std::string body;
  uint64_t connection = 0;
  Clock::time_point at;
};

// Accepts connections on 127.0.0.1:0 and answers every POST with 200 (keep-alive).
class Collector {
 public:
  Collector() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~Collector() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    acceptor_.join();
    for (auto& t : conns_) t.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1/traces"; }
  std::vector<Received> received() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  bool wait_for(size_t n, std::chrono::milliseconds limit) const {
    auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      if (received().size() >= n) return true;
      std::this_thread::sleep_for(5ms);
    }
    return received().size() >= n;
  }

 private:
  void accept_loop() {
    uint64_t id = 0;
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      ++id;
      conns_.emplace_back([this, c, id] { serve(c, id); });
    }
  }
  void serve(int c, uint64_t id) {
    std::string buf;
    char chunk[65536];
    while (!stop_) {
      size_t head_end;
      while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
        pollfd p{c, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) {
          if (stop_) break;
          continue;
        }
        ssize_t n = ::recv(c, chunk, sizeof chunk, 0);
        if (n <= 0) {
          ::close(c);
          return;
        }
        buf.append(chunk, static_cast<size_t>(n));
      }
      if (stop_) break;
      std::string head = buf.substr(0, head_end);
      size_t cl = head.find("Content-Length: ");
      size_t length = cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 16));
      while (buf.size() < head_end + 4 + length) {
        ssize_t n = ::recv(c, chunk, sizeof chunk, 0);
        if (n <= 0) {
          ::close(c);
          return;
        }
        buf.append(chunk, static_cast<size_t>(n));
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        received_.push_back({head, buf.substr(head_end + 4, length), id, Clock::now()});
      }
      buf.erase(0, head_end + 4 + length);
      std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}";
      ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
    }
    ::close(c);
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> conns_;
  mutable std::mutex mu_;
  std::vector<Received> received_;
};

// One span encoded in the exporter's encoding; `extra` bytes of attribute value make it longer.
std::string test_span(const SpanExporter& exporter, int i, size_t extra = 0) {
  SpanWriter w(exporter.encoding());
  SpanStart s;
  s.trace_id = new_trace_id();
  s.span_id = new_span_id();
  const std::string name = "span-" + std::to_string(i);
  s.name = name;
  s.kind = SpanKind::kServer;
  s.start_unix_nano = 1;
  s.end_unix_nano = 2;
  w.begin(s);
  if (extra != 0) w.add_string("padding", std::string(extra, static_cast<char>('a' + i % 26)));
  return std::string(w.finish());
}

size_t spans_in(const Received& r) {
  auto doc = boost::json::parse(r.body);
  return doc.at("resourceSpans").as_array().at(0).at("scopeSpans").as_array().at(0).at("spans").as_array().size();
}

uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

TEST(SpanExporter, FullBatchesGoAtOnceAndTheRestAtShutdown) {
  Collector collector;
  ExporterSettings s;
  s.traces_endpoint = collector.url();
  s.json = true;
  s.batch_span_count = 3;
  s.batch_flush_delay = 60s;
  s.headers = {{"Authorization", "Bearer t0ken"}};
  {
    SpanExporter exporter(s);
    for (int i = 0; i < 7; ++i) EXPECT_TRUE(exporter.enqueue(test_span(exporter, i)));
    ASSERT_TRUE(collector.wait_for(2, 3000ms));
    std::this_thread::sleep_for(100ms);
    auto got = collector.received();
    ASSERT_EQ(got.size(), 2u) << "the partial batch must wait for the flush delay";
    EXPECT_EQ(spans_in(got[0]), 3u);
    EXPECT_EQ(spans_in(got[1]), 3u);
    EXPECT_EQ(got[0].connection, got[1].connection) << "keep-alive";
    EXPECT_NE(got[0].head.find("POST /v1/traces HTTP/1.1"), std::string::npos) << got[0].head;
    EXPECT_NE(got[0].head.find("Content-Type: application/json"), std::string::npos) << got[0].head;
    EXPECT_NE(got[0].head.find("Authorization: Bearer t0ken"), std::string::npos) << got[0].head;
    EXPECT_NE(got[0].head.find("Host: 127.0.0.1:"), std::string::npos) << got[0].head;
    EXPECT_EQ(exporter.counters().spans_exported.load(), 6u);
  }
  // The destructor does not wait; the exporter thread flushes the last span on its own.
  ASSERT_TRUE(collector.wait_for(3, 3000ms));
  EXPECT_EQ(spans_in(collector.received()[2]), 1u);
}

TEST(SpanExporter, PartialBatchGoesAfterTheFlushDelay) {
  Collector collector;
  ExporterSettings s;
  s.traces_endpoint = collector.url();
  s.batch_span_count = 100;
  s.batch_flush_delay = 300ms;
  SpanExporter exporter(s);
  auto start = Clock::now();
  exporter.enqueue(test_span(exporter, 0));
  exporter.enqueue(test_span(exporter, 1));
  ASSERT_TRUE(collector.wait_for(1, 3000ms));
  auto waited = collector.received()[0].at - start;
  EXPECT_LE(waited, 1000ms);
  EXPECT_NE(collector.received()[0].head.find("Content-Type: application/x-protobuf"), std::string::npos);
  // The exporter counts a batch once the collector has answered, just after the collector saw it.
  const auto until = Clock::now() + 3000ms;
  while (exporter.counters().batches_exported.load() == 0 && Clock::now() < until) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(exporter.counters().spans_exported.load(), 2u);
  EXPECT_EQ(exporter.counters().batches_exported.load(), 1u);
}

TEST(SpanExporter, FullQueueDropsAndCountsWithoutBlocking) {
  ExporterSettings s;
  s.traces_endpoint = "http://127.0.0.1:" + std::to_string(closed_port()) + "/";
  s.batch_span_count = 1000;
  s.batch_flush_delay = 3600s;
  s.queue_capacity = 4;
  SpanExporter exporter(s);
  int accepted = 0;
  auto start = Clock::now();
  for (int i = 0; i < 10; ++i) accepted += exporter.enqueue(test_span(exporter, i)) ? 1 : 0;
  EXPECT_LT(Clock::now() - start, 50ms);
  EXPECT_EQ(accepted, 4);
  EXPECT_EQ(exporter.counters().spans_dropped_queue_full.load(), 6u);
  EXPECT_EQ(exporter.counters().spans_enqueued.load(), 4u);
}

// Spans longer than a queue cell holds inline (0.75 KiB) travel whole, and the cells they leave
// behind carry short spans again: over several laps of a 4-cell ring, every span arrives intact and
// in order.
TEST(SpanExporter, SpansOfEverySizeTravelWholeThroughReusedCells) {
  Collector collector;
  ExporterSettings s;
  s.traces_endpoint = collector.url();
  s.json = true;
  s.batch_span_count = 1;
  s.batch_flush_delay = 10ms;
  s.queue_capacity = 4;
  const size_t sizes[] = {0, 5000, 10, 700, 20000, 0, 800, 3, 9000, 1};
  SpanExporter exporter(s);
  for (int i = 0; i < 10; ++i) {
    const size_t seen = collector.received().size();
    ASSERT_TRUE(exporter.enqueue(test_span(exporter, i, sizes[i])));
    ASSERT_TRUE(collector.wait_for(seen + 1, 3000ms)) << i;
  }
  const auto got = collector.received();
  ASSERT_EQ(got.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    auto doc = boost::json::parse(got[static_cast<size_t>(i)].body);
    const auto& span = doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(0);
    EXPECT_EQ(span.at("name").as_string(), "span-" + std::to_string(i));
    const auto& attrs = span.at("attributes").as_array();
    if (sizes[i] == 0) {
      EXPECT_TRUE(attrs.empty()) << i;
    } else {
      ASSERT_EQ(attrs.size(), 1u) << i;
      EXPECT_EQ(attrs[0].at("value").at("stringValue").as_string(),
                std::string(sizes[i], static_cast<char>('a' + i % 26)))
          << i;
    }
  }
}

TEST(SpanExporter, FailedExportIsCountedAndDropped) {
  ExporterSettings s;
  s.traces_endpoint = "http://127.0.0.1:" + std::to_string(closed_port()) + "/";
  s.batch_span_count = 2;
  s.batch_flush_delay = 3600s;
  s.connect_timeout = 200ms;
  SpanExporter exporter(s);
  exporter.enqueue(test_span(exporter, 0));
  exporter.enqueue(test_span(exporter, 1));
  auto deadline = Clock::now() + 3s;
  while (exporter.counters().export_failures.load() == 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(exporter.counters().export_failures.load(), 1u);
  EXPECT_EQ(exporter.counters().spans_dropped_export_failed.load(), 2u);
  EXPECT_EQ(exporter.counters().spans_exported.load(), 0u);
}

TEST(SpanExporter, SharedBySettings) {
  ExporterSettings a;
  a.traces_endpoint = "http://127.0.0.1:4318/v1/traces";
  ExporterSettings b = a;
  ExporterSettings c = a;
  c.batch_span_count = 7;
  auto ea = SpanExporter::shared(a);
  auto eb = SpanExporter::shared(b);
  auto ec = SpanExporter::shared(c);
  EXPECT_EQ(ea, eb);
  EXPECT_NE(ea, ec);
  bool listed = false;
  for (const auto& snap : SpanExporter::all_counters()) listed = listed || snap.endpoint == a.traces_endpoint;
  EXPECT_TRUE(listed);
}

struct UrlCase {
  const char* url;
  bool ok;
  const char* host;
  uint16_t port;
  const char* target;
};

TEST(HttpUrl, Parses) {
  const UrlCase cases[] = {
      {"http://collector:4318/v1/traces", true, "collector", 4318, "/v1/traces"},
      {"http://collector", true, "collector", 80, "/"},
      {"HTTP://Collector:80?x=1", true, "Collector", 80, "/?x=1"},
      {"http://[::1]:4318/v1/traces", true, "::1", 4318, "/v1/traces"},
      {"http://10.0.0.1:4318/p#frag", true, "10.0.0.1", 4318, "/p"},
      {"https://collector/v1/traces", false, "", 0, ""},
      {"collector:4318", false, "", 0, ""},
      {"http://:4318/", false, "", 0, ""},
      {"http://collector:0/", false, "", 0, ""},
      {"http://collector:70000/", false, "", 0, ""},
      {"http://user@collector/", false, "", 0, ""},
      {"http://collector/a b", false, "", 0, ""},
  };
  for (const auto& c : cases) {
    HttpUrl url;
    std::string reason;
    EXPECT_EQ(parse_http_url(c.url, url, reason), c.ok) << c.url << ": " << reason;
    if (!c.ok) {
      EXPECT_FALSE(reason.empty());
      continue;
    }
    EXPECT_EQ(url.host, c.host) << c.url;
    EXPECT_EQ(url.port, c.port) << c.url;
    EXPECT_EQ(url.target, c.target) << c.url;
  }
}

}  // namespace
}  // namespace portico::observability
