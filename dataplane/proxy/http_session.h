// One client connection speaking HTTP/1.1: reads a request head, routes it (edgerouter order),
// answers locally (redirects, auth, admin, metrics, errors) or proxies it to an origin with
// both bodies streamed under backpressure, then loops for the next keep-alive request.
// WebSocket and other upgrades become a byte tunnel once the origin answers 101.
#ifndef EDGEROUTER_DATAPLANE_PROXY_HTTP_SESSION_H_
#define EDGEROUTER_DATAPLANE_PROXY_HTTP_SESSION_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/types/span.h"
#include "dataplane/aws/lambda_backend.h"
#include "dataplane/aws/s3_site.h"
#include "dataplane/http/forwarding.h"
#include "common/http/http1_parser.h"
#include "dataplane/net/event_loop.h"
#include "dataplane/pipeline/chain.h"
#include "dataplane/pipeline/exchange.h"
#include "dataplane/policies/compress/compress.h"
#include "dataplane/proxy/io_buffer.h"
#include "dataplane/proxy/runtime_config.h"
#include "dataplane/proxy/upstream.h"
#include "dataplane/tls/transport.h"

namespace edgerouter::proxy {

class Worker;
class H2Connection;

// The client side of one HTTP/2 stream (h2_connection.h). A DownstreamConnection made with a
// port serves exactly one request through it instead of a socket: the request arrives decoded
// (the same http::RequestHead the HTTP/1.1 parser fills) with its body as the DATA bytes
// received, and the response leaves as HTTP/1.1 bytes or, for proxied responses, a parsed head.
class StreamPort {
 public:
  virtual ~StreamPort() = default;
  // The decoded request head: kDone, or kError with `error` set (answered as an HTTP/1.1
  // parse error is). Its views stay valid until ExchangeClosed.
  virtual http::ParseStatus ReadRequestHead(http::RequestHead* head, http::ParseError* error) = 0;
  // Moves pending request body bytes into `in`: >0 moved, -1 none yet.
  virtual ssize_t ReadRequest(IoBuffer* in) = 0;
  // The request body has ended (END_STREAM) and every byte of it was moved.
  virtual bool RequestEnded() const = 0;
  // Takes what it can of `out` (HTTP/1.1 response bytes); false when the stream is gone.
  virtual bool WriteResponse(IoBuffer* out) = 0;
  // The connection started wanting request bytes again (backpressure released).
  virtual void InputWanted() = 0;
  // The exchange is over (response written, or aborted); no more calls follow.
  virtual void ExchangeClosed() = 0;
  // A proxied response head, handed over parsed instead of as HTTP/1.1 bytes (saves the
  // port a serialise/parse round trip per response). `headers` carry no hop-by-hop fields; the
  // body bytes WriteResponse gets next keep the origin's `framing`. False: not taken, write
  // the head as HTTP/1.1 instead.
  virtual bool TakeResponseHead(int status, absl::Span<const http::Header> headers, http::BodyFraming framing,
                                uint64_t content_length) {
    return false;
  }
};

// What one request on a connection (an HTTP/1.1 request, or an HTTP/2 stream) has decided and
// seen so far, from its decoded head to its response: one value, so a new request starts from
// defaults (Reset) and nothing leaks from the previous one. The decoded head itself
// (http::RequestHead, views into the connection's input) is only valid while the request is
// dispatched; what is needed later is copied here.
//
// The plain values (RequestValues) are reset by assignment; the text buffers are emptied in
// place, keeping their capacity (no allocation per keep-alive request or pooled HTTP/2 stream,
// and no string moves: a reset is a few dozen stores).
struct RequestValues {
  // Client side.
  const RuntimeConfig* config = nullptr;  // referenced while the request runs
  int64_t start_ns = 0;
  int status = 0;
  uint64_t response_bytes = 0;
  bool head_request = false;
  bool keep_alive = true;
  bool expect_continue = false;
  bool upgrade = false;
  bool http10 = false;  // the client speaks HTTP/1.0
  http::BodyFraming body_framing = http::BodyFraming::kNone;
  uint64_t body_remaining = 0;  // Content-Length bytes still to forward
  http::ChunkedDecoder body_chunks;
  uint64_t body_counted = 0;  // body bytes of a chunked or stream-delimited request so far
  bool body_done = true;
  bool strip_authorization = false;  // auth_v0 accepted the token: don't forward it
  const pipeline::Chain* chain = nullptr;  // the app's chain, once routed (its response stages)
  const pipeline::RequestHeaderEdit* request_edit = nullptr;  // a headers policy's, for the backend

  // Origin side.
  const backends::ProxyTarget* backend = nullptr;
  OriginSet* origins = nullptr;
  int origin_index = -1;
  int attempts = 0;
  bool sent_any_body = false;
  bool response_head_done = false;
  http::BodyFraming response_framing = http::BodyFraming::kNone;
  uint64_t response_remaining = 0;
  http::ChunkedDecoder response_chunks;
  bool dechunk_for_http10 = false;  // chunked from the origin, the client speaks HTTP/1.0
  bool response_done = false;
  bool upstream_eof = false;
  bool upstream_write_failed = false;  // the origin stopped taking the request: send no more
  int sticky_index = -1;               // origin named by the sticky cookie (-1: none or unknown)
  bool set_sticky = false;             // the response gets RequestState::sticky_cookie
  bool retry_in_flight = false;        // counted in OriginSet::retries_in_flight (retry budget)
  bool retry_fresh = false;            // the retry waiting for its backoff wants a new connection
  bool upstream_paused = false;  // the last origin read was short: nothing more queued there

  // policies.compress: the policy and the coding the request negotiated (kIdentity: none).
  const policies::compress::Policy* compress = nullptr;
  policies::compress::Coding compress_coding = policies::compress::Coding::kIdentity;

  // AWS backends.
  const aws::LambdaConfig* lambda_config = nullptr;
  bool aws_sync = false;  // inside StartS3: the response is written by HandleRequest's caller
};

struct RequestState : RequestValues {
  std::string method, host, raw_target, app_id;  // host: normalised; raw_target: as received
  http::ClientAddress client;                     // who the client is (X-Forwarded-For, access log)
  std::string upstream_path;     // path?query as the origin sees it (before its own prefix)
  std::string upstream_headers;  // forwarded header block, built once per request
  std::string client_host_header;
  std::string upstream_error;
  std::string upstream_label;
  // Port mode: scratch for the head TakeResponseHead gets, filled by index per response (its
  // size is only ever grown; Reset leaves it alone).
  std::vector<http::Header> forwarded_response_fields;
  std::string sticky_cookie;  // Set-Cookie value, valid while set_sticky
  pipeline::ResponseHeadEdit response_edit;  // what the response stages changed in the head
  // Set when the response is being compressed (policies/compress): the body leaves through it.
  std::unique_ptr<policies::compress::ResponseCompressor> compressor;

  // Back to a new request's defaults.
  void Reset();
};

const char* StatusReason(int status);

// The connection frames the message (Content-Length and the hop-by-hop fields): response
// stages neither remove nor add those.
bool ResponseStageMayEdit(absl::string_view name);

class DownstreamConnection final : public net::IoHandler,
                                   public net::TimerTarget,
                                   public UpstreamOwner,
                                   public aws::AwsResponder,
                                   public pipeline::Exchange {
 public:
  // `tls_base`: the worker's TLS context for an HTTPS listener socket, null for plain HTTP.
  DownstreamConnection(Worker* worker, int fd, const sockaddr_storage& peer, SSL_CTX* tls_base);
  // One HTTP/2 stream of `parent`'s connection (see StreamPort).
  DownstreamConnection(Worker* worker, StreamPort* port, const DownstreamConnection& parent);
  // Port mode: makes a closed stream connection serve another stream, keeping its buffers'
  // capacity (Worker pools them: no allocation per HTTP/2 request in the steady state).
  void Rebind(StreamPort* port, const DownstreamConnection& parent);
  ~DownstreamConnection() override;
  void Start();
  // Ends the exchange now (HTTP/2 stream reset or connection gone); in-flight work is counted 499.
  void Abort() { Close(); }
  // Port mode: whether request bytes would be read now (false: backpressure).
  bool wants_input() const { return (watched_ & EPOLLIN) != 0; }
  // Graceful drain: close now if idle, otherwise after the current response.
  void Drain();

  void OnIo(uint32_t events) override;
  net::ReadTarget ReadAheadTarget() override;
  void OnReadAhead(ssize_t result) override;
  net::WriteSource PendingWrite() override;
  void OnWritten(ssize_t result) override;
  void OnTimer(int kind) override;
  void OnUpstreamIo(UpstreamConnection* conn, uint32_t events) override;
  net::ReadTarget UpstreamReadTarget(UpstreamConnection* conn) override;
  void OnUpstreamReadAhead(ssize_t result) override;
  net::WriteSource UpstreamPendingWrite(UpstreamConnection* conn) override;
  void OnUpstreamWritten(UpstreamConnection* conn, ssize_t result) override;
  void OnUpstreamTimer(UpstreamConnection* conn, int kind) override;
  void OnAwsResponse(const aws::AwsResponse& response) override;

 private:
  friend class H2Connection;
  friend class Worker;  // ReadSoon
  // kAwsWaiting: an AWS backend (aws_flow.cc) is waiting for S3/Lambda on the worker loop.
  enum class State {
    kHandshake, kWaitingRequest, kReadingHead, kLocalResponse, kProxying, kTunnel, kH2, kAwsWaiting, kClosed
  };
  // kRetryTimer: a retry waiting out its backoff (timer_ is free while proxying).
  // kBuffersTimer: buffers_timer_, a TLS connection idle long enough to give its record
  // buffers back.
  enum TimerKind { kHeaderTimer = 1, kIdleTimer = 2, kRetryTimer = 3, kBuffersTimer = 4 };

  // --- client side ---
  void DriveHandshake();
  // Hands the socket to an HTTP/2 connection (ALPN h2, or the h2c preface in `initial`).
  void StartH2(absl::string_view initial);
  // The client socket's reads, interest and writes (client_io.cc).
  void OnReadable();
  bool WantsBytes() const;  // OnReadable will read: a request (head, body or tunnel) is coming in
  ssize_t ReadSome();     // into in_: >0 bytes, 0 EOF, -1 would block, -2 error
  bool FlushToClient();   // false: fatal write error (connection closed)
  void UpdateClientInterest();
  void ProcessInput();
  void HandleRequest();
  void RecordRequest();  // metrics + access log of the current request
  void FinishRequest();  // after the response is fully written: next request or close
  void Close();

  // --- local responses (local_responses.cc) ---
  void SendLocal(int status, absl::string_view content_type, absl::string_view body,
                 absl::string_view extra_headers = "") override;
  void SendHttpsRedirect(absl::string_view host);
  void SendRedirect(int status, absl::string_view target) override;  // 3xx with Location and a link body
  // The rest of pipeline::Exchange: what the app's chain (AppRuntime::chain) reads and asks for.
  absl::string_view raw_path() const override;
  std::optional<absl::string_view> request_header(absl::string_view name) const override;
  absl::string_view client_ip() const override;
  absl::string_view raw_query() const override;
  const backends::IpRuleSet* ip_rules() const override;
  absl::string_view method() const override { return req_.method; }
  bool secure() const override { return secure_; }
  void StripAuthorization() override;
  void EditRequestHeaders(const pipeline::RequestHeaderEdit* edit) override { req_.request_edit = edit; }
  int worker_index() const override;
  int64_t now_ms() const override;
  void NoteRateLimited() override;
  std::shared_ptr<const std::string> MetricsText() override;
  const std::string& AdminPage() override;

  // --- response stages (response_stages.cc): the hook every response head passes ---
  bool HasResponseStages() const { return req_.chain != nullptr && req_.chain->has_response_stages(); }
  // Runs the stages on a head into req_.response_edit; false when they changed nothing.
  bool RunResponseStages(const pipeline::ResponseHeadView& head);
  // Whether a field of the head survives req_.response_edit (framing fields always do).
  bool KeepsResponseField(absl::string_view name) const;
  // A proxied head (both codecs): true when req_.response_edit holds edits to apply while the
  // fields are written (KeepsResponseField, then the edit's additions).
  bool EditedResponseFields(int status, absl::Span<const http::Header> fields);
  // A locally produced head's "Name: value\r\n" lines, edited, appended to `out`.
  void AppendResponseLines(int status, absl::string_view lines, std::string* out);
  // The Connection field of an HTTP/1.x response head (every kind of response): "close" when
  // the connection ends after it, "keep-alive" to an HTTP/1.0 client it stays open for, none
  // for HTTP/1.1 (persistence is its default).
  absl::string_view ConnectionField() const {
    if (closing_after_response_) return "Connection: close\r\n";
    return req_.http10 ? "Connection: keep-alive\r\n" : "";
  }

  // --- AWS backends (aws_flow.cc) ---
  void StartS3(const aws::S3SiteConfig& site, const std::string& path) override;
  void StartLambda(const aws::LambdaConfig& function, const std::string& path) override;
  void StartDeferred(std::unique_ptr<pipeline::DeferredResponse> response) override;
  void PumpAwsBody();  // buffers the request body for Lambda, invokes once complete
  bool AwsWantsBody() const {
    return state_ == State::kAwsWaiting && req_.lambda_config != nullptr && !req_.body_done;
  }
  void CancelAws();

  // --- proxying ---
  void StartProxy(const backends::ProxyTarget& backend, const std::string& path) override;
  void ObserveTurbocharger(int status);
  void NegotiateCompression(const policies::compress::Policy& policy);  // proxy_response.cc
  // At a response head (proxied, S3, Lambda): the compressor, when the request negotiated a
  // coding and the response is eligible. True: the head drops ResponseCompressor::Replaces
  // fields, adds its added_fields(), goes chunked, and the body goes through CompressBody.
  bool StartCompression(int status, absl::Span<const http::Header> fields, http::BodyFraming framing,
                        uint64_t length);
  bool StartCompressionOfLines(int status, absl::string_view lines, bool has_body, uint64_t length);
  bool CompressBody(absl::string_view data, bool flush);
  bool PumpCompressed(absl::string_view available);
  void ObserveLambdaTurbocharger(const aws::LambdaConfig& function, const aws::AwsResponse& r);
  void ConnectAttempt(bool fresh = false);  // fresh: not from the idle pool
  void StepTls();  // drives the origin TLS handshake
  void BuildUpstreamRequest(const std::string& path);
  void OnUpstreamConnected();
  void PumpRequestBody();
  bool FlushToUpstream();
  void OnUpstreamReadable();
  void HandleResponseHead();
  bool ResponseBodyless() const;
  void PumpResponseBody();
  void UpstreamFailed(int status, absl::string_view reason, bool connect_failure);
  // Another try after `failure` when backends::ShouldRetry says so (now, or after the retry
  // policy's backoff); false: the caller answers the failure.
  bool RetryAttempt(backends::AttemptFailure failure);
  void EndRetryInFlight();  // the retry (if any) no longer counts against the budget
  void ReleaseUpstream(bool reusable);
  void UpdateUpstreamInterest();
  void PumpTunnel();

  Worker* const worker_;
  int fd_;
  std::string peer_ip_;
  bool peer_trusted_ = false;  // the peer is one of --trusted_proxies
  tls::Transport transport_;
  SSL_CTX* tls_base_;
  bool secure_;  // https: TLS here, or --plain_is_https (X-Forwarded-Proto, no 307)
  StreamPort* port_ = nullptr;           // set: one HTTP/2 stream, no socket of its own
  std::unique_ptr<H2Connection> h2_;     // kH2: this socket speaks HTTP/2
  bool stream_over_tls_ = false;         // port mode: the parent connection is TLS
  State state_ = State::kWaitingRequest;
  bool closing_after_response_ = false;  // "Connection: close" semantics for this response
  bool draining_ = false;
  uint32_t watched_ = 0;
  bool read_soon_ = false;  // a Worker::ReadSoon event is on its way
  uint64_t serial_ = 0;     // unique per socket connection of a worker (ReadSoon's liveness check)
  net::Timer timer_;
  net::Timer buffers_timer_;  // TLS: armed from each request's (or stream's) end, kBuffersTimer
  net::ReadAhead read_ahead_;  // the loop's read of the client socket this turn (into in_)
  // out_ waits in the loop's batched send (EventLoop::SendSoon) / the last batched send left
  // bytes over, so out_ is written the plain way, on EPOLLOUT, until it is empty again.
  bool send_queued_ = false;
  bool send_blocked_ = false;

  IoBuffer in_;   // from the client
  IoBuffer out_;  // to the client
  http::RequestHead head_;
  http::ParseError parse_error_;
  http::HeadProgress head_progress_;  // of the request head being read (kReadingHead)

  RequestState req_;  // the request being served; Reset() when the next one starts

  // Origin side: the connection in use and its buffers (kept across requests).
  UpstreamConnection* upstream_ = nullptr;
  IoBuffer up_out_;
  IoBuffer up_in_;
  http::ResponseHead response_head_;
  http::HeadProgress response_progress_;  // of the response head being read

  // AWS backends: the exchange is kept across requests (its buffers too).
  std::unique_ptr<aws::S3Exchange> s3_;
  std::unique_ptr<aws::LambdaExchange> lambda_;
  std::unique_ptr<pipeline::DeferredResponse> deferred_;  // the last one started (kept until the next)
};

}  // namespace edgerouter::proxy

#endif  // EDGEROUTER_DATAPLANE_PROXY_HTTP_SESSION_H_
