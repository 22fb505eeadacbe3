// session::Stream with a TlsEngine: a client and a server engine over a real loopback TCP
// connection, driven by the same coroutines the proxy uses. Certificates are made at run time.
#include <gtest/gtest.h>
#include <poll.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "harness/test_pki.h"
#include "session/stream.h"
#include "session/tls.h"

namespace portico::session {
namespace {

namespace asio = boost::asio;
using integration::Pem;
using namespace std::chrono_literals;

// Deterministic bytes: offset i holds (i * 7 + i / 251) & 0xff.
char pattern_byte(size_t i) { return static_cast<char>((i * 7 + i / 251) & 0xff); }

struct Pki {
  Pki() {
    ca = integration::make_ca("Portico Test CA");
    other_ca = integration::make_ca("Other CA");
    server = integration::make_localhost_server(ca);
    expired = integration::make_localhost_server(ca, integration::Validity::kExpired);
    client = integration::make_leaf(ca, "portico-client", {}, {}, true);
  }
  Pem ca, other_ca, server, expired, client;
};

const Pki& pki() {
  static const Pki p;
  return p;
}

std::shared_ptr<const TlsContext> client_context(TlsClientOptions o) {
  std::string error;
  auto ctx = TlsContext::make_client(o, error);
  EXPECT_TRUE(ctx) << error;
  return ctx;
}

std::shared_ptr<const TlsContext> server_context(const Pem& cert, std::string client_ca = {}) {
  TlsServerOptions o;
  o.cert_pem = cert.cert;
  o.key_pem = cert.key;
  if (!client_ca.empty()) {
    o.client_ca_pems.push_back(client_ca);
    o.require_client_cert = true;
  }
  std::string error;
  auto ctx = TlsContext::make_server(o, error);
  EXPECT_TRUE(ctx) << error;
  return ctx;
}

TlsClientOptions trusting(const Pem& ca) {
  TlsClientOptions o;
  o.ca_pems.push_back(ca.cert);
  return o;
}

class TlsStreamTest : public ::testing::Test {
 protected:
  // A completion token that counts the coroutine as pending until it ends; run() returns when
  // every pending one has (the streams' deadline timers keep the io_context busy otherwise).
  std::function<void(std::exception_ptr)> done() {
    ++pending_;
    return [this](std::exception_ptr e) {
      if (e) ADD_FAILURE() << "a test coroutine threw";
      if (--pending_ == 0) io_.stop();
    };
  }

  void run() {
    io_.restart();
    if (pending_ > 0) io_.run_for(10s);
    EXPECT_EQ(pending_, 0) << "a test coroutine did not finish";
  }

  int pending_ = 0;

  // A connected pair of plaintext streams (client, server).
  void connect_pair() {
    asio::ip::tcp::acceptor acceptor(io_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    asio::ip::tcp::socket c(io_);
    c.connect(acceptor.local_endpoint());
    asio::ip::tcp::socket s(io_);
    acceptor.accept(s);
    client_ = std::make_unique<Stream>(std::move(c), 16 * 1024, 256 * 1024);
    server_ = std::make_unique<Stream>(std::move(s), 16 * 1024, 256 * 1024);
  }

  void attach(std::shared_ptr<const TlsContext> client_ctx, std::shared_ptr<const TlsContext> server_ctx,
              std::string_view sni = "localhost", std::string_view verify = "localhost",
              SSL_SESSION* session = nullptr) {
    std::string error;
    auto ce = TlsEngine::make(std::move(client_ctx), error);
    ASSERT_TRUE(ce) << error;
    ASSERT_TRUE(ce->set_peer_name(sni, verify)) << ce->error();
    ce->set_session(session);
    client_->start_tls(std::move(ce));
    auto se = TlsEngine::make(std::move(server_ctx), error);
    ASSERT_TRUE(se) << error;
    server_->start_tls(std::move(se));
  }

  // Runs both handshakes to completion; their results.
  std::pair<IoStatus, IoStatus> handshake(std::chrono::milliseconds timeout = 5s) {
    IoStatus c = IoStatus::kError, s = IoStatus::kError;
    asio::co_spawn(io_, [&]() -> asio::awaitable<void> { c = co_await client_->handshake(timeout); }, done());
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          s = co_await server_->handshake(timeout);
          // A server that failed closes, as a listener would: the client's read then ends.
          if (s != IoStatus::kOk) server_->close();
        },
        done());
    run();
    return {c, s};
  }


  // Sends `total` pattern bytes from `from` in spans of mixed sizes while `to` reads them all;
  // true when every byte arrived intact.
  bool transfer(Stream& from, Stream& to, size_t total) {
    IoStatus wrote = IoStatus::kError;
    size_t received = 0;
    bool intact = true;
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          std::vector<char> data(total);
          for (size_t i = 0; i < total; ++i) data[i] = pattern_byte(i);
          // Small and large spans together: framing-sized pieces next to body-sized ones.
          static constexpr size_t kSizes[] = {5, 2, 70000, 3, 1000, 16384, 1, 40000, 9};
          size_t at = 0, k = 0;
          while (at < total) {
            std::vector<asio::const_buffer> spans;
            for (int j = 0; j < 6 && at < total; ++j, ++k) {
              size_t n = std::min(kSizes[k % std::size(kSizes)], total - at);
              spans.emplace_back(data.data() + at, n);
              at += n;
            }
            wrote = co_await from.write(Stream::Buffers(spans), 5s);
            if (wrote != IoStatus::kOk) co_return;
          }
        },
        done());
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          while (received < total) {
            IoStatus s = co_await to.read_more(5s);
            if (s != IoStatus::kOk) co_return;
            std::string_view got = to.in().view();
            for (size_t i = 0; i < got.size(); ++i) intact = intact && got[i] == pattern_byte(received + i);
            received += got.size();
            to.in().clear();
          }
        },
        done());
    run();
    EXPECT_EQ(wrote, IoStatus::kOk);
    EXPECT_EQ(received, total);
    return intact && received == total;
  }

  IoStatus read_once(Stream& s, std::chrono::milliseconds timeout) {
    IoStatus out = IoStatus::kError;
    asio::co_spawn(io_, [&]() -> asio::awaitable<void> { out = co_await s.read_async(timeout); }, done());
    run();
    return out;
  }

  // Waits (bounded) until the stream's socket has bytes to read.
  bool wait_readable(Stream& s) {
    pollfd p{s.socket().native_handle(), POLLIN, 0};
    return ::poll(&p, 1, 5000) == 1;
  }

  asio::io_context io_;
  std::unique_ptr<Stream> client_;
  std::unique_ptr<Stream> server_;
};

TEST_F(TlsStreamTest, HandshakeThenBigTransfersBothWays) {
  connect_pair();
  attach(client_context(trusting(pki().ca)), server_context(pki().server));
  auto [c, s] = handshake();
  ASSERT_EQ(c, IoStatus::kOk) << client_->error_text();
  ASSERT_EQ(s, IoStatus::kOk) << server_->error_text();
  EXPECT_EQ(server_->tls()->server_name(), "localhost");
  // Several MiB: records cross every read and the socket buffers fill (WANT_WRITE paths).
  EXPECT_TRUE(transfer(*client_, *server_, 3 * 1024 * 1024 + 17));
  EXPECT_TRUE(transfer(*server_, *client_, 3 * 1024 * 1024 + 5));
  EXPECT_TRUE(transfer(*client_, *server_, 1));
}

TEST_F(TlsStreamTest, CloseNotifyIsEofAndTruncationIsAnError) {
  connect_pair();
  attach(client_context(trusting(pki().ca)), server_context(pki().server));
  ASSERT_EQ(handshake().first, IoStatus::kOk);
  ASSERT_TRUE(transfer(*server_, *client_, 100));
  server_->close();  // close_notify
  EXPECT_EQ(read_once(*client_, 2s), IoStatus::kEof);

  connect_pair();
  attach(client_context(trusting(pki().ca)), server_context(pki().server));
  ASSERT_EQ(handshake().first, IoStatus::kOk);
  ASSERT_TRUE(transfer(*server_, *client_, 100));
  boost::system::error_code ignored;
  server_->socket().close(ignored);  // TCP close, no close_notify
  EXPECT_EQ(read_once(*client_, 2s), IoStatus::kError);
  EXPECT_NE(client_->error_text().find("close_notify"), std::string::npos) << client_->error_text();
}

TEST_F(TlsStreamTest, ReadAndHandshakeTimeouts) {
  connect_pair();
  attach(client_context(trusting(pki().ca)), server_context(pki().server));
  ASSERT_EQ(handshake().first, IoStatus::kOk);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(read_once(*client_, 100ms), IoStatus::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);

  // A server that never answers the ClientHello: the handshake ends at its timeout.
  connect_pair();
  std::string error;
  auto ce = TlsEngine::make(client_context(trusting(pki().ca)), error);
  client_->start_tls(std::move(ce));
  IoStatus c = IoStatus::kOk;
  asio::co_spawn(io_, [&]() -> asio::awaitable<void> { c = co_await client_->handshake(150ms); }, done());
  run();
  EXPECT_EQ(c, IoStatus::kTimeout);
}

TEST_F(TlsStreamTest, VerificationFailuresSayWhy) {
  struct Case {
    std::shared_ptr<const TlsContext> server;
    TlsClientOptions client;
    std::string verify_host;
    std::string expected;
  };
  std::vector<Case> cases = {
      {server_context(pki().server), trusting(pki().other_ca), "localhost",
       "certificate verify failed: unable to get local issuer certificate"},
      {server_context(pki().server), trusting(pki().ca), "example.com", "certificate verify failed: hostname mismatch"},
      {server_context(pki().server), trusting(pki().ca), "127.0.0.2",
       "certificate verify failed: IP address mismatch"},
      {server_context(pki().expired), trusting(pki().ca), "localhost",
       "certificate verify failed: certificate has expired"},
  };
  for (auto& k : cases) {
    connect_pair();
    attach(client_context(k.client), k.server, "", k.verify_host);
    auto [c, s] = handshake();
    EXPECT_EQ(c, IoStatus::kError) << k.expected;
    EXPECT_EQ(client_->error_text(), k.expected);
  }
  // IP literals are verified against IP SANs; verification off accepts anything.
  connect_pair();
  attach(client_context(trusting(pki().ca)), server_context(pki().server), "", "127.0.0.1");
  EXPECT_EQ(handshake().first, IoStatus::kOk) << client_->error_text();
  connect_pair();
  TlsClientOptions off = trusting(pki().other_ca);
  off.verify = false;
  attach(client_context(off), server_context(pki().expired), "", "example.com");
  EXPECT_EQ(handshake().first, IoStatus::kOk) << client_->error_text();
}

TEST_F(TlsStreamTest, ClientCertificates) {
  // Required and given.
  connect_pair();
  TlsClientOptions with_cert = trusting(pki().ca);
  with_cert.cert_pem = pki().client.cert;
  with_cert.key_pem = pki().client.key;
  attach(client_context(with_cert), server_context(pki().server, pki().ca.cert));
  auto [c, s] = handshake();
  EXPECT_EQ(c, IoStatus::kOk) << client_->error_text();
  EXPECT_EQ(s, IoStatus::kOk) << server_->error_text();
  EXPECT_TRUE(transfer(*client_, *server_, 1000));

  // Required and missing: TLS 1.3 finishes the client's handshake first; the server's alert
  // arrives on the first read.
  connect_pair();
  attach(client_context(trusting(pki().ca)), server_context(pki().server, pki().ca.cert));
  auto [c2, s2] = handshake();
  EXPECT_EQ(s2, IoStatus::kError);
  if (c2 == IoStatus::kOk) {
    EXPECT_EQ(read_once(*client_, 2s), IoStatus::kError);
  }
  EXPECT_NE(client_->error_text().find("certificate required"), std::string::npos) << client_->error_text();

  // A key that is not the certificate's does not make a context.
  TlsClientOptions mismatched = trusting(pki().ca);
  mismatched.cert_pem = pki().client.cert;
  mismatched.key_pem = pki().server.key;
  std::string error;
  EXPECT_FALSE(TlsContext::make_client(mismatched, error));
  EXPECT_NE(error.find("does not match"), std::string::npos) << error;
}

TEST_F(TlsStreamTest, IdleConnectionSurvivesTicketsButNotCloseNotifyOrData) {
  connect_pair();
  auto client_ctx = client_context(trusting(pki().ca));
  auto server_ctx = server_context(pki().server);
  attach(client_ctx, server_ctx);
  ASSERT_EQ(handshake().first, IoStatus::kOk);
  // TLS 1.3 session tickets follow the handshake: an idle client finds them waiting.
  ASSERT_TRUE(wait_readable(*client_));
  EXPECT_TRUE(client_->tls_idle_usable());
  EXPECT_TRUE(client_->in().empty());
  SSL_SESSION* session = client_->tls()->take_session();
  ASSERT_NE(session, nullptr);
  // Still usable for a real exchange afterwards.
  EXPECT_TRUE(transfer(*client_, *server_, 10));
  EXPECT_TRUE(transfer(*server_, *client_, 10));
  EXPECT_TRUE(client_->tls_idle_usable());
  server_->close();
  ASSERT_TRUE(wait_readable(*client_));
  EXPECT_FALSE(client_->tls_idle_usable());

  // Unrequested data makes an idle connection unusable.
  connect_pair();
  attach(client_ctx, server_ctx);
  ASSERT_EQ(handshake().first, IoStatus::kOk);
  ASSERT_TRUE(transfer(*server_, *client_, 1));
  EXPECT_TRUE(client_->tls_idle_usable());
  static const char kStray[] = "HTTP/1.1 408 Request Timeout\r\n\r\n";
  IoStatus w = IoStatus::kError;
  asio::co_spawn(io_, [&]() -> asio::awaitable<void> { w = co_await server_->write(asio::buffer(kStray, 32), 1s); },
                 done());
  run();
  ASSERT_EQ(w, IoStatus::kOk);
  ASSERT_TRUE(wait_readable(*client_));
  EXPECT_FALSE(client_->tls_idle_usable());

  // The ticket resumes a new connection.
  connect_pair();
  attach(client_ctx, server_ctx, "localhost", "localhost", session);
  free_session(session);
  ASSERT_EQ(handshake().first, IoStatus::kOk);
  EXPECT_TRUE(client_->tls()->session_reused());
}

}  // namespace
}  // namespace portico::session
