#include "upstream/http_fetch.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "codec/http1/body_decoder.h"
#include "codec/http1/response_parser.h"
#include "codec/http1/token.h"
#include "session/stream.h"

namespace portico::upstream {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using codec::http1::iequals;

std::string_view FetchResponse::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return v;
  }
  return {};
}

namespace {

constexpr size_t kInitialBuffer = 8 * 1024;
// The buffer holds a head (bounded by the parser's limit) or a slice of body in flight; the body
// itself is collected in the response, so this never needs to hold max_body_bytes.
constexpr size_t kMaxBuffer = 96 * 1024;

struct ParsedUrl {
  bool https = false;
  std::string host;       // as written (IPv6 with brackets)
  std::string bare_host;  // without brackets: what is resolved / verified
  uint16_t port = 0;
  bool explicit_port = false;
  std::string target;     // path and query, "/" when empty
};

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string parse_url(std::string_view url, ParsedUrl& out) {
  if (url.empty()) return "URL is empty";
  std::string_view rest;
  if (starts_with_nocase(url, "http://")) {
    rest = url.substr(7);
  } else if (starts_with_nocase(url, "https://")) {
    out.https = true;
    rest = url.substr(8);
  } else {
    return "scheme must be http or https";
  }
  for (char c : url) {
    if (!codec::http1::is_visible_ascii(c)) return "URL contains a space or control character";
  }
  const size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view tail = authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (const size_t hash = tail.find('#'); hash != std::string_view::npos) tail = tail.substr(0, hash);
  if (authority.find('@') != std::string_view::npos) return "URL must not contain user information";
  if (authority.empty()) return "URL has no host";
  std::string_view host = authority;
  std::string_view port;
  if (authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return "unterminated IPv6 address in URL";
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "unexpected characters after the IPv6 address";
      port = after.substr(1);
      out.explicit_port = true;
    }
    out.bare_host = std::string(host.substr(1, host.size() - 2));
    boost::system::error_code ec;
    auto a = asio::ip::make_address_v6(out.bare_host, ec);
    (void)a;
    if (ec) return "invalid IPv6 address in URL";
  } else {
    const size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      out.explicit_port = true;
    }
    if (host.empty()) return "URL has no host";
    for (char c : host) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '.' || c == '_';
      if (!ok) return "invalid character in URL host";
    }
    out.bare_host = std::string(host);
  }
  out.host = std::string(host);
  if (out.explicit_port) {
    if (port.empty() || port.size() > 5) return "invalid port in URL";
    unsigned value = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return "invalid port in URL";
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return "invalid port in URL";
    out.port = static_cast<uint16_t>(value);
  } else {
    out.port = out.https ? 443 : 80;
  }
  if (tail.empty()) {
    out.target.assign(1, '/');
  } else if (tail.front() == '?') {
    out.target.reserve(tail.size() + 1);
    out.target.push_back('/');
    out.target.append(tail);
  } else {
    out.target = std::string(tail);
  }
  return {};
}

std::optional<asio::ip::address> literal_address(const std::string& bare_host) {
  boost::system::error_code ec;
  auto a = asio::ip::make_address(bare_host, ec);
  if (ec) return std::nullopt;
  return a;
}

std::string endpoint_text(const asio::ip::tcp::endpoint& ep) {
  if (ep.address().is_v6()) return fmt::format("[{}]:{}", ep.address().to_string(), ep.port());
  return fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

// The request bytes; empty with `error` set when a caller-supplied header cannot go on the wire.
std::string build_request(const FetchRequest& r, const ParsedUrl& url, std::string& error) {
  if (!codec::http1::is_token(r.method)) {
    error = "invalid request method";
    return {};
  }
  std::string out;
  out.reserve(256 + r.body.size());
  out += r.method;
  out += ' ';
  out += url.target;
  out += " HTTP/1.1\r\n";
  bool has_host = false;
  for (const auto& [name, value] : r.headers) {
    // Never echo the header: it may carry a credential.
    if (!codec::http1::is_token(name) || !codec::http1::is_field_value(value)) {
      error = "invalid request header";
      return {};
    }
    // Framing and connection handling belong to this client.
    if (iequals(name, "content-length") || iequals(name, "transfer-encoding") || iequals(name, "connection")) {
      continue;
    }
    if (iequals(name, "host")) has_host = true;
  }
  if (!has_host) {
    out += "Host: ";
    out += url.host;
    if (url.explicit_port) out += fmt::format(":{}", url.port);
    out += "\r\n";
  }
  for (const auto& [name, value] : r.headers) {
    if (iequals(name, "content-length") || iequals(name, "transfer-encoding") || iequals(name, "connection")) {
      continue;
    }
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (!r.body.empty() || iequals(r.method, "POST") || iequals(r.method, "PUT") || iequals(r.method, "PATCH")) {
    out += fmt::format("Content-Length: {}\r\n", r.body.size());
  }
  out += "Connection: close\r\n\r\n";
  out += r.body;
  return out;
}

FetchResponse failure(std::string error) {
  FetchResponse r;
  r.error = std::move(error);
  return r;
}

}  // namespace

std::string check_fetch_url(std::string_view url) {
  ParsedUrl parsed;
  return parse_url(url, parsed);
}

runtime::Task<FetchResponse> http_fetch(FetchRequest request) {
  using Clock = std::chrono::steady_clock;
  ParsedUrl url;
  if (std::string e = parse_url(request.url, url); !e.empty()) co_return failure("invalid URL: " + e);
  if (url.https && !request.tls) co_return failure("https URL without a TLS client context");
  std::string wire_error;
  std::string wire = build_request(request, url, wire_error);
  if (!wire_error.empty()) co_return failure(std::move(wire_error));

  auto executor = co_await asio::this_coro::executor;
  const auto end = Clock::now() + request.timeout;
  const std::string timed_out = fmt::format("timed out after {} ms", request.timeout.count());
  auto left = [&]() -> std::chrono::milliseconds {
    return std::chrono::ceil<std::chrono::milliseconds>(end - Clock::now());
  };

  // Resolve.
  std::vector<asio::ip::tcp::endpoint> endpoints;
  if (auto literal = literal_address(url.bare_host)) {
    endpoints.emplace_back(*literal, url.port);
  } else {
    // Asio's resolver runs getaddrinfo on its own internal thread, so the loop keeps running.
    asio::ip::tcp::resolver resolver(executor);
    asio::steady_timer timer(executor, std::max(left(), std::chrono::milliseconds(0)));
    auto raced = co_await (resolver.async_resolve(url.bare_host, std::to_string(url.port),
                                                  asio::as_tuple(asio::use_awaitable)) ||
                           timer.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (raced.index() == 1) co_return failure(timed_out);
    auto [ec, results] = std::get<0>(std::move(raced));
    if (ec) co_return failure(fmt::format("resolving {} failed: {}", url.bare_host, ec.message()));
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
    if (endpoints.empty()) co_return failure(fmt::format("resolving {} gave no address", url.bare_host));
  }

  // Connect: each address in turn, within the one deadline.
  std::unique_ptr<session::Stream> stream;
  std::string connect_error;
  for (const auto& ep : endpoints) {
    if (left().count() <= 0) co_return failure(timed_out);
    auto candidate = std::make_unique<session::Stream>(asio::ip::tcp::socket(executor), kInitialBuffer, kMaxBuffer);
    session::IoStatus s = co_await candidate->connect(ep, left());
    if (s == session::IoStatus::kOk) {
      stream = std::move(candidate);
      break;
    }
    if (s == session::IoStatus::kTimeout) co_return failure(timed_out);
    connect_error = fmt::format("connect to {} failed: {}", endpoint_text(ep), candidate->last_error().message());
  }
  if (!stream) co_return failure(std::move(connect_error));

  // A stream that fails keeps no half-open socket behind.
  struct Closer {
    session::Stream& s;
    ~Closer() { s.close(); }
  } closer{*stream};

  auto io_failure = [&](session::IoStatus s, std::string_view what) {
    if (s == session::IoStatus::kTimeout) return failure(timed_out);
    if (s == session::IoStatus::kBufferFull) return failure("response head too large");
    if (s == session::IoStatus::kEof) return failure(fmt::format("connection closed while {}", what));
    return failure(fmt::format("{} failed: {}", what, stream->error_text()));
  };

  if (url.https) {
    std::string error;
    auto engine = session::TlsEngine::make(request.tls, error);
    if (!engine) co_return failure("TLS: " + error);
    const bool named = engine->set_peer_host(url.bare_host);
    std::string refused = named ? std::string() : engine->error();
    stream->start_tls(std::move(engine));
    if (!named) co_return failure("TLS: " + refused);
    if (left().count() <= 0) co_return failure(timed_out);
    session::IoStatus s = co_await stream->handshake(left());
    if (s != session::IoStatus::kOk) {
      if (s == session::IoStatus::kTimeout) co_return failure(timed_out);
      co_return failure(fmt::format("TLS handshake with {} failed: {}", url.host, stream->error_text()));
    }
  }

  if (left().count() <= 0) co_return failure(timed_out);
  {
    session::IoStatus s = co_await stream->write(asio::const_buffer(wire.data(), wire.size()), left());
    if (s != session::IoStatus::kOk) co_return io_failure(s, "sending the request");
  }

  // Head: skip 1xx interim responses.
  FetchResponse out;
  codec::http1::ResponseParser parser;
  codec::http1::ResponseHead head;
  const bool head_request = iequals(request.method, "HEAD");
  core::ByteBuffer& in = stream->in();
  for (;;) {
    const codec::http1::ParseStatus ps = parser.parse(in.view(), head, head_request);
    if (ps == codec::http1::ParseStatus::kComplete) {
      if (head.status >= 100 && head.status < 200 && head.status != 101) {
        in.consume(parser.head_size());
        parser.reset();
        continue;
      }
      break;
    }
    if (ps == codec::http1::ParseStatus::kError) {
      co_return failure(fmt::format("invalid response: {}", codec::http1::describe(parser.error())));
    }
    if (left().count() <= 0) co_return failure(timed_out);
    session::IoStatus s = co_await stream->read_more(left());
    if (s != session::IoStatus::kOk) co_return io_failure(s, "reading the response head");
  }
  if (head.status == 101) co_return failure("unexpected 101 Switching Protocols");
  out.status = head.status;
  out.headers.reserve(head.headers.size());
  for (const auto& h : head.headers) out.headers.emplace_back(std::string(h.name), std::string(h.value));
  const auto too_large = [&] {
    return failure(fmt::format("response body larger than {} bytes", request.max_body_bytes));
  };
  if (head.framing == codec::http1::Framing::kContentLength && head.content_length > request.max_body_bytes &&
      !head_request) {
    co_return too_large();
  }
  const codec::http1::Framing framing = head.framing;
  in.consume(parser.head_size());  // `head` views are dead from here on

  // Body.
  codec::http1::BodyDecoder decoder;
  decoder.start(framing, head.content_length);
  while (!decoder.done()) {
    codec::http1::BodyDecoder::Step step = decoder.decode(in.view());
    if (!step.data.empty()) {
      if (out.body.size() + step.data.size() > request.max_body_bytes) co_return too_large();
      out.body.append(step.data.data(), step.data.size());
    }
    if (step.error != codec::http1::ParseError::kNone) {
      co_return failure(fmt::format("invalid response body: {}", codec::http1::describe(step.error)));
    }
    in.consume(step.consumed);
    if (step.done) break;
    if (step.consumed > 0 || !step.data.empty()) continue;
    if (left().count() <= 0) co_return failure(timed_out);
    session::IoStatus s = co_await stream->read_more(left());
    if (s == session::IoStatus::kOk) continue;
    if (s == session::IoStatus::kEof && decoder.finish_eof()) break;
    if (s == session::IoStatus::kEof) co_return failure("connection closed before the response body ended");
    co_return io_failure(s, "reading the response body");
  }
  out.ok = true;
  co_return out;
}

}  // namespace portico::upstream
