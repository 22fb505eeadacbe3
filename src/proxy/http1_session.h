// Http1Session: one downstream HTTP/1.1 connection, driven request by request through the router,
// the filter chain and an upstream connection.
//
// Contract: created on a worker by the accept loop and run as one coroutine on that worker; it
// owns its socket, read buffer and (while a request is upstream) one upstream connection. Requests
// on a connection are handled one at a time, so pipelined requests are answered in order. Bodies
// stream in both directions: a body is read only as fast as the other side takes it.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <list>
#include <memory>
#include <string>

#include "codec/http1/body_decoder.h"
#include "codec/http1/request_parser.h"
#include "codec/http1/response_parser.h"
#include "core/clock.h"
#include "core/out_buffer.h"
#include "filter/exchange.h"
#include "proxy/worker_context.h"
#include "runtime/task.h"
#include "session/stream.h"
#include "session/tls_server.h"

namespace portico::proxy {

class Http1Session {
 public:
  // `tls`: the connection came in on a TLS listener; run() completes the handshake (with the
  // certificates of the snapshot current now) before reading the first request.
  Http1Session(WorkerContext& ctx, boost::asio::ip::tcp::socket socket, bool tls = false);
  ~Http1Session();
  Http1Session(const Http1Session&) = delete;
  Http1Session& operator=(const Http1Session&) = delete;

  runtime::Task<void> run();

  // Drain: closes the connection now when it waits for a request; otherwise it closes after the
  // response in progress.
  void on_drain();
  // End of grace period: closes the connection whatever it is doing.
  void abort();

 private:
  enum class HeadResult { kOk, kClosed, kRejected };

  runtime::Task<HeadResult> read_head();
  // TLS listener: the handshake, raced against client_header_timeout; false (counted by reason)
  // when it failed.
  runtime::Task<bool> accept_tls();
  runtime::Task<bool> handle_request();
  runtime::Task<bool> proxy_upstream(const config::Snapshot& snap, upstream::Balancer& balancer,
                                     const router::Route& route,
                                     size_t matched_len);
  runtime::Task<bool> send_local_reply(bool close_after);
  std::string_view gateway_owned_fields_removed(std::string_view raw_trailers, std::string& kept);
  std::string trailers_kept_;  // request trailers without gateway-owned fields (rarely used)
  // A filter hook that returned a task: awaits it and, for a traced request, records the wait as
  // a span named after the plugin (filter/trace_record.h).
  runtime::Task<filter::Verdict> wait_for_filter(filter::Step& step, const filter::Filter* f);
  runtime::Task<bool> discard_request_body();
  runtime::Task<void> send_error_and_close(int status, std::string_view message);
  void build_request();
  bool normalize_request_path();
  void redirect_to_https(const router::Route& route);
  void build_upstream_head(const router::Route& route, const upstream::Cluster& cluster,
                           size_t matched_len);
  runtime::Task<session::IoStatus> send_request(upstream::UpstreamConnection& up,
                                                const upstream::Cluster& cluster,
                                                std::chrono::milliseconds write_timeout,
                                                bool& client_failed);
  // Retry policy support: reads a small request body in full into held_body_ (kOk, or the client
  // failed and the reply is set), and sleeps between attempts (false when aborted).
  runtime::Task<session::IoStatus> hold_request_body();
  runtime::Task<bool> wait_before_retry(std::chrono::milliseconds wait);
  runtime::Task<bool> stream_response(upstream::UpstreamConnection& up, const router::Route& route,
                                      const upstream::Cluster& cluster, bool& upstream_reusable);
  void set_upstream_error(int status, std::string_view message);
  std::string_view hash_key(const upstream::Cluster& cluster);
  // The server name for TLS to `cluster`: the Host sent upstream without its port.
  std::string_view tls_server_name(const router::Route& route, const upstream::Cluster& cluster) const;
  // Attaches a TLS engine to a freshly connected upstream and runs the handshake.
  runtime::Task<session::IoStatus> start_upstream_tls(upstream::UpstreamConnection& up,
                                                      const upstream::Cluster& cluster, std::string_view name,
                                                      std::chrono::milliseconds timeout);
  void finish_log();
  // `portico.headers`: appends the latency headers (latency_tokens) and Server-Timing
  // (server_timing) for the response head being written now; `proxied`: the upstream answered.
  void append_latency_headers(core::OutBuffer& out, bool proxied);
  void count_response(int status);

  WorkerContext& ctx_;
  session::Stream down_;
  std::list<Http1Session*>::iterator registry_it_;
  codec::http1::RequestParser parser_;
  codec::http1::RequestHead head_;
  codec::http1::BodyDecoder request_body_;
  filter::Exchange x_;
  core::OutBuffer out_;          // response head being written to the client
  core::OutBuffer up_head_;      // request head being written upstream
  codec::http1::ResponseHead resp_head_;
  codec::http1::BodyDecoder response_body_;
  std::string client_ip_;
  std::string normalized_path_;  // scratch for normalize_path, reused
  std::string hash_scratch_;     // scratch for consistent-hashing keys
  std::string pool_key_;         // scratch for TLS connection pool keys, reused
  uint16_t client_port_ = 0;
  uint16_t server_port_ = 0;
  const router::Route* route_ = nullptr;
  // The filters this request runs: route_->chain, or consumer_chain_ once authentication named a
  // consumer that has plugins of its own.
  const filter::Chain* chain_ = nullptr;
  std::optional<filter::Chain> consumer_chain_;
  session::Stream* active_upstream_ = nullptr;  // the upstream in use, so abort() can cancel it  // the matched route of the current request, if any
  bool idle_ = true;             // waiting for a request head with nothing buffered
  bool close_after_ = false;     // connection must close after the current response
  bool body_consumed_ = false;   // the request body has been fully read
  bool response_started_ = false;
  size_t body_pos_ = 0;          // offset in down_.in() where unread request body bytes start
  // Retries (route retry_policy / timeout): the request body kept for replay (body_held_), the
  // route's deadline for the upstream exchange, and the back-off timer abort() must cancel.
  std::string held_body_;
  bool body_held_ = false;
  core::MonoTime upstream_deadline_ = core::MonoTime::max();
  boost::asio::steady_timer* retry_timer_ = nullptr;
  char request_id_[36];
  // TLS listener: the certificates the handshake used (kept with the connection), the server
  // name (lower-case; router::kTlsWithoutSni when none) and the verified client certificate as an
  // X-Forwarded-Client-Cert value (empty when none).
  bool tls_listener_ = false;
  std::shared_ptr<const session::TlsServerSet> tls_set_;
  int tls_certificate_ = -1;  // the certificate the handshake chose
  // misdirected()'s last verdict, by Host: keep-alive requests for the same Host reuse it.
  std::string misdirected_host_;
  bool misdirected_judged_ = false;  // misdirected_host_ holds a judged Host
  bool misdirected_ = false;
  // A TLS request whose Host selects a certificate with another client-certificate policy.
  bool misdirected();
  std::string sni_;
  std::string xfcc_;
  // The client certificate as request-time checks (mtls-auth) see it, with their cached verdicts.
  session::PeerCertificate peer_;
};

}  // namespace portico::proxy
