// Persistent connections on both sides: client keep-alive and pipelining, the upstream pool
// (reuse, stale connections, max_requests), Connection: close, HTTP/1.0 and the idle timeout.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "harness/client.h"
#include "harness/gateway.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kServices = R"(
services:
  - name: echo
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: all
        paths: ["/"]
        strip_path: false
)";

class KeepaliveTest : public ::testing::Test {
 protected:
  void start(std::string_view portico_extra = {}) {
    gw_ = std::make_unique<Gateway>(config_prelude(portico_extra) +
                                    render(kServices, {{"UP", std::to_string(up_.port())}}));
  }
  void SetUp() override {
    // Echo the target (and body) so every response says which request it answers.
    up_.set_handler([](const RecordedRequest& r) {
      UpstreamResponse resp;
      resp.body = r.target + (r.body.data.empty() ? "" : ":" + r.body.data);
      return resp;
    });
  }

  Upstream up_;
  std::unique_ptr<Gateway> gw_;
};

TEST_F(KeepaliveTest, ManyRequestsOnOneClientConnectionUseOnePooledUpstreamConnection) {
  start();
  Client c(gw_->port());
  for (int i = 0; i < 20; ++i) {
    std::string target = "/seq/" + std::to_string(i);
    Response r = c.request(http_request("GET", target));
    ASSERT_TRUE(r.ok()) << "request " << i << ": " << r.error;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.text(), target);
    EXPECT_FALSE(header_has_token(r.headers, "Connection", "close")) << r.raw_head;
  }
  EXPECT_EQ(up_.connections_accepted(), 1u) << "the gateway did not reuse its upstream connection";
  for (const auto& req : up_.requests()) EXPECT_EQ(req.connection_id, 1u);
}

TEST_F(KeepaliveTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  up_.set_handler([](const RecordedRequest& r) {
    UpstreamResponse resp;
    // The first answer is the slowest: a gateway that answers in completion order fails.
    if (r.target == "/p/0") resp.delay = 300ms;
    resp.body = r.target + (r.body.data.empty() ? "" : ":" + r.body.data);
    return resp;
  });
  Client c(gw_->port());
  std::string batch;
  for (int i = 0; i < 5; ++i) {
    std::string target = "/p/" + std::to_string(i);
    batch += i == 2 ? http_request("POST", target, {}, "body-two") : http_request("GET", target);
  }
  ASSERT_TRUE(c.send(batch));
  for (int i = 0; i < 5; ++i) {
    Response r = c.read_response();
    ASSERT_TRUE(r.ok()) << "response " << i << ": " << r.error;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.text(), "/p/" + std::to_string(i) + (i == 2 ? ":body-two" : "")) << "response " << i;
  }
  EXPECT_EQ(up_.request_count(), 5u);
  EXPECT_TRUE(c.idle_and_open());
}

TEST_F(KeepaliveTest, UpstreamSilentlyClosingAPooledConnectionIsNotAnError) {
  start();
  up_.set_handler([](const RecordedRequest& r) {
    UpstreamResponse resp;
    resp.body = r.target;
    if (r.target == "/first") {
      resp.close_after = true;
      resp.announce_close = false;  // looks reusable, then the origin closes it
    }
    return resp;
  });
  Client c(gw_->port());
  Response r1 = c.request(http_request("GET", "/first"));
  ASSERT_TRUE(r1.ok()) << r1.error;
  EXPECT_EQ(r1.text(), "/first");
  ASSERT_TRUE(up_.wait_for_connections_closed(1, 2s));
  Response r2 = c.request(http_request("GET", "/second"));
  ASSERT_TRUE(r2.ok()) << r2.error;
  EXPECT_EQ(r2.status, 200) << r2.describe();
  EXPECT_EQ(r2.text(), "/second");
  EXPECT_EQ(up_.connections_accepted(), 2u);
}

TEST_F(KeepaliveTest, UpstreamConnectionCloseIsNotReused) {
  start();
  up_.set_handler([](const RecordedRequest& r) {
    UpstreamResponse resp;
    resp.body = r.target;
    resp.close_after = true;  // with Connection: close
    return resp;
  });
  Client c(gw_->port());
  for (int i = 0; i < 3; ++i) {
    Response r = c.request(http_request("GET", "/c/" + std::to_string(i)));
    ASSERT_TRUE(r.ok()) << i << ": " << r.error;
    EXPECT_EQ(r.status, 200) << r.describe();
    // The upstream's close is hop-by-hop: the client connection stays open.
    EXPECT_FALSE(header_has_token(r.headers, "Connection", "close")) << r.raw_head;
  }
  EXPECT_EQ(up_.connections_accepted(), 3u);
}

TEST_F(KeepaliveTest, UpstreamKeepaliveMaxRequestsRotatesConnections) {
  start("  upstream_keepalive: {pool_size: 16, max_requests: 3, idle_timeout: 60000}\n");
  Client c(gw_->port());
  for (int i = 0; i < 7; ++i) {
    Response r = c.request(http_request("GET", "/m/" + std::to_string(i)));
    ASSERT_TRUE(r.ok()) << i << ": " << r.error;
  }
  EXPECT_EQ(up_.connections_accepted(), 3u) << "7 requests with max_requests 3 need 3 connections";
  for (const auto& req : up_.requests())
    EXPECT_LT(req.index_on_connection, 3u) << "connection " << req.connection_id << " served more than 3";
}

TEST_F(KeepaliveTest, ClientConnectionCloseIsHonoured) {
  start();
  Client c(gw_->port());
  Response r = c.request(http_request("GET", "/bye", {{"Connection", "close"}}));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(header_has_token(r.headers, "Connection", "close")) << r.raw_head;
  EXPECT_TRUE(c.wait_closed(2s)) << "gateway kept the connection open after Connection: close";
  // The upstream connection is the gateway's own business: Connection: close is hop-by-hop.
  ASSERT_TRUE(up_.wait_for_requests(1, 1s));
  EXPECT_FALSE(header_has_token(up_.requests()[0].headers, "Connection", "close"))
      << up_.requests()[0].raw_head;
}

TEST_F(KeepaliveTest, Http10ClientGetsAnUnchunkedAnswerAndTheConnectionCloses) {
  start();
  up_.set_handler([](const RecordedRequest&) {
    UpstreamResponse resp;
    resp.framing = Framing::kChunked;  // the gateway must not pass chunked to HTTP/1.0
    resp.chunk_size = 5;
    resp.body = "hello, old client";
    return resp;
  });
  Client c(gw_->port());
  ASSERT_TRUE(c.send("GET /old HTTP/1.0\r\n\r\n"));
  Response r = c.read_response();
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.has_header("Transfer-Encoding")) << r.raw_head;
  EXPECT_EQ(r.text(), "hello, old client");
  EXPECT_TRUE(c.wait_closed(2s)) << "gateway kept an HTTP/1.0 connection open without keep-alive";
  ASSERT_TRUE(up_.wait_for_requests(1, 1s));
  EXPECT_EQ(up_.requests()[0].target, "/old");
}

TEST_F(KeepaliveTest, IdleClientConnectionIsClosedAfterKeepaliveTimeout) {
  start("  timeouts: {client_header: 60000, client_body: 60000, keepalive: 300, drain: 10000}\n");
  Client c(gw_->port());
  Response r = c.request(http_request("GET", "/idle"));
  ASSERT_TRUE(r.ok()) << r.error;
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.wait_closed(5s)) << "idle connection still open 5 s after a 300 ms keepalive timeout";
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms) << "closed before the keepalive timeout";
}

}  // namespace
}  // namespace portico::integration
