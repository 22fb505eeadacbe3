// Malformed and oversized requests: each gets the right 4xx/5xx with a JSON {"message"} body and
// Connection: close, the connection is then closed, the upstream sees nothing of it, and the
// gateway keeps serving well-formed requests on new connections.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "harness/client.h"
#include "harness/gateway.h"
#include "harness/json_body.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

using namespace std::chrono_literals;

struct BadRequest {
  const char* name;
  std::string raw;
  int status;
  // The error is in the body, after a head the gateway may already have sent upstream while
  // streaming; then the upstream may see a partial request, but never a complete one.
  bool error_in_body = false;
};

// Keeps GoogleTest from printing 70 KB requests in test names and failure messages.
void PrintTo(const BadRequest& bad, std::ostream* os) { *os << bad.name; }

std::string many_headers(int count, std::size_t value_size) {
  std::string out;
  for (int i = 0; i < count; ++i)
    out += "X-Filler-" + std::to_string(i) + ": " + std::string(value_size, 'v') + "\r\n";
  return out;
}

std::vector<BadRequest> bad_requests() {
  const std::string host = "Host: example.com\r\n";
  return {
      {"ContentLengthAndTransferEncoding",
       "POST /api HTTP/1.1\r\n" + host + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"DuplicateContentLength",
       "POST /api HTTP/1.1\r\n" + host + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400},
      {"DifferingContentLength",
       "POST /api HTTP/1.1\r\n" + host + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400},
      {"ContentLengthList", "POST /api HTTP/1.1\r\n" + host + "Content-Length: 5, 6\r\n\r\nhello!", 400},
      {"NegativeContentLength", "POST /api HTTP/1.1\r\n" + host + "Content-Length: -1\r\n\r\n", 400},
      {"SignedContentLength", "POST /api HTTP/1.1\r\n" + host + "Content-Length: +5\r\n\r\nhello", 400},
      {"TransferEncodingGzip", "POST /api HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip\r\n\r\nxxxxx", 400},
      {"ChunkedNotLastTransferCoding",
       "POST /api HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400},
      {"ObsFold", "GET /api HTTP/1.1\r\n" + host + "X-Folded: first\r\n second\r\n\r\n", 400},
      {"BareCrInHeaderValue", "GET /api HTTP/1.1\r\n" + host + "X-A: a\rb\r\n\r\n", 400},
      {"NulInHeaderValue", "GET /api HTTP/1.1\r\n" + host + std::string("X-A: a\0b\r\n\r\n", 11), 400},
      {"BadHeaderNameChars", "GET /api HTTP/1.1\r\n" + host + "Bad[Name]: 1\r\n\r\n", 400},
      {"SpaceBeforeColon", "GET /api HTTP/1.1\r\n" + host + "X-A : 1\r\n\r\n", 400},
      {"EmptyHeaderName", "GET /api HTTP/1.1\r\n" + host + ": value\r\n\r\n", 400},
      {"MissingHostInHttp11", "GET /api HTTP/1.1\r\nX-A: 1\r\n\r\n", 400},
      {"TwoDifferentHosts", "GET /api HTTP/1.1\r\n" + host + "Host: other.com\r\n\r\n", 400},
      {"GarbageRequestLine", "THIS IS NOT HTTP\r\n\r\n", 400},
      {"BadProtocolName", "GET /api HTXP/1.1\r\n" + host + "\r\n", 400},
      {"Http12IsNotSupported", "GET /api HTTP/1.2\r\n" + host + "\r\n", 505},
      {"Http20OnAnHttp1Connection", "GET /api HTTP/2.0\r\n" + host + "\r\n", 505},
      {"UriTooLong", "GET /api?" + std::string(9000, 'a') + " HTTP/1.1\r\n" + host + "\r\n", 414},
      {"HeaderSectionTooLarge", "GET /api HTTP/1.1\r\n" + host + many_headers(70, 1000) + "\r\n", 431},
      {"SingleHugeHeader", "GET /api HTTP/1.1\r\n" + host + "X-Huge: " + std::string(70000, 'h') + "\r\n\r\n", 431},
      {"TooManyHeaders", "GET /api HTTP/1.1\r\n" + host + many_headers(150, 4) + "\r\n", 431},
      {"BodyLargerThanMaxBodyBytes",
       "POST /api HTTP/1.1\r\n" + host + "Content-Length: 2048\r\n\r\n" + std::string(2048, 'b'), 413},
      {"BadChunkSize",
       "POST /api HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400, true},
      {"ChunkDataWithoutCrlf",
       "POST /api HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", 400, true},
  };
}

constexpr std::string_view kServices = R"(
services:
  - name: echo
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: all
        paths: ["/"]
        strip_path: false
)";

class MalformedTest : public ::testing::TestWithParam<BadRequest> {
 protected:
  static void SetUpTestSuite() {
    up_ = new Upstream();
    gw_ = new Gateway(config_prelude("  limits: {max_header_bytes: 65536, max_headers: 100, "
                                     "max_uri_bytes: 8192, max_body_bytes: 1024}\n") +
                      render(kServices, {{"UP", std::to_string(up_->port())}}));
  }
  static void TearDownTestSuite() {
    delete gw_;
    delete up_;
    gw_ = nullptr;
    up_ = nullptr;
  }
  void SetUp() override {
    // A constructor exception in SetUpTestSuite leaves gw_ null; fail each case with a message.
    ASSERT_NE(gw_, nullptr) << "gateway did not start (see the suite set-up failure)";
  }
  void TearDown() override {
    if (HasFailure() && gw_) std::cerr << "gateway stderr:\n" << gw_->logs().substr(0, 4000) << "\n";
  }

  static std::uint64_t bad_request_counter() {
    Response r = fetch(gw_->admin_port(), http_request("GET", "/status"));
    auto v = parse_json(r.text());
    if (!v || !v->is_object()) return 0;
    return v->as_object().at("counters").as_object().at("bad_requests").to_number<std::uint64_t>();
  }

  static Upstream* up_;
  static Gateway* gw_;
};

Upstream* MalformedTest::up_ = nullptr;
Gateway* MalformedTest::gw_ = nullptr;

TEST_P(MalformedTest, IsRejectedAndClosedWithoutReachingTheUpstream) {
  const BadRequest& bad = GetParam();
  const std::size_t requests_before = up_->request_count();
  const std::uint64_t bytes_before = up_->bytes_received();
  const std::uint64_t rejected_before = bad_request_counter();

  Client c(gw_->port());
  c.send(bad.raw);  // the gateway may close before taking it all; the answer still counts
  Response r = c.read_response({.timeout = 3s});
  ASSERT_TRUE(r.ok()) << "no complete error response: " << r.error;
  EXPECT_EQ(r.status, bad.status) << r.describe();
  auto ct = r.header("Content-Type");
  EXPECT_TRUE(ct && ct->find("application/json") != std::string::npos) << r.raw_head;
  auto message = json_message(r.text());
  EXPECT_TRUE(message && !message->empty()) << "body is not {\"message\": ...}: " << r.text();
  EXPECT_TRUE(header_has_token(r.headers, "Connection", "close")) << r.raw_head;
  EXPECT_TRUE(c.wait_closed(2s)) << "connection left open after a " << r.status;
  if (!bad.error_in_body) {
    EXPECT_EQ(up_->bytes_received(), bytes_before) << "the upstream received bytes of a rejected request";
  }
  // Every rejection is counted (admin /status counters.bad_requests).
  EXPECT_GT(bad_request_counter(), rejected_before) << "bad_requests counter did not move";

  // A well-formed request on a new connection still works, and is all the upstream saw.
  Response ok = fetch(gw_->port(), http_request("GET", std::string("/after/") + bad.name));
  ASSERT_TRUE(ok.ok()) << "gateway unusable after " << bad.name << ": " << ok.error;
  EXPECT_EQ(ok.status, 200) << ok.describe();
  ASSERT_TRUE(up_->wait_for_requests(requests_before + 1, 2s));
  auto reqs = up_->requests();
  std::size_t complete = 0;
  for (std::size_t i = requests_before; i < reqs.size(); ++i) {
    if (!reqs[i].complete && bad.error_in_body) continue;
    ++complete;
    EXPECT_EQ(reqs[i].target, std::string("/after/") + bad.name) << "upstream saw:\n" << reqs[i].raw_head;
  }
  EXPECT_EQ(complete, 1u);
}

INSTANTIATE_TEST_SUITE_P(BadRequests, MalformedTest, ::testing::ValuesIn(bad_requests()),
                         [](const ::testing::TestParamInfo<BadRequest>& info) { return info.param.name; });

}  // namespace
}  // namespace portico::integration
