// The upstream half of Http1Session: connect (or reuse), send the request head and stream the
// request body, read the response head, run response filters, stream the response body back.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <ctime>
#include <optional>
#include <span>

#include "codec/http1/head_writer.h"
#include "filter/consumer_directory.h"
#include "observability/log.h"
#include "proxy/headers.h"
#include "proxy/http1_session.h"

namespace portico::proxy {

using codec::http1::Framing;
using codec::http1::ParseStatus;
using session::IoStatus;
namespace asio = boost::asio;

namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kLastChunk = "0\r\n";

}  // namespace

// Request trailers go upstream as the client sent them, except the fields only the gateway may
// set (X-Consumer-*, X-Credential-Identifier, X-Anonymous-Consumer, X-Forwarded-Client-Cert): a
// next hop that merges trailers into headers must not see a forged identity. `raw` is the
// decoder's "Name: value\r\n" lines; the result views `raw` itself when nothing is removed.
std::string_view Http1Session::gateway_owned_fields_removed(std::string_view raw, std::string& kept) {
  bool copying = false;  // set at the first removed field: from then on the kept lines are copied
  for (size_t at = 0; at < raw.size();) {
    size_t end = raw.find("\r\n", at);
    end = end == std::string_view::npos ? raw.size() : end + 2;
    const std::string_view line = raw.substr(at, end - at);
    const std::string_view name = line.substr(0, line.find(':'));
    const bool owned = filter::is_gateway_owned_field(name);
    if (owned && !copying) {
      kept.assign(raw.substr(0, at));
      copying = true;
    } else if (!owned && copying) {
      kept.append(line);
    }
    at = end;
  }
  return copying ? std::string_view(kept) : raw;
}

namespace {

// Spans for one writev: body data plus the chunk framing around it.
class SpanBatch {
 public:
  static constexpr size_t kMaxBuffers = 60;
  static constexpr size_t kMaxChunks = 18;

  void clear() {
    count_ = 0;
    chunks_ = 0;
  }
  bool full() const { return count_ + 4 > kMaxBuffers || chunks_ >= kMaxChunks; }
  bool empty() const { return count_ == 0; }
  void add(std::string_view s) {
    if (!s.empty()) bufs_[count_++] = asio::const_buffer(s.data(), s.size());
  }
  void add_chunk(std::string_view data) {
    if (data.empty()) return;
    char* h = headers_[chunks_++].data();
    add({h, codec::http1::format_chunk_header(h, data.size())});
    add(data);
    add(kCrlf);
  }
  std::span<const asio::const_buffer> buffers() const { return {bufs_.data(), count_}; }

 private:
  std::array<asio::const_buffer, kMaxBuffers> bufs_;
  std::array<std::array<char, codec::http1::kChunkHeaderMax>, kMaxChunks> headers_;
  size_t count_ = 0;
  size_t chunks_ = 0;
};

void write_number_header(core::OutBuffer& out, std::string_view name, uint64_t value) {
  char num[24];
  auto [end, ec] = std::to_chars(num, num + sizeof num, value);
  codec::http1::write_header(out, name, std::string_view(num, end - num));
}

// True when the Set-Cookie field value `set_cookie` sets the cookie called `name`.
bool sets_cookie(std::string_view set_cookie, std::string_view name) {
  while (!set_cookie.empty() && (set_cookie.front() == ' ' || set_cookie.front() == '\t')) {
    set_cookie.remove_prefix(1);
  }
  if (!set_cookie.starts_with(name)) return false;
  set_cookie.remove_prefix(name.size());
  while (!set_cookie.empty() && (set_cookie.front() == ' ' || set_cookie.front() == '\t')) {
    set_cookie.remove_prefix(1);
  }
  return !set_cookie.empty() && set_cookie.front() == '=';
}

// The Set-Cookie that hash_key() queued for a minted `hash_on: cookie` key, empty when none.
std::string_view minted_hash_cookie(const http::HeaderMap& reply_headers, std::string_view name) {
  for (const auto& h : reply_headers) {
    if (http::iequals(h.name, "set-cookie") && sets_cookie(h.value, name)) return h.value;
  }
  return {};
}

bool safe_to_replay(std::string_view method, bool has_body) {
  if (has_body) return false;
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" ||
         method == "DELETE" || method == "TRACE";
}

// Envoy's back-off for retry number `retry` (1, 2, ...): uniformly random ("full jitter") in
// [0, min(max_interval, base_interval * (2^retry - 1))].
std::chrono::milliseconds backoff_interval(const router::RetryPolicy& policy, uint32_t retry,
                                           uint64_t random) {
  const uint64_t base = static_cast<uint64_t>(policy.base_interval.count());
  const uint64_t factor = (uint64_t{1} << std::min<uint32_t>(retry, 30)) - 1;
  const uint64_t upper = std::min<uint64_t>(static_cast<uint64_t>(policy.max_interval.count()), base * factor);
  return std::chrono::milliseconds(static_cast<int64_t>(random % (upper + 1)));
}

// Retry-After (RFC 9110 §10.2.3): delay-seconds, or an HTTP-date in the preferred IMF-fixdate form
// ("Sun, 06 Nov 1994 08:49:37 GMT"), relative to `now`. nullopt when unreadable.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, std::time_t now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (value.front() >= '0' && value.front() <= '9') {
    constexpr uint64_t kYear = 86400 * 365;  // longer waits read as a year: never retried anyway
    uint64_t seconds = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (end != value.data() + value.size()) return std::nullopt;
    if (ec != std::errc() && ec != std::errc::result_out_of_range) return std::nullopt;
    if (ec == std::errc::result_out_of_range || seconds > kYear) seconds = kYear;
    return std::chrono::milliseconds(seconds * 1000);
  }
  static constexpr std::string_view kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";
  // "Sun, 06 Nov 1994 08:49:37 GMT": fixed positions.
  if (value.size() != 29 || value.substr(3, 2) != ", " || value.substr(25) != " GMT") return std::nullopt;
  auto num = [&](size_t at, size_t len, int& out) {
    auto [end, ec] = std::from_chars(value.data() + at, value.data() + at + len, out);
    return ec == std::errc() && end == value.data() + at + len;
  };
  std::tm tm{};
  int year = 0;
  size_t month = kMonths.find(value.substr(8, 3));
  if (month == std::string_view::npos || month % 3 != 0 || !num(5, 2, tm.tm_mday) || !num(12, 4, year) ||
      !num(17, 2, tm.tm_hour) || !num(20, 2, tm.tm_min) || !num(23, 2, tm.tm_sec) || value[19] != ':' ||
      value[22] != ':') {
    return std::nullopt;
  }
  tm.tm_mon = static_cast<int>(month / 3);
  tm.tm_year = year - 1900;
  std::time_t at = timegm(&tm);
  if (at == static_cast<std::time_t>(-1)) return std::nullopt;
  return std::chrono::milliseconds(at > now ? (at - now) * 1000 : 0);
}

}  // namespace

void Http1Session::set_upstream_error(int status, std::string_view message) {
  http::set_json_error(x_.reply, static_cast<uint16_t>(status), message);
}

void Http1Session::build_upstream_head(const router::Route& route, const upstream::Cluster& cluster,
                                       size_t matched_len) {
  const auto& r = x_.request;
  up_head_.clear();
  up_head_.append(r.method);
  up_head_ += ' ';
  router::upstream_path(route, cluster.path, r.path, matched_len, up_head_);
  if (r.has_query) {
    up_head_ += '?';
    up_head_.append(r.query);
  }
  up_head_.append(" HTTP/1.1\r\n");
  std::string_view host = route.preserve_host && !r.host.empty() ? r.host : std::string_view(cluster.host_header);
  codec::http1::write_header(up_head_, "Host", host);

  std::string_view prior_xff;
  std::string_view prior_via;
  size_t xff_count = 0;
  for (const auto& h : r.headers) {
    std::string_view n = h.name;
    if (n.size() >= 9 && (n[0] == 'x' || n[0] == 'X')) {
      if (http::iequals(n, "x-forwarded-for")) {
        // Several X-Forwarded-For fields form one list (RFC 9110 §5.3).
        if (xff_count++ == 0) {
          prior_xff = h.value;
        } else {
          prior_xff = x_.request.headers.arena().concat(prior_xff, ", ", h.value);
        }
        continue;
      }
      if (http::iequals(n, "x-forwarded-proto") || http::iequals(n, "x-forwarded-host") ||
          http::iequals(n, "x-forwarded-port") || http::iequals(n, "x-forwarded-path") ||
          http::iequals(n, "x-forwarded-prefix") || http::iequals(n, "x-real-ip")) {
        continue;  // set from the connection: the client is not a trusted proxy
      }
    } else if (n.size() == 4) {
      if (http::iequals(n, "host")) continue;
    } else if (n.size() == 3 && http::iequals(n, "via")) {
      prior_via = h.value;
      continue;
    }
    codec::http1::write_header(up_head_, n, h.value);
  }
  up_head_.append("X-Forwarded-For: ");
  if (!prior_xff.empty()) {
    up_head_.append(prior_xff);
    up_head_.append(", ");
  }
  up_head_.append(r.client_ip);
  up_head_.append("\r\nX-Forwarded-Proto: ");
  up_head_.append(r.scheme);
  std::string_view fwd_host = r.host;
  if (!fwd_host.empty() && fwd_host.front() != '[') {
    auto colon = fwd_host.rfind(':');
    if (colon != std::string_view::npos) fwd_host = fwd_host.substr(0, colon);
  } else if (!fwd_host.empty()) {
    auto close = fwd_host.find(']');
    if (close != std::string_view::npos) fwd_host = fwd_host.substr(0, close + 1);
  }
  up_head_.append(kCrlf);
  if (!fwd_host.empty()) codec::http1::write_header(up_head_, "X-Forwarded-Host", fwd_host);
  write_number_header(up_head_, "X-Forwarded-Port", r.server_port);
  codec::http1::write_header(up_head_, "X-Forwarded-Path", r.path);
  if (route.strip_path && matched_len > 0) {
    codec::http1::write_header(up_head_, "X-Forwarded-Prefix", r.path.substr(0, matched_len));
  }
  codec::http1::write_header(up_head_, "X-Real-IP", r.client_ip);
  if (prior_via.empty()) {
    codec::http1::write_header(up_head_, "Via", kViaToken);
  } else {
    up_head_.append("Via: ");
    up_head_.append(prior_via);
    up_head_.append(", ");
    up_head_.append(kViaToken);
    up_head_.append(kCrlf);
  }
  if (head_.framing == Framing::kChunked) {
    up_head_.append("Transfer-Encoding: chunked\r\n");
  } else if (head_.framing == Framing::kContentLength) {
    write_number_header(up_head_, "Content-Length", head_.content_length);
  }
  codec::http1::end_head(up_head_);
}

runtime::Task<IoStatus> Http1Session::send_request(upstream::UpstreamConnection& up,
                                                   const upstream::Cluster& cluster,
                                                   std::chrono::milliseconds write_timeout,
                                                   bool& client_failed) {
  client_failed = false;
  if (body_held_) {
    // The whole body was read beforehand (a retry policy may send it again): head and body in one
    // write; the framing in up_head_ is the request's Content-Length.
    SpanBatch held;
    held.add(up_head_.view());
    held.add(held_body_);
    size_t written = 0;
    IoStatus io = up.stream.write_now(held.buffers(), written);
    if (io == IoStatus::kWouldBlock) io = co_await up.stream.write_rest(held.buffers(), written, write_timeout);
    co_return io;
  }
  auto& in = down_.in();
  const size_t head_size = parser_.head_size();
  const bool chunked = head_.framing == Framing::kChunked;
  // The process-wide limit, or a plugin's smaller one for this request (request-size-limiting).
  uint64_t max_body = ctx_.limits().max_body_bytes;
  if (x_.max_body_bytes && (!max_body || x_.max_body_bytes < max_body)) max_body = x_.max_body_bytes;

  if (head_.expect_continue && !body_consumed_ && body_pos_ == in.size()) {
    // The client waits for our go-ahead before sending the body; the upstream never sees Expect.
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    IoStatus io = co_await down_.write(asio::buffer(kContinue.data(), kContinue.size()),
                                       ctx_.limits().client_body_timeout);
    if (io != IoStatus::kOk) {
      client_failed = true;
      co_return io;
    }
  }

  SpanBatch batch;
  bool first = true;
  for (;;) {
    batch.clear();
    if (first) batch.add(up_head_.view());
    bool need_more = false;  // the decoder waits for bytes that are not buffered yet
    while (!body_consumed_ && body_pos_ < in.size() && !batch.full()) {
      auto step = request_body_.decode(in.view().substr(body_pos_));
      body_pos_ += step.consumed;
      if (step.error != codec::http1::ParseError::kNone) {
        ctx_.stats.bad_requests.add();
        set_upstream_error(codec::http1::status_for(step.error), codec::http1::describe(step.error));
        client_failed = true;
        co_return IoStatus::kError;
      }
      if (chunked) {
        batch.add_chunk(step.data);
      } else {
        batch.add(step.data);
      }
      if (step.done) {
        body_consumed_ = true;
        if (chunked) {
          batch.add(kLastChunk);
          batch.add(gateway_owned_fields_removed(step.trailers, trailers_kept_));
          batch.add(kCrlf);
        }
        break;
      }
      if (step.consumed == 0 && step.data.empty()) {
        need_more = true;
        break;
      }
    }
    if (max_body && request_body_.body_bytes() > max_body) {
      ctx_.stats.bad_requests.add();
      set_upstream_error(413, "Request size limit exceeded");
      client_failed = true;
      co_return IoStatus::kError;
    }
    if (!batch.empty()) {
      size_t written = 0;
      IoStatus io = up.stream.write_now(batch.buffers(), written);
      if (io == IoStatus::kWouldBlock) io = co_await up.stream.write_rest(batch.buffers(), written, write_timeout);
      if (io != IoStatus::kOk) co_return io;
    }
    x_.bytes_received += body_pos_ - head_size;
    in.erase(head_size, body_pos_);
    body_pos_ = head_size;
    first = false;
    if (body_consumed_) co_return IoStatus::kOk;
    if (!need_more && body_pos_ < in.size()) continue;  // the batch was full
    IoStatus io = down_.read_now(true);
    if (io == IoStatus::kWouldBlock) io = co_await down_.read_async(ctx_.limits().client_body_timeout, true);
    if (io != IoStatus::kOk) {
      client_failed = true;
      if (io == IoStatus::kTimeout) {
        set_upstream_error(408, "request timeout");
      } else {
        set_upstream_error(400, "request body incomplete");
      }
      co_return io;
    }
  }
}

std::string_view Http1Session::hash_key(const upstream::Cluster& cluster) {
  const auto& policy = cluster.hash;
  if (policy.hash_on == upstream::HashOn::kNone) return {};
  upstream::RequestFacts facts;
  facts.client_ip = x_.request.client_ip;
  facts.path = x_.request.path;
  facts.query = x_.request.query;
  // Kong hashes the consumer's id, or the credential's when the credential has no consumer.
  facts.consumer_id = x_.consumer_id.empty() ? x_.credential_id : x_.consumer_id;
  // Headers are only gathered when the policy reads them (header and cookie keys).
  std::vector<upstream::HeaderField> fields;
  auto uses_headers = [](upstream::HashOn h) {
    return h == upstream::HashOn::kHeader || h == upstream::HashOn::kCookie;
  };
  if (uses_headers(policy.hash_on) || uses_headers(policy.hash_fallback)) {
    fields.reserve(x_.request.headers.size());
    for (const auto& h : x_.request.headers) fields.push_back({h.name, h.value});
    facts.headers = fields;
  }
  std::vector<upstream::HeaderField> captures;
  for (const auto& [name, value] : x_.uri_captures) captures.push_back({name, value});
  facts.uri_captures = captures;
  std::string_view key = upstream::select_hash_key(policy, facts, hash_scratch_);
  if (key.empty() && upstream::mints_cookie(policy)) {
    // No cookie yet: hash on a fresh random id and hand it to the client, which sends it back
    // from then on and so keeps reaching the same target (Kong mints a UUID the same way). The
    // Set-Cookie waits among the local reply's extra fields, so a local error after the pick
    // carries it too; stream_response() moves it onto a proxied response.
    char minted[36];
    ctx_.ids.next(minted);
    upstream::format_set_cookie(policy, std::string_view(minted, sizeof minted), hash_scratch_);
    x_.reply.headers.add("Set-Cookie", x_.reply.headers.own(hash_scratch_));
    hash_scratch_.assign(minted, sizeof minted);
    return hash_scratch_;
  }
  if (key.data() != hash_scratch_.data()) {
    // The key may point into `fields`' source (request headers: stable) or into facts; copy
    // what is not already in the scratch string so it outlives this call.
    hash_scratch_.assign(key);
  }
  return hash_scratch_;
}

std::string_view Http1Session::tls_server_name(const router::Route& route, const upstream::Cluster& cluster) const {
  std::string_view host = route.preserve_host && !x_.request.host.empty() ? std::string_view(x_.request.host)
                                                                           : std::string_view(cluster.host_header);
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    return close == std::string_view::npos ? host.substr(1) : host.substr(1, close - 1);
  }
  auto colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

runtime::Task<IoStatus> Http1Session::start_upstream_tls(upstream::UpstreamConnection& up,
                                                         const upstream::Cluster& cluster, std::string_view name,
                                                         std::chrono::milliseconds timeout) {
  std::string error;
  std::unique_ptr<session::TlsEngine> engine = session::TlsEngine::make(cluster.tls, error);
  if (!engine) {
    PORTICO_LOG_WARN("service {}: {}", cluster.name, error);
    co_return IoStatus::kError;
  }
  // A name the engine refuses must not leave the certificate's name unchecked: fail instead.
  const bool named = engine->set_peer_host(name);
  engine->set_session(ctx_.pool.tls_session(up.key));
  std::string refused = named ? std::string() : engine->error();
  up.stream.start_tls(std::move(engine));
  if (!named) co_return up.stream.fail_tls(std::move(refused));
  IoStatus s = co_await up.stream.handshake(timeout);
  if (s == IoStatus::kOk) ctx_.pool.remember_session(up);
  co_return s;
}

runtime::Task<bool> Http1Session::proxy_upstream(const config::Snapshot& snap, upstream::Balancer& balancer,
                                                 const router::Route& route, size_t matched_len) {
  const upstream::Cluster& cluster = *snap.clusters[route.cluster];
  x_.timings.upstream_start = core::MonoClock::now();
  if (cluster.endpoints.empty()) {
    PORTICO_LOG_WARN("service {}: {}", cluster.name, cluster.resolve_error);
    set_upstream_error(503, cluster.upstream_name.empty() ? "name resolution failed"
                                                          : "failure to get a peer from the ring-balancer");
    co_return co_await send_local_reply(false);
  }
  if (!chain_->on_upstream_request().empty()) {
    for (const filter::Filter* f : chain_->on_upstream_request()) {
      filter::Step step = f->on_upstream_request(x_);
      filter::Verdict v = step.ready() ? step.verdict() : co_await wait_for_filter(step, f);
      if (v.kind == filter::Verdict::Kind::kContinue) continue;
      if (v.kind == filter::Verdict::Kind::kError) http::set_json_error(x_.reply, v.status, v.message);
      break;
    }
    const double spent = core::ms_between(x_.timings.upstream_start, core::MonoClock::now());
    x_.timings.filter_ms += spent;
    x_.timings.request_filters_ms += spent;
  }
  if (x_.reply.active()) co_return co_await send_local_reply(false);

  // Circuit breakers (Envoy's thresholds, per process): the request counts as active on its
  // upstream until proxy_upstream returns, its response body included.
  upstream::CircuitBreaker* const breaker = cluster.breaker.get();
  upstream::CircuitBreaker::Slot request_slot;
  // 503 without touching the upstream, naming the limit that tripped.
  auto overloaded = [&](upstream::CircuitBreaker::Resource limit) {
    ctx_.stats.circuit_breaker_trips[limit].add();
    set_upstream_error(503, upstream::CircuitBreaker::overload_message(limit));
    x_.reply.headers.add("X-Portico-Overloaded", upstream::CircuitBreaker::limit_name(limit));
  };
  if (breaker) {
    request_slot = breaker->try_acquire(upstream::CircuitBreaker::kRequests);
    if (!request_slot) {
      overloaded(upstream::CircuitBreaker::kRequests);
      co_return co_await send_local_reply(false);
    }
  }

  build_upstream_head(route, cluster, matched_len);
  const bool replayable = safe_to_replay(x_.request.method, x_.request.has_body);
  const bool is_head = x_.request.method == "HEAD";
  int connect_attempts = 0;
  bool fresh_retry_used = false;
  bool retry_same_target = false;  // the free retry of a dead pooled connection stays on its target
  const std::string_view key =
      cluster.algorithm == upstream::Algorithm::kConsistentHashing ? hash_key(cluster) : std::string_view();
  int last_pick = -1;
  // TLS: the name sent as SNI and verified is the Host sent upstream without its port (Kong's
  // rule); an IP literal is verified against the certificate's IP SANs and sends no SNI.
  std::string_view tls_name;
  if (cluster.tls) tls_name = tls_server_name(route, cluster);

  // The route's retry policy (Envoy semantics) on top of the service's Kong `retries`, which keep
  // their meaning: connect failures (and, for idempotent bodiless requests, connections closed
  // before any response byte) are retried by Kong's count first, at once; the policy then retries
  // what its retry_on names, with back-off, up to num_retries. The route `timeout` bounds it all.
  const router::RetryPolicy* policy = route.retry.get();
  upstream_deadline_ = route.timeout.count() > 0 ? x_.timings.upstream_start + route.timeout
                                                 : core::MonoTime::max();
  body_held_ = false;
  if (policy && head_.framing == Framing::kContentLength && !body_consumed_ &&
      head_.content_length <= policy->replay_buffer_limit && head_.content_length > 0) {
    // Within the policy's replay_buffer_limit: read it all now, so every attempt can send it
    // (larger or chunked bodies stream and are never replayed).
    IoStatus held = co_await hold_request_body();
    if (held != IoStatus::kOk) co_return co_await send_local_reply(true);
  }
  // A policy retry re-sends the request: that needs all of its bytes (no body, or a held one).
  const bool policy_replayable = !x_.request.has_body || body_held_;
  uint32_t policy_retries = 0;
  std::chrono::milliseconds next_wait{0};

  // Retries in flight on the upstream (max_retries, or the route's retry budget instead): a
  // request holds at most one retry slot, from the decision to retry until its next decision or
  // its end. A retry the breaker refuses is not made; the last response or error stands.
  std::optional<upstream::RetryBudget> budget;
  if (policy && policy->budget) {
    budget = upstream::RetryBudget{policy->budget->budget_percent, policy->budget->min_retry_concurrency};
  }
  upstream::CircuitBreaker::Slot retry_slot;
  bool retry_refused = false;
  auto admit_retry = [&]() -> bool {
    if (!breaker) return true;
    if (retry_refused) return false;
    retry_slot.release();
    retry_slot = breaker->try_acquire_retry(budget ? &*budget : nullptr);
    if (retry_slot) return true;
    retry_refused = true;
    ctx_.stats.circuit_breaker_trips[upstream::CircuitBreaker::kRetries].add();
    return false;
  };
  // Kong's `retries` of the service, under the same breaker.
  auto kong_retry = [&]() -> bool {
    if (connect_attempts >= cluster.retries || !admit_retry()) return false;
    ++connect_attempts;
    ctx_.stats.upstream_retries.add();
    return true;
  };

  // Whether the policy retries after a failed attempt (`condition`: retry_on covers the failure;
  // `sent`: the request, or part of it, went out). Schedules the back-off when it does.
  auto policy_retry = [&](bool condition, bool sent,
                          std::optional<std::chrono::milliseconds> wait = std::nullopt) -> bool {
    if (!policy || !condition || policy_retries >= policy->num_retries) return false;
    if (sent && !policy_replayable) return false;
    std::chrono::milliseconds w =
        wait ? *wait : backoff_interval(*policy, policy_retries + 1, ctx_.ids.next_u64());
    if (core::MonoClock::now() + w >= upstream_deadline_) return false;
    if (!admit_retry()) return false;
    ++policy_retries;
    next_wait = w;
    ctx_.stats.upstream_retries.add();
    return true;
  };

  // Counts the attempt as active on its target for as long as it runs (least-connections,
  // least-request), whichever way the attempt ends.
  struct ActiveAttempt {
    upstream::Balancer& balancer;
    int index;
    ~ActiveAttempt() { balancer.on_finish(index); }
  };

  for (;;) {
    active_upstream_ = nullptr;
    if (next_wait.count() > 0) {
      if (!co_await wait_before_retry(next_wait)) co_return false;  // aborted
      next_wait = std::chrono::milliseconds(0);
    }
    const core::MonoTime attempt_start = core::MonoClock::now();
    // The attempt's own limit: per_try_timeout, within the route's deadline.
    const core::MonoTime attempt_deadline =
        policy && policy->per_try_timeout.count() > 0
            ? std::min(upstream_deadline_, attempt_start + policy->per_try_timeout)
            : upstream_deadline_;
    // An I/O timeout cut down to what is left of `limit`.
    auto within = [](std::chrono::milliseconds timeout, core::MonoTime limit) {
      if (limit == core::MonoTime::max()) return timeout;
      auto left = std::chrono::ceil<std::chrono::milliseconds>(limit - core::MonoClock::now());
      return std::max(std::chrono::milliseconds(1), std::min(timeout, left));
    };
    auto route_timed_out = [&] { return core::MonoClock::now() >= upstream_deadline_; };
    auto timed_out_reply = [&] {
      ctx_.stats.upstream_timeouts.add();
      set_upstream_error(504, "The upstream server is timed out");
    };

    // A retry asks for another target than the one that just failed (if there is one).
    int pick = balancer.pick({key, ctx_.ids.next_u64(), retry_same_target ? -1 : last_pick});
    retry_same_target = false;
    if (pick < 0) {
      PORTICO_LOG_WARN("service {}: no target available", cluster.name);
      set_upstream_error(503, "failure to get a peer from the ring-balancer");
      co_return co_await send_local_reply(false);
    }
    last_pick = pick;
    balancer.on_start(pick);
    ActiveAttempt attempt{balancer, pick};
    const upstream::Endpoint& ep = cluster.endpoints[static_cast<size_t>(pick)];
    x_.upstream_address = ep.key;
    // A child span per attempt when the request is traced (filter/trace_record.h); every exit of
    // this iteration records it once.
    filter::TraceAttemptScope trace_attempt(x_.trace, ep.key);
    // Passive health checks: the attempt's outcome counts for its address (upstream/health.h).
    auto observe = [&](upstream::ProbeOutcome outcome) {
      if (cluster.health && cluster.health_check.passive.enabled()) {
        cluster.health->report(static_cast<size_t>(pick), ep.key, outcome, cluster.health_check.passive);
      }
    };
    std::unique_ptr<upstream::UpstreamConnection> up;
    // TLS connections are pooled under their TLS identity too (upstream/connection_pool.h).
    const std::string* pool_key = &ep.key;
    if (cluster.tls) {
      pool_key_.assign(ep.key);
      pool_key_.append("|tls|");
      pool_key_.append(tls_name);
      pool_key_ += '|';
      pool_key_.append(cluster.tls->identity());
      pool_key = &pool_key_;
    }
    // A replayable request may skip the pool's liveness peek: if the pooled connection turns out
    // dead, the request is sent again once on a fresh connection (below).
    if (!fresh_retry_used) up = ctx_.pool.acquire(*pool_key, replayable);
    const bool reused = up != nullptr;
    if (reused) ++x_.upstream_attempts;
    if (!up) {
      // A new connection counts against max_connections for as long as it lives (pooled too),
      // and the request waits in connect as a pending request.
      upstream::CircuitBreaker::Slot connection_slot;
      upstream::CircuitBreaker::Slot pending_slot;
      if (breaker) {
        connection_slot = breaker->try_acquire(upstream::CircuitBreaker::kConnections);
        if (connection_slot) pending_slot = breaker->try_acquire(upstream::CircuitBreaker::kPendingRequests);
        if (!connection_slot || !pending_slot) {
          trace_attempt.error = "overloaded";
          overloaded(connection_slot ? upstream::CircuitBreaker::kPendingRequests
                                     : upstream::CircuitBreaker::kConnections);
          co_return co_await send_local_reply(false);
        }
      }
      ++x_.upstream_attempts;
      up = std::make_unique<upstream::UpstreamConnection>(asio::ip::tcp::socket(ctx_.io()), *pool_key);
      if (breaker) {
        up->breaker = cluster.breaker;
        up->breaker_slot = std::move(connection_slot);
      }
      active_upstream_ = &up->stream;
      const core::MonoTime connect_start = core::MonoClock::now();
      x_.timings.connect_start = connect_start;
      IoStatus c = co_await up->stream.connect(ep.address, within(cluster.connect_timeout, attempt_deadline));
      if (c == IoStatus::kOk && cluster.tls) {
        // The handshake is part of connecting: same timeout, and a failure is a connect failure
        // for retries, passive health checks and the 502.
        c = co_await start_upstream_tls(*up, cluster, tls_name,
                                        within(cluster.connect_timeout, std::min(attempt_deadline,
                                               connect_start + cluster.connect_timeout)));
      }
      pending_slot.release();
      if (c != IoStatus::kOk) {
        trace_attempt.error = c == IoStatus::kTimeout ? "connect-timeout" : "connect-failure";
        ctx_.stats.upstream_connect_failures.add();
        observe(c == IoStatus::kTimeout ? upstream::ProbeOutcome::kTimeout : upstream::ProbeOutcome::kTcpFailure);
        PORTICO_LOG_WARN("upstream {} ({}) connect failed: {}", ep.key, cluster.name,
                         c == IoStatus::kTimeout ? "timeout" : up->stream.error_text());
        if (route_timed_out()) {
          timed_out_reply();
          co_return co_await send_local_reply(false);
        }
        if (kong_retry()) continue;
        if (policy_retry(policy && policy->retries_connect_failure(), false)) continue;
        if (c == IoStatus::kTimeout) {
          timed_out_reply();
        } else {
          set_upstream_error(502, "An invalid response was received from the upstream server");
        }
        co_return co_await send_local_reply(false);
      }
    } else {
      ctx_.stats.upstream_reused.add();
      x_.timings.connect_start = {};  // this attempt did not connect
    }
    active_upstream_ = &up->stream;
    x_.timings.connected = core::MonoClock::now();
    ctx_.stats.upstream_requests.add();

    bool client_failed = false;
    IoStatus sent = co_await send_request(*up, cluster, within(cluster.write_timeout, attempt_deadline),
                                          client_failed);
    if (client_failed) {
      up->stream.close();
      if (x_.reply.active() && !response_started_) co_return co_await send_local_reply(true);
      co_return false;
    }
    if (sent != IoStatus::kOk) {
      trace_attempt.error = sent == IoStatus::kTimeout ? "timeout" : "reset";
      up->stream.close();
      // A pooled connection may just have been closed by the peer: only fresh ones count.
      if (!reused || sent == IoStatus::kTimeout) {
        observe(sent == IoStatus::kTimeout ? upstream::ProbeOutcome::kTimeout : upstream::ProbeOutcome::kTcpFailure);
      }
      if (route_timed_out()) {
        timed_out_reply();
        co_return co_await send_local_reply(!body_consumed_);
      }
      if (reused && replayable && !fresh_retry_used) {
        // A pooled connection the upstream closed just as we used it: try once on a new one.
        fresh_retry_used = true;
        retry_same_target = true;
        continue;
      }
      if (replayable && sent != IoStatus::kTimeout && kong_retry()) continue;
      if (policy_retry(policy && (sent == IoStatus::kTimeout ? policy->retries_per_try_timeout()
                                                             : policy->retries_reset()),
                       true)) {
        continue;
      }
      PORTICO_LOG_WARN("upstream {} ({}) write failed: {}", ep.key, cluster.name, session::to_string(sent));
      if (sent == IoStatus::kTimeout) {
        timed_out_reply();
      } else {
        ctx_.stats.upstream_bad_responses.add();
        set_upstream_error(502, "An invalid response was received from the upstream server");
      }
      co_return co_await send_local_reply(!body_consumed_);
    }

    // Response head; 1xx interim responses are consumed here (we answered 100-continue ourselves).
    auto& uin = up->stream.in();
    bool got_head = false;
    bool retry = false;

    for (;;) {
      up->parser.reset();
      ParseStatus st = ParseStatus::kNeedMore;
      IoStatus io = IoStatus::kOk;
      for (;;) {
        if (!uin.empty()) {
          uin.compact();
          st = up->parser.parse(uin.view(), resp_head_, is_head);
          if (st != ParseStatus::kNeedMore) break;
        }
        // The upstream has only just been sent the request: let the reactor read (and wait).
        io = co_await up->stream.read_async(within(cluster.read_timeout, attempt_deadline));
        if (io != IoStatus::kOk) break;
      }
      if (st == ParseStatus::kComplete) {
        if (resp_head_.status >= 100 && resp_head_.status < 200 && resp_head_.status != 101) {
          uin.consume(up->parser.head_size());
          continue;
        }
        got_head = true;
        break;
      }
      if (st == ParseStatus::kError) {
        trace_attempt.error = "invalid-response";
        ctx_.stats.upstream_bad_responses.add();
        observe(upstream::ProbeOutcome::kTcpFailure);
        PORTICO_LOG_WARN("upstream {} ({}) sent an invalid response: {}", ep.key, cluster.name,
                         codec::http1::describe(up->parser.error()));
        set_upstream_error(502, "An invalid response was received from the upstream server");
        break;
      }
      if (io == IoStatus::kTimeout) {
        trace_attempt.error = "timeout";
        observe(upstream::ProbeOutcome::kTimeout);
        if (route_timed_out()) {
          PORTICO_LOG_WARN("upstream {} ({}): route timeout of {} ms reached", ep.key, cluster.name,
                           route.timeout.count());
          timed_out_reply();
          break;
        }
        PORTICO_LOG_WARN("upstream {} ({}) timed out after {} ms", ep.key, cluster.name,
                         core::ms_between(attempt_start, core::MonoClock::now()));
        if (policy_retry(policy && policy->retries_per_try_timeout(), true)) {
          ctx_.stats.upstream_timeouts.add();
          retry = true;
          break;
        }
        timed_out_reply();
        break;
      }
      trace_attempt.error = "reset";
      if (!(uin.empty() && reused)) observe(upstream::ProbeOutcome::kTcpFailure);
      if (uin.empty() && reused && replayable && !fresh_retry_used) {
        // A pooled connection closed under us: one free retry on a fresh connection.
        fresh_retry_used = true;
        retry_same_target = true;
        retry = true;
        break;
      }
      if (uin.empty() && replayable && kong_retry()) {
        // Kong's `retries`: an upstream that failed before sending any response byte gets the
        // (idempotent, bodiless) request again, as nginx's proxy_next_upstream error does.
        PORTICO_LOG_WARN("upstream {} ({}) failed before responding; retrying", ep.key, cluster.name);
        retry = true;
        break;
      }
      if (policy_retry(policy && policy->retries_reset(), true)) {
        PORTICO_LOG_WARN("upstream {} ({}) closed the connection before a response head; retrying",
                         ep.key, cluster.name);
        retry = true;
        break;
      }
      ctx_.stats.upstream_bad_responses.add();
      PORTICO_LOG_WARN("upstream {} ({}) closed the connection before responding", ep.key, cluster.name);
      set_upstream_error(502, "An invalid response was received from the upstream server");
      break;
    }
    if (retry) {
      up->stream.close();
      continue;
    }
    if (!got_head) {
      up->stream.close();
      co_return co_await send_local_reply(!body_consumed_);
    }
    observe(upstream::classify_passive(cluster.health_check.passive, resp_head_.status));
    trace_attempt.finish(resp_head_.status);
    if (resp_head_.status == 101) {
      up->stream.close();
      set_upstream_error(502, "protocol upgrade is not supported");
      co_return co_await send_local_reply(true);
    }
    if (policy && policy->retries_status(resp_head_.status)) {
      // Decided from the head alone, before any byte of it reaches the client. Retry-After on a
      // 503 or 429 sets the wait; one beyond max_interval means the upstream asks for more time
      // than the policy allows, so that response is the answer.
      std::optional<std::chrono::milliseconds> wait;
      bool allowed = true;
      if (resp_head_.status == 503 || resp_head_.status == 429) {
        for (const auto& h : resp_head_.headers) {
          if (!http::iequals(h.name, "retry-after")) continue;
          wait = parse_retry_after(h.value, std::time(nullptr));
          if (wait && *wait > policy->max_interval) allowed = false;
          break;
        }
      }
      if (allowed && policy_retry(true, true, wait)) {
        PORTICO_LOG_DEBUG("upstream {} ({}) answered {}; retrying", ep.key, cluster.name,
                          resp_head_.status);
        // The response's body is not wanted: closing beats reading an unknown amount of it.
        up->stream.close();
        continue;
      }
    }
    x_.timings.first_byte = core::MonoClock::now();
    bool reusable = false;
    bool keep = co_await stream_response(*up, route, cluster, reusable);
    active_upstream_ = nullptr;
    if (reusable && body_consumed_) {
      up->requests++;
      ctx_.pool.release(std::move(up));
    } else {
      up->stream.close();
    }
    co_return keep;
  }
}

runtime::Task<bool> Http1Session::wait_before_retry(std::chrono::milliseconds wait) {
  asio::steady_timer timer(ctx_.io(), wait);
  retry_timer_ = &timer;
  auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  retry_timer_ = nullptr;
  co_return !ec;
}

runtime::Task<IoStatus> Http1Session::hold_request_body() {
  auto& in = down_.in();
  const size_t head_size = parser_.head_size();
  if (head_.expect_continue && body_pos_ == in.size()) {
    // The client waits for our go-ahead; as in send_request, the upstream never sees Expect.
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    IoStatus io = co_await down_.write(asio::buffer(kContinue.data(), kContinue.size()),
                                       ctx_.limits().client_body_timeout);
    if (io != IoStatus::kOk) co_return io;
  }
  held_body_.clear();
  while (!body_consumed_) {
    while (body_pos_ < in.size()) {
      auto step = request_body_.decode(in.view().substr(body_pos_));
      body_pos_ += step.consumed;
      if (step.error != codec::http1::ParseError::kNone) {
        ctx_.stats.bad_requests.add();
        set_upstream_error(codec::http1::status_for(step.error), codec::http1::describe(step.error));
        co_return IoStatus::kError;
      }
      held_body_.append(step.data);
      if (x_.max_body_bytes && held_body_.size() > x_.max_body_bytes) {
        set_upstream_error(413, "Request size limit exceeded");
        co_return IoStatus::kError;
      }
      if (step.done) {
        body_consumed_ = true;
        break;
      }
      if (step.consumed == 0 && step.data.empty()) break;
    }
    x_.bytes_received += body_pos_ - head_size;
    in.erase(head_size, body_pos_);
    body_pos_ = head_size;
    if (body_consumed_) break;
    IoStatus io = down_.read_now(true);
    if (io == IoStatus::kWouldBlock) io = co_await down_.read_async(ctx_.limits().client_body_timeout, true);
    if (io != IoStatus::kOk) {
      if (io == IoStatus::kTimeout) {
        set_upstream_error(408, "request timeout");
      } else {
        set_upstream_error(400, "request body incomplete");
      }
      co_return io;
    }
  }
  body_held_ = true;
  co_return IoStatus::kOk;
}

runtime::Task<bool> Http1Session::stream_response(upstream::UpstreamConnection& up,
                                                  const router::Route& route,
                                                  const upstream::Cluster& cluster,
                                                  bool& upstream_reusable) {
  upstream_reusable = false;
  auto& resp = x_.response;
  resp.status = resp_head_.status;
  resp.reason = resp_head_.reason;
  // A cookie minted for `hash_on: cookie` replaces an upstream cookie of the same name, as Kong's
  // does; it is in place before the response filters run (Kong sets it first in header_filter).
  const std::string_view minted_cookie =
      upstream::mints_cookie(cluster.hash) ? minted_hash_cookie(x_.reply.headers, cluster.hash.hash_on_cookie)
                                           : std::string_view();
  std::string_view prior_via;
  for (const auto& h : resp_head_.headers) {
    if (is_hop_by_hop(h.name) || iequals_any(h.name, resp_head_.connection_tokens)) continue;
    if (http::iequals(h.name, "content-length")) continue;
    if (h.name.size() == 3 && http::iequals(h.name, "via")) {
      prior_via = h.value;
      continue;
    }
    if (!minted_cookie.empty() && http::iequals(h.name, "set-cookie") &&
        sets_cookie(h.value, cluster.hash.hash_on_cookie)) {
      continue;
    }
    resp.headers.add(h.name, h.value);
  }
  if (!minted_cookie.empty()) resp.headers.add("Set-Cookie", minted_cookie);
  if (!x_.response_fields.empty()) {
    // The gateway's fields replace the upstream's of the same name: one pass over the response.
    resp.headers.remove_if([&](const http::HeaderMap::Field& f) { return x_.response_fields.contains(f.name); });
    for (const auto& h : x_.response_fields) resp.headers.add(h.name, h.value);
  }

  auto t0 = core::MonoClock::now();
  for (const filter::Filter* f : chain_->on_response()) {
    filter::Step step = f->on_response(x_);
    filter::Verdict v = step.ready() ? step.verdict() : co_await wait_for_filter(step, f);
    if (v.kind == filter::Verdict::Kind::kContinue) continue;
    if (v.kind == filter::Verdict::Kind::kError) http::set_json_error(x_.reply, v.status, v.message);
    break;
  }
  const double response_filters = core::ms_between(t0, core::MonoClock::now());
  x_.timings.filter_ms += response_filters;
  x_.timings.response_filters_ms += response_filters;
  if (x_.reply.active()) co_return co_await send_local_reply(!body_consumed_);

  std::vector<std::unique_ptr<filter::BodyTransform>> transforms;
  for (const filter::Filter* f : chain_->wrap_response_body()) {
    if (auto t = f->wrap_response_body(x_)) transforms.push_back(std::move(t));
  }

  const bool head_request = x_.request.method == "HEAD";
  const bool no_body = resp_head_.framing == Framing::kNone;
  const bool client_11 = head_.version_minor == 1;
  bool chunked_out = false;
  if (!no_body) {
    if (!transforms.empty() || resp_head_.framing != Framing::kContentLength) {
      if (client_11) {
        chunked_out = true;
      } else {
        close_after_ = true;  // HTTP/1.0: the body ends with the connection
      }
    }
  }

  out_.clear();
  codec::http1::write_status_line(out_, resp.status, resp.reason);
  for (const auto& h : resp.headers) codec::http1::write_header(out_, h.name, h.value);
  if (prior_via.empty()) {
    codec::http1::write_header(out_, "Via", kViaToken);
  } else {
    out_.append("Via: ");
    out_.append(prior_via);
    out_.append(", ");
    out_.append(kViaToken);
    out_.append(kCrlf);
  }
  if (chunked_out) {
    out_.append("Transfer-Encoding: chunked\r\n");
  } else if (resp_head_.framing == Framing::kContentLength ||
             (no_body && head_request && resp_head_.content_length > 0)) {
    if (transforms.empty()) write_number_header(out_, "Content-Length", resp_head_.content_length);
  }
  if (close_after_ || ctx_.draining()) {
    close_after_ = true;
    out_.append("Connection: close\r\n");
  } else if (!client_11) {
    out_.append("Connection: keep-alive\r\n");
  }
  append_latency_headers(out_, true);
  codec::http1::end_head(out_);

  auto& uin = up.stream.in();
  const size_t head_size = up.parser.head_size();
  response_body_.start(resp_head_.framing, resp_head_.content_length);
  size_t pos = head_size;
  SpanBatch batch;
  std::vector<std::string> transformed;
  if (!transforms.empty()) transformed.resize(transforms.size() + 1);
  bool first = true;
  bool done = response_body_.done();
  bool failed = false;
  response_started_ = true;
  x_.status_sent = resp.status;

  // Runs `data` through every transform; returns what the last one produced.
  auto transform = [&](std::string_view data, bool end) -> std::string_view {
    std::string_view cur = data;
    for (size_t i = 0; i < transforms.size(); ++i) {
      transformed[i].clear();
      if (!cur.empty()) transforms[i]->on_data(cur, transformed[i]);
      if (end) transforms[i]->on_end(transformed[i]);
      cur = transformed[i];
    }
    return cur;
  };

  for (;;) {
    batch.clear();
    if (first) batch.add(out_.view());
    std::string_view trailers;
    bool need_more = false;  // the decoder waits for bytes that are not buffered yet
    while (!done && pos < uin.size() && !batch.full() && transforms.empty()) {
      auto step = response_body_.decode(uin.view().substr(pos));
      pos += step.consumed;
      if (step.error != codec::http1::ParseError::kNone) {
        failed = true;
        break;
      }
      if (chunked_out) {
        batch.add_chunk(step.data);
      } else {
        batch.add(step.data);
      }
      if (step.done) {
        done = true;
        trailers = step.trailers;
        break;
      }
      if (step.consumed == 0 && step.data.empty()) {
        need_more = true;
        break;
      }
    }
    if (!transforms.empty() && !done && pos < uin.size()) {
      // Transformed bodies go one decoded span at a time through the transforms' own buffers.
      auto step = response_body_.decode(uin.view().substr(pos));
      pos += step.consumed;
      if (step.error != codec::http1::ParseError::kNone) failed = true;
      done = step.done;
      if (step.consumed == 0 && step.data.empty() && !done) need_more = true;
      std::string_view outv = transform(step.data, done);
      if (chunked_out) batch.add_chunk(outv); else batch.add(outv);
    }
    if (done && chunked_out) {
      batch.add(kLastChunk);
      if (client_11) batch.add(trailers);
      batch.add(kCrlf);
    }
    if (!batch.empty() && !head_request) {
      size_t written = 0;
      IoStatus io = down_.write_now(batch.buffers(), written);
      if (io == IoStatus::kWouldBlock) {
        io = co_await down_.write_rest(batch.buffers(), written, ctx_.limits().client_body_timeout);
      }
      if (io != IoStatus::kOk) {
        failed = true;
        close_after_ = true;
        break;
      }
    } else if (first && head_request) {
      IoStatus io = co_await down_.write(asio::const_buffer(out_.data(), out_.size()), ctx_.limits().client_body_timeout);
      if (io != IoStatus::kOk) {
        failed = true;
        close_after_ = true;
        break;
      }
    }
    x_.bytes_sent += (first ? out_.size() : 0) + (pos - head_size);
    uin.erase(head_size, pos);
    pos = head_size;
    first = false;
    if (failed || done) break;
    if (!need_more && pos < uin.size()) continue;  // the batch was full
    IoStatus io = up.stream.read_now(true);
    if (io == IoStatus::kWouldBlock) {
      std::chrono::milliseconds timeout = cluster.read_timeout;
      if (upstream_deadline_ != core::MonoTime::max()) {
        // The route `timeout` covers the whole response, body included.
        auto left = std::chrono::ceil<std::chrono::milliseconds>(upstream_deadline_ - core::MonoClock::now());
        timeout = std::max(std::chrono::milliseconds(1), std::min(timeout, left));
      }
      io = co_await up.stream.read_async(timeout, true);
    }
    if (io == IoStatus::kEof) {
      if (response_body_.finish_eof()) {
        done = true;
        if (!transforms.empty()) {
          std::string_view outv = transform({}, true);
          batch.clear();
          if (chunked_out) batch.add_chunk(outv); else batch.add(outv);
          if (chunked_out) {
            batch.add(kLastChunk);
            batch.add(kCrlf);
          }
          co_await down_.write(batch.buffers(), ctx_.limits().client_body_timeout);
        } else if (chunked_out) {
          batch.clear();
          batch.add(kLastChunk);
          batch.add(kCrlf);
          co_await down_.write(batch.buffers(), ctx_.limits().client_body_timeout);
        }
        break;
      }
      failed = true;
      break;
    }
    if (io != IoStatus::kOk) {
      if (io == IoStatus::kTimeout) ctx_.stats.upstream_timeouts.add();
      failed = true;
      break;
    }
  }
  count_response(resp.status);
  if (failed) {
    // The response head is out: the only honest signal left is closing the connection.
    PORTICO_LOG_WARN("upstream {} ({}) response body failed after {} bytes", x_.upstream_address,
                     cluster.name, response_body_.body_bytes());
    close_after_ = true;
    co_return false;
  }
  upstream_reusable = resp_head_.keep_alive && response_body_.done() && uin.size() == head_size;
  uin.clear();
  co_return !close_after_;
}

}  // namespace portico::proxy
