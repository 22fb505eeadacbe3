#include "proxy/http1_session.h"

#include <boost/asio/buffer.hpp>

#include <charconv>

#include "codec/http1/head_writer.h"
#include "filter/consumer_directory.h"
#include "observability/log.h"
#include "proxy/headers.h"
#include "router/path_normalizer.h"

namespace portico::proxy {

using codec::http1::Framing;
using codec::http1::ParseStatus;
using session::IoStatus;
namespace asio = boost::asio;

namespace {
codec::http1::Limits codec_limits(const ProcessLimits& l) {
  codec::http1::Limits c;
  c.max_head_bytes = l.max_header_bytes;
  c.max_headers = l.max_headers;
  c.max_uri_bytes = l.max_uri_bytes;
  return c;
}
}  // namespace

Http1Session::Http1Session(WorkerContext& ctx, asio::ip::tcp::socket socket, bool tls)
    : ctx_(ctx),
      down_(std::move(socket), 16 * 1024, ctx.limits().max_header_bytes + 16 * 1024),
      parser_(codec_limits(ctx.limits())),
      x_(ctx.io().get_executor()) {
  boost::system::error_code ec;
  auto remote = down_.socket().remote_endpoint(ec);
  if (!ec) {
    client_ip_ = remote.address().to_string();
    client_port_ = remote.port();
  }
  auto local = down_.socket().local_endpoint(ec);
  if (!ec) server_port_ = local.port();
  down_.socket().set_option(asio::ip::tcp::no_delay(true), ec);
  tls_listener_ = tls;
  registry_it_ = ctx_.add_session(this);
  ctx_.stats.connections_accepted.add();
  ctx_.stats.connections_active.add(1);
}

Http1Session::~Http1Session() {
  ctx_.remove_session(registry_it_);
  ctx_.stats.connections_active.add(-1);
}

void Http1Session::on_drain() {
  if (idle_) {
    down_.cancel();
  } else {
    close_after_ = true;
  }
}

void Http1Session::abort() {
  close_after_ = true;
  if (active_upstream_) active_upstream_->cancel();
  if (retry_timer_) retry_timer_->cancel();
  down_.close();
}

runtime::Task<void> Http1Session::run() {
  if (tls_listener_ && !co_await accept_tls()) {
    down_.close();
    co_return;
  }
  for (;;) {
    HeadResult h = co_await read_head();
    if (h != HeadResult::kOk) break;
    ctx_.stats.connections_writing.add(1);
    bool keep = co_await handle_request();
    ctx_.stats.connections_writing.add(-1);
    if (!keep || close_after_ || ctx_.draining()) break;
  }
  // Lingering close: a client still sending a request we refused must get to read our answer
  // before a reset destroys it, so stop writing first and drain briefly.
  if (down_.is_open() && (!down_.in().empty() || !body_consumed_)) {
    boost::system::error_code ignored;
    down_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    size_t drained = 0;
    while (drained < 256 * 1024) {
      down_.in().clear();
      IoStatus io = co_await down_.read_more(std::chrono::milliseconds(1000));
      if (io != IoStatus::kOk) break;
      drained += down_.in().size();
    }
  }
  down_.close();
}

runtime::Task<bool> Http1Session::accept_tls() {
  using Reason = observability::TlsFailure;
  auto failed = [this](Reason reason, std::string_view why) {
    ctx_.stats.tls_handshake_failures[static_cast<size_t>(reason)].add();
    PORTICO_LOG_DEBUG("TLS handshake with {} failed: {}", client_ip_, why);
    return false;
  };
  {
    SnapshotRef snap = ctx_.snapshot();
    if (snap) tls_set_ = snap->tls;
  }
  if (!tls_set_) co_return failed(Reason::kNoCertificate, "no certificate configured");
  std::string error;
  auto engine = tls_set_->new_engine(error);
  if (!engine) co_return failed(Reason::kProtocol, error);
  down_.start_tls(std::move(engine));
  idle_ = false;
  const IoStatus io = co_await down_.handshake(ctx_.limits().client_header_timeout);
  if (io != IoStatus::kOk) {
    const std::string why = down_.error_text();
    Reason reason = Reason::kProtocol;
    if (io == IoStatus::kTimeout) {
      reason = Reason::kTimeout;
    } else if (io == IoStatus::kEof || why.empty() || why == "unexpected eof while reading") {
      reason = Reason::kClosed;
    } else if (why == "unrecognized_name") {
      reason = Reason::kUnrecognizedName;
    } else if (why.starts_with("certificate verify failed") || why.find("certificate") != std::string::npos) {
      reason = Reason::kClientCertificate;
    }
    co_return failed(reason, why);
  }
  ctx_.stats.tls_handshakes.add();
  const session::TlsEngine& tls = *down_.tls();
  sni_ = tls.server_name();
  for (char& c : sni_) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  if (!sni_.empty() && sni_.back() == '.') sni_.pop_back();  // "a.example." is "a.example"
  tls_certificate_ = tls_set_->select(sni_);  // the same choice the handshake made
  if (sni_.empty()) sni_ = router::kTlsWithoutSni;
  xfcc_ = tls.forwarded_client_cert();
  peer_.reset(down_.tls());
  co_return true;
}

bool Http1Session::misdirected() {
  if (!tls_set_) return false;
  std::string_view host = x_.request.host;
  if (misdirected_judged_ && host == misdirected_host_) return misdirected_;  // the same Host again
  misdirected_judged_ = true;
  misdirected_host_.assign(host);
  if (!host.empty() && host.front() == '[') {
    host = host.substr(0, host.find(']') + 1);  // IPv6 literal: no certificate name
  } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  // A Host that names no certificate asks nothing of the client: nothing to bypass.
  const int wanted = tls_set_->select(host);
  misdirected_ = wanted >= 0 && !tls_set_->same_client_policy(wanted, tls_certificate_);
  return misdirected_;
}

runtime::Task<Http1Session::HeadResult> Http1Session::read_head() {
  parser_.reset();
  head_.clear();
  // Counts the connection as "reading" from its first head byte until the head is parsed (or the
  // read fails), which is what the admin API's connections_reading reports.
  struct ReadingGauge {
    core::Gauge& gauge;
    bool on = false;
    void start() {
      if (!on) gauge.add(1);
      on = true;
    }
    ~ReadingGauge() {
      if (on) gauge.add(-1);
    }
  } reading{ctx_.stats.connections_reading};
  for (;;) {
    auto& in = down_.in();
    if (!in.empty()) {
      reading.start();
      // The head must start at offset 0 so that, once parsed, the body can be streamed through
      // the rest of the buffer without ever moving the bytes the head's views point into.
      in.compact();
      ParseStatus st = parser_.parse(in.view(), head_);
      if (st == ParseStatus::kComplete) {
        idle_ = false;
        co_return HeadResult::kOk;
      }
      if (st == ParseStatus::kError) {
        idle_ = false;
        ctx_.stats.bad_requests.add();
        auto err = parser_.error();
        PORTICO_LOG_INFO("rejected request from {}: {}", client_ip_, codec::http1::describe(err));
        co_await send_error_and_close(codec::http1::status_for(err), codec::http1::describe(err));
        co_return HeadResult::kRejected;
      }
    }
    bool empty = in.empty();
    if (empty && ctx_.draining()) co_return HeadResult::kClosed;
    idle_ = empty;
    auto timeout = empty ? ctx_.limits().keepalive_timeout : ctx_.limits().client_header_timeout;
    IoStatus io = co_await down_.read_async(timeout);
    idle_ = false;
    if (io == IoStatus::kOk) continue;
    if (io == IoStatus::kBufferFull) {
      ctx_.stats.bad_requests.add();
      co_await send_error_and_close(431, "request header fields too large");
      co_return HeadResult::kRejected;
    }
    if (io == IoStatus::kTimeout && !down_.in().empty()) {
      co_await send_error_and_close(408, "request timeout");
      co_return HeadResult::kRejected;
    }
    // EOF, error or idle timeout between requests: close quietly.
    down_.in().clear();
    co_return HeadResult::kClosed;
  }
}

void Http1Session::build_request() {
  auto& r = x_.request;
  r.method = head_.method;
  r.version_minor = head_.version_minor;
  r.host = head_.host;
  r.client_ip = client_ip_;
  r.client_port = client_port_;
  r.server_port = server_port_;
  if (tls_listener_) {
    r.scheme = "https";
    r.sni = sni_ == router::kTlsWithoutSni ? std::string_view() : std::string_view(sni_);
  }
  std::string_view target = head_.target;
  if (!target.empty() && target.front() != '/' && target != "*") {
    // absolute-form (RFC 9112 §3.2.2): the authority replaces Host.
    auto scheme_end = target.find("://");
    if (scheme_end != std::string_view::npos) {
      auto auth_start = scheme_end + 3;
      auto path_start = target.find_first_of("/?", auth_start);
      r.host = target.substr(auth_start, path_start == std::string_view::npos ? std::string_view::npos
                                                                                 : path_start - auth_start);
      target = path_start == std::string_view::npos ? std::string_view("/") : target.substr(path_start);
      if (!target.empty() && target.front() == '?') {
        r.path = "/";
        r.query = target.substr(1);
        r.has_query = true;
        target = {};
      }
    }
  }
  if (!target.empty()) {
    auto q = target.find('?');
    if (q == std::string_view::npos) {
      r.path = target;
    } else {
      r.path = target.substr(0, q);
      r.query = target.substr(q + 1);
      r.has_query = true;
    }
  }
  r.chunked = head_.framing == Framing::kChunked;
  r.content_length = head_.content_length;
  r.has_body = r.chunked || (head_.framing == Framing::kContentLength && head_.content_length > 0);

  bool have_id = false;
  for (const auto& h : head_.headers) {
    if (is_hop_by_hop(h.name) || iequals_any(h.name, head_.connection_tokens)) continue;
    if (http::iequals(h.name, "content-length") || http::iequals(h.name, "expect")) continue;
    // Consumer identity and the client certificate are the gateway's to state (authentication
    // plugins, the TLS listener): a client sending them must not pass as someone upstream.
    if (filter::is_gateway_owned_field(h.name)) continue;
    if (!have_id && http::iequals(h.name, "x-request-id") && !h.value.empty()) {
      have_id = true;
      r.request_id = h.value;
    }
    r.headers.add(h.name, h.value);
  }
  if (!xfcc_.empty()) r.headers.add("X-Forwarded-Client-Cert", xfcc_);
  if (!have_id) {
    ctx_.ids.next(request_id_);
    r.request_id = std::string_view(request_id_, sizeof request_id_);
    r.headers.add("X-Request-Id", r.request_id);
  }
}

// Kong's answer to a plain-HTTP request on a route whose `protocols` leave out http: 426 with
// `Upgrade`, or a redirect (301/302/307/308) to the same host (without its port) and target over
// https (the loader accepts no other status).
void Http1Session::redirect_to_https(const router::Route& route) {
  const int status = route.https_redirect_status_code;
  if (status == 426) {
    http::set_json_error(x_.reply, 426, "Please use HTTPS protocol");
    x_.reply.headers.add("Connection", "Upgrade");
    x_.reply.headers.add("Upgrade", "TLS/1.2, HTTP/1.1");
    return;
  }
  std::string_view host = x_.request.host;
  if (!host.empty() && host.front() == '[') {
    host = host.substr(0, host.find(']') + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  // The target as the client sent it (Kong: "the path used in the request"), or "/" for the
  // absolute form's authority-only case.
  std::string_view target = head_.target;
  if (!target.empty() && target.front() != '/') {
    const size_t scheme = target.find("://");
    const size_t path = scheme == std::string_view::npos ? std::string_view::npos : target.find('/', scheme + 3);
    target = path == std::string_view::npos ? std::string_view("/") : target.substr(path);
  }
  std::string location = "https://" + std::string(host) + std::string(target);
  http::set_json_error(x_.reply, static_cast<uint16_t>(status), "Please use HTTPS protocol");
  x_.reply.headers.add("Location", x_.reply.headers.own(location));
}

// Routing, filters and the upstream all see the normalised path (RFC 3986 dot segments, duplicate
// slashes, unreserved escapes decoded; %2F stays encoded), so a request can never reach a route
// its normalised path would not select, and the upstream never gets a path that resolves
// elsewhere. Asterisk-form ("OPTIONS *") has no path to normalise.
bool Http1Session::normalize_request_path() {
  auto& path = x_.request.path;
  if (path == "*") return true;
  router::PathResult r = router::normalize_path(path, normalized_path_);
  if (!r.ok()) {
    ctx_.stats.bad_requests.add();
    http::set_json_error(x_.reply, 400, router::describe(r.status));
    return false;
  }
  if (r.status == router::PathStatus::kNormalized) path = x_.request.headers.own(normalized_path_);
  return true;
}

runtime::Task<bool> Http1Session::handle_request() {
  x_.clear();
  x_.timings.start = core::MonoClock::now();
  build_request();
  ctx_.stats.requests_total.add();
  x_.bytes_received = parser_.head_size();
  request_body_.start(head_.framing, head_.content_length, codec_limits(ctx_.limits()));
  body_pos_ = parser_.head_size();
  body_consumed_ = request_body_.done();
  close_after_ = close_after_ || !head_.keep_alive;
  response_started_ = false;

  bool keep = false;
  uint64_t max_body = ctx_.limits().max_body_bytes;
  // Holds this request's place among the worker's max_concurrent_requests until it is done,
  // however the coroutine ends.
  struct InFlight {
    WorkerContext& ctx;
    bool admitted;
    ~InFlight() {
      if (admitted) ctx.end_request();
    }
  } in_flight{ctx_, ctx_.try_begin_request()};
  SnapshotRef snap = ctx_.snapshot();
  if (snap) x_.consumers = snap->consumers.get();
  if (tls_listener_) x_.peer_certificate = &peer_;
  const router::Route* route = nullptr;
  route_ = nullptr;
  chain_ = nullptr;
  consumer_chain_.reset();
  active_upstream_ = nullptr;
  if (!in_flight.admitted) {
    // Overloaded: answer at once rather than queue, and close so the client's next connection
    // may land on a less busy worker or process.
    ctx_.stats.overload_rejected.add();
    http::set_json_error(x_.reply, 503, "gateway overloaded: max_concurrent_requests");
    x_.reply.headers.add("X-Portico-Overloaded", "max_concurrent_requests");
    keep = co_await send_local_reply(true);
  } else if (max_body && head_.framing == Framing::kContentLength && head_.content_length > max_body) {
    ctx_.stats.bad_requests.add();
    http::set_json_error(x_.reply, 413, "Request size limit exceeded");
    keep = co_await send_local_reply(true);
  } else if (head_.unknown_expect) {
    http::set_json_error(x_.reply, 417, "Expectation Failed");
    keep = co_await send_local_reply(true);
  } else if (!normalize_request_path()) {
    keep = co_await send_local_reply(false);
  } else if (!snap) {
    http::set_json_error(x_.reply, 503, "no configuration loaded");
    keep = co_await send_local_reply(false);
  } else if (tls_listener_ && misdirected()) {
    // RFC 9110 §15.5.20: the Host names a certificate whose client verification this connection
    // did not go through (e.g. SNI a.example without mTLS, Host m.example that requires it).
    ctx_.stats.tls_misdirected.add();
    http::set_json_error(x_.reply, 421, "Misdirected Request: the Host needs another TLS connection");
    keep = co_await send_local_reply(true);
  } else {
    router::Match m = snap->routes->match(x_.request.method, x_.request.host, x_.request.path,
                                          x_.request.headers, sni_);
    route = m.route;
    if (!route) {
      ctx_.stats.no_route.add();
      http::set_json_error(x_.reply, 404, "no Route matched with those values");
      keep = co_await send_local_reply(false);
    } else {
      route_ = route;
      x_.route_name = route->name;
      x_.route_index = static_cast<int32_t>(route->index);  // metrics: series by route index
      x_.config_key = snap->config.get();
      router::named_captures(m, x_.request.path, x_.uri_captures);
      x_.service_name = route->service_name;
      auto t0 = core::MonoClock::now();
      const bool redirect = route->https_only && !tls_listener_;
      if (redirect) {
        redirect_to_https(*route);  // before any plugin, and no plugin sees the answer
      } else {
        chain_ = &route->chain;
        int consumer = x_.consumer_index;
        for (size_t i = 0; i < chain_->on_request().size();) {
          filter::Step step = chain_->on_request()[i]->on_request(x_);
          filter::Verdict v = step.ready() ? step.verdict() : co_await wait_for_filter(step, chain_->on_request()[i]);
          if (v.kind != filter::Verdict::Kind::kContinue) {
            if (v.kind == filter::Verdict::Kind::kError) http::set_json_error(x_.reply, v.status, v.message);
            break;
          }
          if (x_.consumer_index != consumer) {
            // Authentication named a consumer: the filters still to come (lower priorities, and
            // their later phases) are looked up with it, as Kong does; those that ran stay.
            const filter::Filter* current = chain_->on_request()[i];
            const int priority = chain_->on_request_priority(i);
            chain_ = snap.consumer_chain(*route, x_.consumer_index, priority, consumer_chain_);
            i = chain_->resume_after(current, priority);
            consumer = x_.consumer_index;
          } else {
            ++i;
          }
        }
      }
      const double request_filters = core::ms_between(t0, core::MonoClock::now());
      x_.timings.filter_ms += request_filters;
      x_.timings.request_filters_ms += request_filters;
      if (x_.reply.active()) {
        ctx_.stats.local_replies.add();
        x_.answered_by_filter = !redirect;
        keep = co_await send_local_reply(false);
      } else if (route->cluster == SIZE_MAX) {
        http::set_json_error(x_.reply, 503, "no Service found with those values");
        keep = co_await send_local_reply(false);
      } else {
        keep = co_await proxy_upstream(*snap, snap.balancer(route->cluster), *route, m.matched_prefix_len);
      }
    }
  }

  active_upstream_ = nullptr;
  x_.timings.end = core::MonoClock::now();
  if (route && chain_) {
    for (const filter::Filter* f : chain_->on_log()) f->on_log(x_);
  }
  finish_log();

  // Nothing of this request's chain outlives it (an idle keep-alive connection must not keep an
  // old snapshot's filters alive).
  route_ = nullptr;
  chain_ = nullptr;
  consumer_chain_.reset();
  if (keep && !body_consumed_) keep = co_await discard_request_body();
  if (keep) down_.in().consume(body_pos_);
  co_return keep;
}

runtime::Task<bool> Http1Session::discard_request_body() {
  // A small unread body is read and dropped so the connection survives a local reply; a large
  // or unannounced one (or one the client holds back for 100-continue) closes the connection.
  if (head_.expect_continue || head_.framing != Framing::kContentLength ||
      head_.content_length - request_body_.body_bytes() > 64 * 1024) {
    co_return false;
  }
  for (;;) {
    auto& in = down_.in();
    while (body_pos_ < in.size()) {
      auto step = request_body_.decode(in.view().substr(body_pos_));
      body_pos_ += step.consumed;
      if (step.done) {
        body_consumed_ = true;
        co_return true;
      }
      if (step.consumed == 0) break;
    }
    in.erase(parser_.head_size(), body_pos_);
    body_pos_ = parser_.head_size();
    IoStatus io = co_await down_.read_more(ctx_.limits().client_body_timeout, true);
    if (io != IoStatus::kOk) co_return false;
  }
}

runtime::Task<void> Http1Session::send_error_and_close(int status, std::string_view message) {
  x_.clear();
  route_ = nullptr;
  x_.request.client_ip = client_ip_;
  x_.request.client_port = client_port_;
  x_.timings.start = core::MonoClock::now();
  http::set_json_error(x_.reply, static_cast<uint16_t>(status), message);
  co_await send_local_reply(true);
  x_.timings.end = core::MonoClock::now();
  finish_log();
}

runtime::Task<filter::Verdict> Http1Session::wait_for_filter(filter::Step& step, const filter::Filter* f) {
  const core::MonoTime t0 = core::MonoClock::now();
  filter::Verdict v = co_await step.take_task();
  if (chain_) x_.trace.add_wait(chain_->name_of(f), t0, core::MonoClock::now());
  co_return v;
}

runtime::Task<bool> Http1Session::send_local_reply(bool close_after) {
  if (close_after) close_after_ = true;
  auto& rep = x_.reply;
  // A local reply goes through the route's response filters like an upstream response does
  // (Kong runs header_filter after kong.response.exit too), so response-transformer and friends
  // see every answer.
  auto& resp = x_.response;
  resp.clear();
  resp.status = rep.status;
  resp.headers.add("Date", ctx_.http_date());
  resp.headers.add("Server", kServerToken);
  if (!rep.content_type.empty()) resp.headers.add("Content-Type", rep.content_type);
  for (const auto& h : rep.headers) resp.headers.add(h.name, h.value);
  for (const auto& h : x_.response_fields) {
    if (!rep.headers.contains(h.name)) resp.headers.add(h.name, h.value);
  }
  if (route_ && chain_ && !chain_->on_response().empty()) {
    const auto t0 = core::MonoClock::now();
    for (const filter::Filter* f : chain_->on_response()) {
      filter::Step step = f->on_response(x_);
      filter::Verdict v = step.ready() ? step.verdict() : co_await wait_for_filter(step, f);
      if (v.kind != filter::Verdict::Kind::kContinue) break;  // the reply is already the answer
    }
    const double spent = core::ms_between(t0, core::MonoClock::now());
    x_.timings.filter_ms += spent;
    x_.timings.response_filters_ms += spent;
  }
  out_.clear();
  codec::http1::write_status_line(out_, resp.status);
  for (const auto& h : resp.headers) codec::http1::write_header(out_, h.name, h.value);
  char num[24];
  auto [end, ec] = std::to_chars(num, num + sizeof num, rep.body.size());
  codec::http1::write_header(out_, "Content-Length", std::string_view(num, end - num));
  if (close_after_) {
    codec::http1::write_header(out_, "Connection", "close");
  } else if (head_.version_minor == 0) {
    codec::http1::write_header(out_, "Connection", "keep-alive");
  }
  append_latency_headers(out_, false);
  codec::http1::end_head(out_);
  bool head_method = x_.request.method == "HEAD";
  std::array<asio::const_buffer, 2> bufs{asio::const_buffer(out_.data(), out_.size()),
                                         asio::buffer(rep.body.data(), head_method ? 0 : rep.body.size())};
  size_t written = 0;
  IoStatus io = down_.write_now(bufs, written);
  if (io == IoStatus::kWouldBlock) io = co_await down_.write_rest(bufs, written, ctx_.limits().client_body_timeout);
  x_.status_sent = resp.status;
  x_.bytes_sent += out_.size() + (head_method ? 0 : rep.body.size());
  count_response(resp.status);
  co_return io == IoStatus::kOk && !close_after_;
}

void Http1Session::count_response(int status) {
  ctx_.stats.count_response(status);
  ctx_.stats.bytes_sent.add(x_.bytes_sent);
  ctx_.stats.bytes_received.add(x_.bytes_received);
}

}  // namespace portico::proxy
