// Bodies stream through the gateway in both directions: Content-Length and chunked (with
// trailers), 50 MB each way with a hash check and bounded gateway memory, backpressure from a
// client that stops reading, Expect: 100-continue, bodiless responses (HEAD, 204, 304) and an
// upstream that frames its body by closing the connection.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

#include "harness/client.h"
#include "harness/gateway.h"
#include "harness/process.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kLarge = 50ull << 20;    // 50 MiB
constexpr long kMaxRssKb = 64 * 1024;            // the gateway must stay under 64 MiB

constexpr std::string_view kServices = R"(
services:
  - name: echo
    url: http://127.0.0.1:{{UP}}
    read_timeout: 20000
    write_timeout: 20000
    routes:
      - name: all
        paths: ["/"]
        strip_path: false
)";

class BodyStreamingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    up_.set_store_limit(1 << 20);
    gw_ = std::make_unique<Gateway>(config_prelude() +
                                    render(kServices, {{"UP", std::to_string(up_.port())}}));
  }

  // Peak resident set of the gateway so far (VmHWM), and the current one, in KiB.
  void expect_bounded_memory(const char* what) {
    auto hwm = vm_hwm_kb(gw_->pid());
    auto rss = vm_rss_kb(gw_->pid());
    ASSERT_TRUE(hwm.has_value()) << "cannot read /proc/" << gw_->pid() << "/status";
    EXPECT_LT(*hwm, kMaxRssKb) << what << ": gateway peak RSS " << *hwm << " KiB (now "
                               << rss.value_or(-1) << " KiB) for a " << (kLarge >> 20) << " MiB body";
    std::cerr << "[ info ] " << what << ": gateway VmHWM " << *hwm << " KiB, VmRSS "
              << rss.value_or(-1) << " KiB\n";
  }

  // Sends `total` pattern bytes, framed as chunked (64 KiB chunks) or raw.
  static bool send_pattern(Client& c, std::uint64_t total, bool as_chunks) {
    std::string piece;
    const std::size_t step = 1 << 16;
    for (std::uint64_t off = 0; off < total; off += step) {
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(step, total - off));
      piece = pattern(off, n);
      if (as_chunks) {
        char hex[32];
        std::snprintf(hex, sizeof hex, "%zx\r\n", n);
        piece = hex + piece + "\r\n";
      }
      if (!c.send(piece)) return false;
    }
    return !as_chunks || c.send("0\r\n\r\n");
  }

  Upstream up_;
  std::unique_ptr<Gateway> gw_;
};

TEST_F(BodyStreamingTest, ChunkedRequestBodyWithTrailersIsForwarded) {
  Client c(gw_->port());
  std::string body = "first chunk|second chunk|third";
  Response r = c.request(http_request("POST", "/chunked", {{"Transfer-Encoding", "chunked"}}) +
                         chunked(body, 12, {{"X-Checksum", "abc123"}}));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 200);
  ASSERT_TRUE(up_.wait_for_requests(1, 2s));
  RecordedRequest req = up_.requests()[0];
  EXPECT_TRUE(req.complete);
  EXPECT_EQ(req.body.data, body);
  EXPECT_FALSE(req.header("Content-Length").has_value() && req.body.chunked) << req.raw_head;
  EXPECT_EQ(find_header(req.body.trailers, "X-Checksum"), "abc123")
      << "request trailer lost; upstream head:\n" << req.raw_head;
}

TEST_F(BodyStreamingTest, RequestBodiesSentInTinyPiecesArriveWhole) {
  std::string body = pattern(0, 5000);
  std::string cl_request = http_request("PUT", "/cl", {}, body);
  std::string te_request = http_request("PUT", "/te", {{"Transfer-Encoding", "chunked"}}) + chunked(body, 777);
  Client c(gw_->port());
  ASSERT_TRUE(c.send_in_pieces(cl_request, 7));
  Response r1 = c.read_response();
  ASSERT_TRUE(r1.ok()) << r1.error;
  ASSERT_TRUE(c.send_in_pieces(te_request, 5));
  Response r2 = c.read_response();
  ASSERT_TRUE(r2.ok()) << r2.error;
  ASSERT_TRUE(up_.wait_for_requests(2, 2s));
  auto reqs = up_.requests();
  EXPECT_EQ(reqs[0].body.data, body);
  EXPECT_EQ(reqs[1].body.data, body);
}

TEST_F(BodyStreamingTest, ChunkedResponseTrailersReachTheClient) {
  up_.set_handler([](const RecordedRequest&) {
    UpstreamResponse resp;
    resp.framing = Framing::kChunked;
    resp.chunk_size = 10;
    resp.body = "0123456789abcdefghij-tail";
    resp.trailers = {{"X-Digest", "sha-256=xyz"}};
    return resp;
  });
  Client c(gw_->port());
  Response r = c.request(http_request("GET", "/trailers", {{"TE", "trailers"}}));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_TRUE(r.body.chunked) << r.raw_head;
  EXPECT_EQ(r.text(), "0123456789abcdefghij-tail");
  EXPECT_EQ(find_header(r.body.trailers, "X-Digest"), "sha-256=xyz");
}

TEST_F(BodyStreamingTest, LargeContentLengthRequestBodyStreamsWithBoundedMemory) {
  up_.set_store_limit(0);
  Client c(gw_->port());
  ASSERT_TRUE(c.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(kLarge) + "\r\n\r\n"));
  ASSERT_TRUE(send_pattern(c, kLarge, false))
      << "gateway stopped reading the request body; upstream got " << up_.bytes_received() << " bytes";
  Response r = c.read_response({.timeout = 15s});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 200);
  ASSERT_TRUE(up_.wait_for_requests(1, 2s));
  RecordedRequest req = up_.requests()[0];
  EXPECT_EQ(req.body.size, kLarge);
  EXPECT_EQ(req.body.hash, pattern_hash(kLarge)) << "request body corrupted in transit";
  expect_bounded_memory("50 MiB Content-Length request");
}

TEST_F(BodyStreamingTest, LargeChunkedRequestBodyStreamsWithBoundedMemory) {
  up_.set_store_limit(0);
  Client c(gw_->port());
  ASSERT_TRUE(c.send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  ASSERT_TRUE(send_pattern(c, kLarge, true))
      << "gateway stopped reading the request body; upstream got " << up_.bytes_received() << " bytes";
  Response r = c.read_response({.timeout = 15s});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 200);
  ASSERT_TRUE(up_.wait_for_requests(1, 2s));
  RecordedRequest req = up_.requests()[0];
  EXPECT_EQ(req.body.size, kLarge);
  EXPECT_EQ(req.body.hash, pattern_hash(kLarge)) << "request body corrupted in transit";
  expect_bounded_memory("50 MiB chunked request");
}

TEST_F(BodyStreamingTest, LargeContentLengthResponseStreamsWithBoundedMemory) {
  up_.set_handler([](const RecordedRequest&) {
    UpstreamResponse resp;
    resp.generated_body_size = kLarge;
    return resp;
  });
  Client c(gw_->port());
  Response r = c.request(http_request("GET", "/download"), {.timeout = 15s, .store_limit = 0});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.header("Content-Length"), std::to_string(kLarge)) << r.raw_head;
  EXPECT_EQ(r.body.size, kLarge);
  EXPECT_EQ(r.body.hash, pattern_hash(kLarge)) << "response body corrupted in transit";
  expect_bounded_memory("50 MiB Content-Length response");
}

TEST_F(BodyStreamingTest, LargeChunkedResponseStreamsWithBoundedMemory) {
  up_.set_handler([](const RecordedRequest&) {
    UpstreamResponse resp;
    resp.generated_body_size = kLarge;
    resp.framing = Framing::kChunked;
    resp.chunk_size = 32 * 1024 + 7;
    return resp;
  });
  Client c(gw_->port());
  Response r = c.request(http_request("GET", "/download"), {.timeout = 15s, .store_limit = 0});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.body.size, kLarge);
  EXPECT_EQ(r.body.hash, pattern_hash(kLarge)) << "response body corrupted in transit";
  expect_bounded_memory("50 MiB chunked response");
}

TEST_F(BodyStreamingTest, AClientThatStopsReadingStallsTheUpstream) {
  up_.set_handler([](const RecordedRequest&) {
    UpstreamResponse resp;
    resp.generated_body_size = kLarge;
    return resp;
  });
  Client c(gw_->port());
  ASSERT_TRUE(c.send(http_request("GET", "/download")));
  // Wait (with a deadline) until the upstream's writes stop making progress for 300 ms: the
  // socket buffers between it and the non-reading client are full.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  std::uint64_t last = up_.bytes_sent();
  auto last_change = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - last_change < 300ms) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << "upstream kept sending to a client that reads nothing (" << up_.bytes_sent() << " bytes)";
    std::this_thread::sleep_for(10ms);
    std::uint64_t now = up_.bytes_sent();
    if (now != last) {
      last = now;
      last_change = std::chrono::steady_clock::now();
    }
  }
  EXPECT_LT(last, kLarge / 2) << "the gateway buffered " << last << " bytes for a stalled client";
  expect_bounded_memory("stalled client");
  Response r = c.read_response({.timeout = 15s, .store_limit = 0});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.body.size, kLarge);
  EXPECT_EQ(r.body.hash, pattern_hash(kLarge));
}

TEST_F(BodyStreamingTest, ExpectContinueGets100BeforeTheBodyIsSent) {
  Client c(gw_->port());
  ASSERT_TRUE(c.send("POST /expect HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n"));
  Response interim = c.read_response({.timeout = 3s, .stop_at_informational = true});
  ASSERT_TRUE(interim.ok()) << "no interim response while the client holds back its body: " << interim.error;
  EXPECT_EQ(interim.status, 100) << interim.describe();
  ASSERT_TRUE(c.send("hello world"));
  Response r = c.read_response();
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 200);
  ASSERT_TRUE(up_.wait_for_requests(1, 2s));
  EXPECT_EQ(up_.requests()[0].body.data, "hello world");
  // The connection is still usable.
  Response again = c.request(http_request("GET", "/after"));
  ASSERT_TRUE(again.ok()) << again.error;
  EXPECT_EQ(again.status, 200);
}

TEST_F(BodyStreamingTest, HeadResponseHasNoBodyButKeepsContentLength) {
  up_.set_handler([](const RecordedRequest& r) {
    UpstreamResponse resp;
    resp.body = std::string(1234, 'h');  // the upstream sends no body for HEAD itself
    return resp;
  });
  Client c(gw_->port());
  Response h = c.request(http_request("HEAD", "/head"), {.head_request = true});
  ASSERT_TRUE(h.ok()) << h.error;
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.header("Content-Length"), "1234") << h.raw_head;
  EXPECT_TRUE(c.idle_and_open()) << "bytes after a HEAD response: " << c.buffered().substr(0, 100);
  Response g = c.request(http_request("GET", "/head"));
  ASSERT_TRUE(g.ok()) << g.error;
  EXPECT_EQ(g.text(), std::string(1234, 'h'));
}

TEST_F(BodyStreamingTest, NoContentAndNotModifiedHaveNoBody) {
  up_.set_handler([](const RecordedRequest& r) {
    UpstreamResponse resp;
    resp.framing = Framing::kNone;
    if (r.target == "/204") {
      resp.status = 204;
    } else {
      resp.status = 304;
      resp.headers = {{"ETag", "\"v1\""}};
    }
    return resp;
  });
  Client c(gw_->port());
  Response n = c.request(http_request("DELETE", "/204"));
  ASSERT_TRUE(n.ok()) << n.error;
  EXPECT_EQ(n.status, 204);
  EXPECT_FALSE(n.has_header("Transfer-Encoding")) << n.raw_head;
  EXPECT_TRUE(c.idle_and_open()) << "bytes after a 204: " << c.buffered().substr(0, 100);
  Response m = c.request(http_request("GET", "/304", {{"If-None-Match", "\"v1\""}}));
  ASSERT_TRUE(m.ok()) << m.error;
  EXPECT_EQ(m.status, 304);
  EXPECT_EQ(m.header("ETag"), "\"v1\"");
  EXPECT_FALSE(m.has_header("Transfer-Encoding")) << m.raw_head;
  EXPECT_TRUE(c.idle_and_open()) << "bytes after a 304: " << c.buffered().substr(0, 100);
  up_.set_handler([](const RecordedRequest&) { return UpstreamResponse{}; });
  Response ok = c.request(http_request("GET", "/after"));
  ASSERT_TRUE(ok.ok()) << ok.error;
  EXPECT_EQ(ok.status, 200);
}

TEST_F(BodyStreamingTest, UntilCloseUpstreamResponseIsDeliveredChunked) {
  up_.set_handler([](const RecordedRequest&) {
    UpstreamResponse resp;
    resp.framing = Framing::kUntilClose;
    resp.body = pattern(0, 100000);
    return resp;
  });
  Client c(gw_->port());
  Response r = c.request(http_request("GET", "/eof"));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.chunked) << "expected chunked framing to the client:\n" << r.raw_head;
  EXPECT_EQ(r.body.size, 100000u);
  EXPECT_EQ(r.body.hash, pattern_hash(100000));
  // Chunked framing lets the client connection live on.
  up_.set_handler([](const RecordedRequest&) {
    UpstreamResponse resp;
    resp.body = "ok";
    return resp;
  });
  Response next = c.request(http_request("GET", "/next"));
  ASSERT_TRUE(next.ok()) << next.error;
  EXPECT_EQ(next.text(), "ok");
}

}  // namespace
}  // namespace portico::integration
