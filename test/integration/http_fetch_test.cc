// upstream::http_fetch, the gateway's own outbound HTTP client, against real loopback servers
// from the harness (plaintext and TLS). Runs the client in-process on its own io_context.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <string>

#include <gtest/gtest.h>

#include "harness/client.h"
#include "harness/test_pki.h"
#include "harness/upstream.h"
#include "session/tls.h"
#include "upstream/http_fetch.h"

namespace portico::integration {
namespace {

namespace asio = boost::asio;
using upstream::FetchRequest;
using upstream::FetchResponse;

FetchResponse fetch(FetchRequest request) {
  asio::io_context io(1);
  FetchResponse out;
  bool finished = false;
  asio::co_spawn(io, upstream::http_fetch(std::move(request)), [&](std::exception_ptr e, FetchResponse r) {
    finished = true;
    if (e) {
      out.error = "exception escaped http_fetch";
      return;
    }
    out = std::move(r);
  });
  io.run();
  EXPECT_TRUE(finished);
  return out;
}

std::string url_of(const Upstream& up, std::string_view path = "/") {
  return "http://127.0.0.1:" + std::to_string(up.port()) + std::string(path);
}

// GET / from a server that answers `raw` (bytes as they are) and closes.
FetchResponse fetch_raw(const std::string& raw) {
  Upstream up;
  up.set_handler([raw](const RecordedRequest&) {
    UpstreamResponse r;
    r.raw = raw;
    r.close_after = true;
    return r;
  });
  FetchRequest req;
  req.url = url_of(up);
  return fetch(req);
}

TEST(HttpFetchTest, ContentLengthResponseWithHeaders) {
  Upstream up;
  up.set_handler([](const RecordedRequest&) {
    UpstreamResponse r;
    r.status = 200;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = R"({"keys":[]})";
    return r;
  });
  FetchRequest req;
  req.url = url_of(up, "/jwks?x=1");
  FetchResponse res = fetch(req);
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, R"({"keys":[]})");
  EXPECT_EQ(res.header("content-type"), "application/json");
  ASSERT_EQ(up.request_count(), 1u);
  auto rec = up.requests().at(0);
  EXPECT_EQ(rec.method, "GET");
  EXPECT_EQ(rec.target, "/jwks?x=1");
  EXPECT_EQ(rec.header("Host").value_or(""), "127.0.0.1:" + std::to_string(up.port()));
  EXPECT_EQ(rec.header("Connection").value_or(""), "close");
}

TEST(HttpFetchTest, ChunkedBodyIsDecoded) {
  Upstream up;
  up.set_handler([](const RecordedRequest&) {
    UpstreamResponse r;
    r.framing = Framing::kChunked;
    r.body = std::string(10000, 'c');
    r.chunk_size = 777;
    r.trailers = {{"X-Trailer", "t"}};
    return r;
  });
  FetchRequest req;
  req.url = url_of(up);
  FetchResponse res = fetch(req);
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, std::string(10000, 'c'));
}

TEST(HttpFetchTest, CloseDelimitedBodyEndsAtEof) {
  Upstream up;
  up.set_handler([](const RecordedRequest&) {
    UpstreamResponse r;
    r.status = 404;
    r.framing = Framing::kUntilClose;
    r.body = "gone until close";
    r.close_after = true;
    return r;
  });
  FetchRequest req;
  req.url = url_of(up);
  FetchResponse res = fetch(req);
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.body, "gone until close");
}

TEST(HttpFetchTest, InterimResponsesAreSkipped) {
  FetchResponse res = fetch_raw(
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
      "HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-Final: yes\r\n\r\nfinal");
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.status, 201);
  EXPECT_EQ(res.body, "final");
  EXPECT_EQ(res.header("X-Final"), "yes");
  EXPECT_EQ(res.header("Link"), "");
}

TEST(HttpFetchTest, BodyOverTheLimitFailsForEveryFraming) {
  Upstream up;
  int framing = 0;
  up.set_handler([&framing](const RecordedRequest&) {
    UpstreamResponse r;
    r.body = std::string(2000, 'x');
    r.framing = framing == 0 ? Framing::kContentLength : framing == 1 ? Framing::kChunked : Framing::kUntilClose;
    r.chunk_size = 300;
    r.close_after = framing == 2;
    return r;
  });
  for (framing = 0; framing < 3; ++framing) {
    FetchRequest req;
    req.url = url_of(up);
    req.max_body_bytes = 1000;
    FetchResponse res = fetch(req);
    EXPECT_FALSE(res.ok) << "framing " << framing;
    EXPECT_EQ(res.error, "response body larger than 1000 bytes") << "framing " << framing;
  }
  // Exactly at the limit is fine.
  framing = 0;
  FetchRequest req;
  req.url = url_of(up);
  req.max_body_bytes = 2000;
  FetchResponse res = fetch(req);
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.body.size(), 2000u);
}

TEST(HttpFetchTest, ConnectionRefusedSaysWhere) {
  const std::uint16_t port = closed_port();
  FetchRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  FetchResponse res = fetch(req);
  EXPECT_FALSE(res.ok);
  EXPECT_EQ(res.error, "connect to 127.0.0.1:" + std::to_string(port) + " failed: Connection refused");
}

TEST(HttpFetchTest, ServerThatNeverAnswersTimesOutOnTime) {
  Upstream up;
  up.set_handler(answer_with("late", Millis{20000}));
  FetchRequest req;
  req.url = url_of(up);
  req.timeout = std::chrono::milliseconds(300);
  const auto start = std::chrono::steady_clock::now();
  FetchResponse res = fetch(req);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(res.ok);
  EXPECT_EQ(res.error, "timed out after 300 ms");
  EXPECT_GE(took, std::chrono::milliseconds(250));
  EXPECT_LT(took, std::chrono::milliseconds(2000));
}

TEST(HttpFetchTest, TruncatedBodyIsAnError) {
  FetchResponse res = fetch_raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this");
  EXPECT_FALSE(res.ok);
  EXPECT_EQ(res.error, "connection closed before the response body ended");
}

TEST(HttpFetchTest, MalformedResponseIsAnError) {
  FetchResponse res =
      fetch_raw("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_FALSE(res.ok);
  EXPECT_NE(res.error.find("invalid response"), std::string::npos) << res.error;
}

TEST(HttpFetchTest, PostSendsBodyAndHeaders) {
  Upstream up;
  up.set_handler(answer_with(R"({"active":true})"));
  FetchRequest req;
  req.method = "POST";
  req.url = url_of(up, "/introspect");
  req.headers = {{"Authorization", "Basic Y2xpZW50OnNlY3JldA=="},
                 {"Content-Type", "application/x-www-form-urlencoded"}};
  req.body = "token=abc%2B1&token_type_hint=access_token";
  FetchResponse res = fetch(req);
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.body, R"({"active":true})");
  ASSERT_EQ(up.request_count(), 1u);
  auto rec = up.requests().at(0);
  EXPECT_EQ(rec.method, "POST");
  EXPECT_EQ(rec.target, "/introspect");
  EXPECT_TRUE(rec.complete);
  EXPECT_EQ(rec.body.data, "token=abc%2B1&token_type_hint=access_token");
  EXPECT_EQ(rec.header("Authorization").value_or(""), "Basic Y2xpZW50OnNlY3JldA==");
  EXPECT_EQ(rec.header("Content-Type").value_or(""), "application/x-www-form-urlencoded");
  EXPECT_EQ(rec.header("Content-Length").value_or(""), std::to_string(req.body.size()));
}

TEST(HttpFetchTest, BadHeaderIsRefusedWithoutEchoingIt) {
  FetchRequest req;
  req.url = "http://127.0.0.1:1/";
  req.headers = {{"Authorization", "Bearer secret\r\nX-Injected: 1"}};
  FetchResponse res = fetch(req);
  EXPECT_FALSE(res.ok);
  EXPECT_EQ(res.error.find("secret"), std::string::npos) << res.error;
}

TEST(HttpFetchTest, UrlChecks) {
  EXPECT_EQ(upstream::check_fetch_url("http://127.0.0.1:8080/a?b=c"), "");
  EXPECT_EQ(upstream::check_fetch_url("https://idp.example.com/oauth2/introspect"), "");
  EXPECT_EQ(upstream::check_fetch_url("http://[::1]:9000"), "");
  EXPECT_EQ(upstream::check_fetch_url("ftp://x/"), "scheme must be http or https");
  EXPECT_EQ(upstream::check_fetch_url(""), "URL is empty");
  EXPECT_EQ(upstream::check_fetch_url("http:///path"), "URL has no host");
  EXPECT_EQ(upstream::check_fetch_url("http://h:0/"), "invalid port in URL");
  EXPECT_EQ(upstream::check_fetch_url("http://h:70000/"), "invalid port in URL");
  EXPECT_EQ(upstream::check_fetch_url("http://user:pw@h/"), "URL must not contain user information");
  EXPECT_EQ(upstream::check_fetch_url("http://h/a b"), "URL contains a space or control character");
  EXPECT_EQ(upstream::check_fetch_url("http://[::1/"), "unterminated IPv6 address in URL");
}

TEST(HttpFetchTest, HttpsWithoutContextFails) {
  FetchRequest req;
  req.url = "https://127.0.0.1:1/";
  FetchResponse res = fetch(req);
  EXPECT_FALSE(res.ok);
  EXPECT_EQ(res.error, "https URL without a TLS client context");
}

struct FetchPki {
  Pem ca = make_ca("Fetch Test CA");
  Pem other_ca = make_ca("Other CA");
  Pem server = make_localhost_server(ca);
  Pem wrong_name = make_leaf(ca, "elsewhere", {"elsewhere.example"}, {"127.0.0.2"});
};
const FetchPki& pki() {
  static FetchPki p;
  return p;
}

UpstreamTls serving(const Pem& pem) {
  UpstreamTls tls;
  tls.cert_pem = pem.cert;
  tls.key_pem = pem.key;
  return tls;
}

std::shared_ptr<const session::TlsContext> client_trusting(const std::string& ca_pem) {
  session::TlsClientOptions o;
  o.ca_pems = {ca_pem};
  std::string error;
  auto ctx = session::TlsContext::make_client(o, error);
  EXPECT_TRUE(ctx) << error;
  return ctx;
}

TEST(HttpFetchTest, HttpsVerifiesAgainstTheTestCaWithSniForNames) {
  Upstream up(serving(pki().server));
  up.set_handler(answer_with("secure"));
  FetchRequest req;
  req.url = "https://localhost:" + std::to_string(up.port()) + "/keys";
  req.tls = client_trusting(pki().ca.cert);
  FetchResponse res = fetch(req);
  ASSERT_TRUE(res.ok) << res.error;
  EXPECT_EQ(res.body, "secure");
  ASSERT_EQ(up.request_count(), 1u);
  EXPECT_TRUE(up.requests().at(0).tls);
  EXPECT_EQ(up.requests().at(0).tls_sni, "localhost");

  // An IP literal is checked against the IP SANs and sends no SNI.
  req.url = "https://127.0.0.1:" + std::to_string(up.port()) + "/keys";
  res = fetch(req);
  ASSERT_TRUE(res.ok) << res.error;
  ASSERT_EQ(up.request_count(), 2u);
  EXPECT_EQ(up.requests().at(1).tls_sni, "");
}

TEST(HttpFetchTest, HttpsNameMismatchFails) {
  Upstream up(serving(pki().wrong_name));
  FetchRequest req;
  req.url = "https://127.0.0.1:" + std::to_string(up.port()) + "/";
  req.tls = client_trusting(pki().ca.cert);
  FetchResponse res = fetch(req);
  EXPECT_FALSE(res.ok);
  EXPECT_NE(res.error.find("TLS handshake with 127.0.0.1 failed"), std::string::npos) << res.error;
  EXPECT_NE(res.error.find("certificate verify failed"), std::string::npos) << res.error;
  EXPECT_EQ(up.request_count(), 0u);
}

TEST(HttpFetchTest, HttpsUnknownCaFails) {
  Upstream up(serving(pki().server));
  FetchRequest req;
  req.url = "https://127.0.0.1:" + std::to_string(up.port()) + "/";
  req.tls = client_trusting(pki().other_ca.cert);
  FetchResponse res = fetch(req);
  EXPECT_FALSE(res.ok);
  EXPECT_NE(res.error.find("certificate verify failed"), std::string::npos) << res.error;
}

}  // namespace
}  // namespace portico::integration
