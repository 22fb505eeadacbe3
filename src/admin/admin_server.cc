#include "admin/admin_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>

#include "codec/http1/body_decoder.h"
#include "codec/http1/head_writer.h"
#include "codec/http1/request_parser.h"
#include "session/stream.h"

namespace portico::admin {

namespace asio = boost::asio;
using session::IoStatus;

namespace {
constexpr auto kAdminTimeout = std::chrono::seconds(30);

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

// A reply the handler may give later: the connection waits on the timer, which `respond` cancels.
struct PendingReply {
  explicit PendingReply(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
  std::optional<AdminResponse> response;
};

std::string json_message(std::string_view m) {
  std::string out = "{\"message\":\"";
  for (char c : m) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"}";
}
}  // namespace

AdminServer::AdminServer(asio::io_context& io, asio::ip::tcp::acceptor acceptor, AdminHandler handler)
    : io_(io), acceptor_(std::move(acceptor)), handler_(std::move(handler)) {}

void AdminServer::start() { accept(); }

void AdminServer::stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

asio::ip::tcp::endpoint AdminServer::local_endpoint() const { return acceptor_.local_endpoint(); }

void AdminServer::accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, asio::ip::tcp::socket socket) {
    if (ec) {
      if (ec != asio::error::operation_aborted) accept();
      return;
    }
    asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
    accept();
  });
}

runtime::Task<void> AdminServer::serve(asio::ip::tcp::socket socket) {
  session::Stream stream(std::move(socket), 8192, 64 * 1024 + 8192);
  codec::http1::RequestParser parser;
  codec::http1::RequestHead head;
  for (;;) {
    parser.reset();
    head.clear();
    auto& in = stream.in();
    codec::http1::ParseStatus st = codec::http1::ParseStatus::kNeedMore;
    for (;;) {
      if (!in.empty()) {
        in.compact();
        st = parser.parse(in.view(), head);
        if (st != codec::http1::ParseStatus::kNeedMore) break;
      }
      if (co_await stream.read_more(kAdminTimeout) != IoStatus::kOk) co_return;
    }
    AdminResponse resp;
    bool keep = head.keep_alive && st == codec::http1::ParseStatus::kComplete;
    AdminRequest req;
    if (st == codec::http1::ParseStatus::kError) {
      resp.status = codec::http1::status_for(parser.error());
      resp.body = json_message(codec::http1::describe(parser.error()));
    } else if (head.framing == codec::http1::Framing::kContentLength && head.content_length > kMaxAdminBody) {
      resp.status = 413;
      resp.body = json_message("admin request body too large");
      keep = false;
    } else {
      req.method = std::string(head.method);
      std::string_view target = head.target;
      auto q = target.find('?');
      req.path = std::string(target.substr(0, q));
      if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
      for (const auto& h : head.headers) {
        if (iequal(h.name, "content-type")) req.content_type = std::string(h.value);
        if (iequal(h.name, "accept")) req.accept = std::string(h.value);
      }
      // Read the whole body (copying it out of the buffer: the head views die with compaction).
      codec::http1::BodyDecoder body;
      body.start(head.framing, head.content_length);
      in.consume(parser.head_size());
      bool body_ok = true;
      bool too_large = false;
      while (!body.done()) {
        auto step = body.decode(in.view());
        req.body.append(step.data);
        in.consume(step.consumed);
        if (req.body.size() > kMaxAdminBody) {
          too_large = true;
          break;
        }
        if (step.error != codec::http1::ParseError::kNone) {
          body_ok = false;
          break;
        }
        if (step.done) break;
        if (step.consumed == 0 && step.data.empty()) {
          if (co_await stream.read_more(kAdminTimeout) != IoStatus::kOk) co_return;
        }
      }
      if (too_large) {
        resp.status = 413;
        resp.body = json_message("admin request body too large");
        keep = false;
      } else if (!body_ok) {
        resp.status = 400;
        resp.body = json_message("invalid request body");
        keep = false;
      } else {
        auto pending = std::make_shared<PendingReply>(io_);
        pending->timer.expires_after(kAdminReplyTimeout);
        handler_(req, [pending](AdminResponse r) {
          if (pending->response) return;
          pending->response = std::move(r);
          pending->timer.cancel();
        });
        if (!pending->response) co_await pending->timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (pending->response) {
          resp = std::move(*pending->response);
        } else {
          pending->response = AdminResponse{};  // a late respond() is ignored
          resp.status = 504;
          resp.body = json_message("the admin handler did not answer in time");
        }
      }
    }
    std::string out;
    codec::http1::write_status_line(out, resp.status);
    // 204 and 304 carry no body and, by RFC 9110, no Content-Length.
    const bool bodiless = resp.status == 204 || resp.status == 304;
    if (bodiless) resp.body.clear();
    if (!bodiless) codec::http1::write_header(out, "Content-Type", resp.content_type);
    if (!bodiless) codec::http1::write_header(out, "Content-Length", std::to_string(resp.body.size()));
    codec::http1::write_header(out, "Server", "portico/0.1.0");
    if (!keep) codec::http1::write_header(out, "Connection", "close");
    codec::http1::end_head(out);
    if (req.method != "HEAD") out += resp.body;
    if (co_await stream.write(asio::buffer(out), kAdminTimeout) != IoStatus::kOk || !keep) break;
  }
  stream.close();
}

}  // namespace portico::admin
