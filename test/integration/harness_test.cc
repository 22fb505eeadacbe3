// Checks the integration harness against itself: Client against Upstream, Process with /bin/sh.
// No gateway is involved, so these pass or fail on the harness alone.

#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>

#include "harness/client.h"
#include "harness/gateway.h"
#include "harness/process.h"
#include "harness/upstream.h"

namespace portico::integration {
namespace {

using namespace std::chrono_literals;

TEST(HarnessTest, ClientGetsContentLengthResponseAndUpstreamRecordsRequest) {
  Upstream up;
  up.set_handler([](const RecordedRequest& r) {
    UpstreamResponse resp;
    resp.headers = {{"X-Target", r.target}};
    resp.body = "hello " + r.method;
    return resp;
  });
  Client c(up.port());
  Response r = c.request(http_request("POST", "/a?b=1", {{"X-One", "1"}}, "payload"));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.text(), "hello POST");
  EXPECT_EQ(r.header("x-target"), "/a?b=1");
  auto reqs = up.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].header("X-One"), "1");
  EXPECT_EQ(reqs[0].body.data, "payload");
  EXPECT_TRUE(reqs[0].complete);
}

TEST(HarnessTest, KeepAliveAndPipeliningOnOneConnection) {
  Upstream up;
  up.set_handler([](const RecordedRequest& r) {
    UpstreamResponse resp;
    resp.body = r.target;
    return resp;
  });
  Client c(up.port());
  std::string batch;
  for (int i = 0; i < 5; ++i) batch += http_request("GET", "/p/" + std::to_string(i));
  ASSERT_TRUE(c.send(batch));
  for (int i = 0; i < 5; ++i) {
    Response r = c.read_response();
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.text(), "/p/" + std::to_string(i));
  }
  EXPECT_EQ(up.connections_accepted(), 1u);
  for (const auto& req : up.requests()) EXPECT_EQ(req.connection_id, 1u);
}

TEST(HarnessTest, ChunkedBothWaysWithTrailers) {
  Upstream up;
  up.set_handler([](const RecordedRequest& r) {
    UpstreamResponse resp;
    resp.framing = Framing::kChunked;
    resp.chunk_size = 3;
    resp.body = "abcdefgh";
    resp.trailers = {{"X-Trailer", "t1"}};
    return resp;
  });
  Client c(up.port());
  Response r = c.request(http_request("POST", "/", {{"Transfer-Encoding", "chunked"}}) +
                         chunked("0123456789", 4, {{"X-Req-Trailer", "rt"}}));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_TRUE(r.body.chunked);
  EXPECT_EQ(r.text(), "abcdefgh");
  EXPECT_EQ((std::vector<std::uint64_t>{3, 3, 2}), r.body.chunk_sizes);
  EXPECT_EQ(find_header(r.body.trailers, "x-trailer"), "t1");
  auto reqs = up.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].body.data, "0123456789");
  EXPECT_EQ(find_header(reqs[0].body.trailers, "X-Req-Trailer"), "rt");
}

TEST(HarnessTest, UntilCloseHeadNoBodyAndLargeGeneratedBody) {
  Upstream up;
  up.set_handler([](const RecordedRequest& r) {
    UpstreamResponse resp;
    if (r.target == "/close") {
      resp.framing = Framing::kUntilClose;
      resp.body = "until-close";
    } else if (r.target == "/204") {
      resp.status = 204;
      resp.framing = Framing::kNone;
    } else {
      resp.generated_body_size = 3'000'001;
    }
    return resp;
  });
  {
    Client c(up.port());
    Response r = c.request(http_request("GET", "/close"));
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.text(), "until-close");
    EXPECT_TRUE(c.wait_closed(1s));
  }
  Client c(up.port());
  Response h = c.request(http_request("HEAD", "/big"), {.head_request = true});
  ASSERT_TRUE(h.ok()) << h.error;
  EXPECT_EQ(h.header("Content-Length"), "3000001");
  EXPECT_EQ(h.body.size, 0u);
  Response n = c.request(http_request("GET", "/204"));
  ASSERT_TRUE(n.ok()) << n.error;
  EXPECT_EQ(n.status, 204);
  Response b = c.request(http_request("GET", "/big"), {.store_limit = 0});
  ASSERT_TRUE(b.ok()) << b.error;
  EXPECT_EQ(b.body.size, 3'000'001u);
  EXPECT_EQ(b.body.hash, pattern_hash(3'000'001));
  EXPECT_EQ(up.connections_accepted(), 2u);
}

TEST(HarnessTest, LargeRequestBodyIsHashedNotStored) {
  Upstream up;
  up.set_store_limit(10);
  Client c(up.port());
  const std::size_t n = 5'000'000;
  ASSERT_TRUE(c.send("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(n) + "\r\n\r\n"));
  ASSERT_TRUE(c.send(pattern(0, n)));
  Response r = c.read_response();
  ASSERT_TRUE(r.ok()) << r.error;
  auto reqs = up.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].body.size, n);
  EXPECT_EQ(reqs[0].body.data.size(), 10u);
  EXPECT_EQ(reqs[0].body.hash, pattern_hash(n));
}

TEST(HarnessTest, ResetMidBodyAndCloseWithoutAnswerAreSeenByClient) {
  Upstream up;
  up.set_handler([](const RecordedRequest& r) {
    UpstreamResponse resp;
    if (r.target == "/reset") {
      resp.generated_body_size = 100000;
      resp.reset_after_body_bytes = 1000;
    } else {
      resp.close_without_answer = true;
    }
    return resp;
  });
  {
    Client c(up.port());
    Response r = c.request(http_request("GET", "/reset"));
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body.size, 1000u);
  }
  Client c(up.port());
  Response r = c.request(http_request("GET", "/silent"));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(up.wait_for_connections_closed(2, 2s));
}

TEST(HarnessTest, DelayIsInterruptedByStopAndExpectContinueIsAnswered) {
  auto up = std::make_unique<Upstream>();
  up->set_handler([](const RecordedRequest& r) {
    UpstreamResponse resp;
    if (r.target == "/slow") resp.delay = 60s;
    return resp;
  });
  Client c(up->port());
  ASSERT_TRUE(c.send("POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"));
  Response interim = c.read_response({.stop_at_informational = true});
  ASSERT_TRUE(interim.ok()) << interim.error;
  EXPECT_EQ(interim.status, 100);
  ASSERT_TRUE(c.send("abc"));
  Response fin = c.read_response();
  ASSERT_TRUE(fin.ok()) << fin.error;
  EXPECT_EQ(fin.status, 200);
  ASSERT_TRUE(c.send(http_request("GET", "/slow")));
  ASSERT_TRUE(up->wait_for_requests(2, 2s));
  auto start = std::chrono::steady_clock::now();
  up.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_TRUE(c.wait_closed(1s));
}

TEST(HarnessTest, ProcessLinesExitCodesAndKill) {
  Process p("/bin/sh", {"-c", "echo 'hello out'; echo 'ready port=42' >&2; exit 3"});
  std::string err;
  auto line = p.wait_for_line(R"(port=(\d+))", 2s, Process::Stream::kStderr, &err);
  ASSERT_TRUE(line) << err;
  EXPECT_EQ(*line, "ready port=42");
  auto st = p.wait_exit(2s);
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->exited);
  EXPECT_EQ(st->code, 3);
  EXPECT_EQ(p.stdout_text(), "hello out\n");

  Process never("/bin/sh", {"-c", "exit 0"});
  EXPECT_FALSE(never.wait_for_line("nothing", 2s, Process::Stream::kStderr, &err));
  EXPECT_NE(err.find("exited"), std::string::npos) << err;

  Process sleeper("/bin/sleep", {"30"});
  EXPECT_FALSE(sleeper.wait_exit(50ms));
  EXPECT_TRUE(sleeper.signal(SIGTERM));
  auto killed = sleeper.wait_exit(2s);
  ASSERT_TRUE(killed);
  EXPECT_FALSE(killed->exited);
  EXPECT_EQ(killed->signal, SIGTERM);
}

TEST(HarnessTest, RenderSubstitutesAndRejectsUnknownPlaceholders) {
  EXPECT_EQ(render("a {{X}} b {{Y}}{{X}}", {{"X", "1"}, {"Y", "2"}}), "a 1 b 21");
  EXPECT_THROW(render("{{MISSING}}", {}), std::runtime_error);
}

TEST(HarnessTest, ClosedPortRefusesAndCurlRuns) {
  EXPECT_TRUE(connection_refused(closed_port()));
  Upstream up;
  RunResult r = run_curl({"-s", "-o", "-", "-w", "%{http_code}",
                          "http://127.0.0.1:" + std::to_string(up.port()) + "/curl"});
  EXPECT_EQ(r.exit_code(), 0) << r.err;
  EXPECT_EQ(r.out, "ok200");
}

}  // namespace
}  // namespace portico::integration
