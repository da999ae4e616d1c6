// The AWS half of DownstreamConnection: hands the request to an AWS backend (dataplane/aws/),
// waits in kAwsWaiting while the worker loop talks to S3, and writes the answer. The backend
// logic itself lives in dataplane/aws; this file is only the session glue.
#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "dataplane/http/forwarding.h"
#include "dataplane/proxy/http_session.h"
#include "dataplane/proxy/worker.h"

namespace edgerouter::proxy {
namespace {

// API Gateway gives every request an id; a random UUID-shaped one serves the same purpose.
void NewRequestId(std::string* out) {
  thread_local absl::InsecureBitGen gen;
  const uint64_t a = absl::Uniform<uint64_t>(gen), b = absl::Uniform<uint64_t>(gen);
  *out = absl::StrFormat("%08x-%04x-4%03x-%04x-%012x", a >> 32, (a >> 16) & 0xffff, a & 0xfff,
                         0x8000 | ((b >> 48) & 0x3fff), b & 0xffffffffffffULL);
}

}  // namespace

void DownstreamConnection::StartS3(const aws::S3SiteConfig& site, const std::string& path) {
  state_ = State::kAwsWaiting;
  req_.upstream_label = absl::StrCat("s3://", site.bucket);
  req_.lambda_config = nullptr;  // S3 reads no request body
  if (s3_ == nullptr) s3_ = std::make_unique<aws::S3Exchange>();
  const http::RequestHead& h = head_;
  // S3 gets no fields, but reads the conditionals only where any backend would get them.
  const http::ForwardingContext ctx{&req_.client, secure_, req_.strip_authorization, /*keep_message_fields=*/false};
  const http::ForwardedFields fields(h, ctx);
  auto value = [&fields](absl::string_view name) {
    const http::Header* header = fields.Find(name);
    return header != nullptr ? header->value : absl::string_view();
  };
  aws::S3RequestInfo info;
  info.method = h.method;
  info.path = path;
  info.original_path = h.path;
  info.query = h.query;
  info.if_none_match = value("If-None-Match");
  info.if_modified_since = value("If-Modified-Since");
  info.range = value("Range");
  info.if_range = value("If-Range");
  req_.aws_sync = true;
  s3_->Start(&worker_->aws(), site, info, this);
  req_.aws_sync = false;
}

void DownstreamConnection::StartLambda(const aws::LambdaConfig& function, const std::string& path) {
  state_ = State::kAwsWaiting;
  req_.upstream_label = absl::StrCat("lambda:", function.function_name);
  if (lambda_ == nullptr) lambda_ = std::make_unique<aws::LambdaExchange>();
  req_.lambda_config = &function;
  // Everything the event needs is copied now: reading the body moves the head's buffer.
  const http::RequestHead& h = head_;
  aws::LambdaRequest& r = lambda_->request();
  r.method.assign(h.method.data(), h.method.size());
  r.path = path;
  r.query.assign(h.query.data(), h.query.size());
  r.headers.clear();
  // An event carries the whole message: Host and Content-Length as the client sent them (as
  // API Gateway does).
  const http::ForwardingContext ctx{&req_.client, secure_, req_.strip_authorization, /*keep_message_fields=*/true};
  const pipeline::RequestHeaderEdit* edit = req_.request_edit;
  http::ForwardedFields(h, ctx).ForEach([&r, edit](absl::string_view name, absl::string_view value) {
    if (edit == nullptr || !edit->Removes(name)) r.headers.emplace_back(std::string(name), std::string(value));
  });
  if (edit != nullptr) {
    for (const auto& [name, value] : edit->add) r.headers.emplace_back(name, value);
  }
  r.host = req_.host;
  r.source_ip = req_.client.ip;
  r.protocol = req_.http10 ? "HTTP/1.0" : "HTTP/1.1";
  NewRequestId(&r.request_id);
  r.time = absl::Now();
  r.body.clear();
  const size_t max = worker_->aws().settings().lambda_max_request_bytes;
  if (req_.body_framing == http::BodyFraming::kContentLength && req_.body_remaining > max) {
    closing_after_response_ = true;
    SendLocal(413, "text/plain; charset=utf-8", absl::StrCat("request body larger than ", max, " bytes\n"));
    return;
  }
  if (req_.expect_continue && !req_.body_done) {
    out_.Append("HTTP/1.1 100 Continue\r\n\r\n");
    req_.expect_continue = false;
    if (!FlushToClient()) return;
  }
  req_.aws_sync = true;
  PumpAwsBody();
  req_.aws_sync = false;
}

void DownstreamConnection::StartDeferred(std::unique_ptr<pipeline::DeferredResponse> response) {
  state_ = State::kAwsWaiting;
  req_.lambda_config = nullptr;  // reads no request body
  deferred_ = std::move(response);
  // Turbocharger serves its own precompressed (content-addressed) gzip: left as it is.
  req_.compress_coding = policies::compress::Coding::kIdentity;
  req_.upstream_label = deferred_->label();
  req_.aws_sync = true;
  deferred_->Start(worker_->loop(), worker_->aws(), *this);
  req_.aws_sync = false;
}

void DownstreamConnection::PumpAwsBody() {
  if (state_ != State::kAwsWaiting || req_.lambda_config == nullptr) return;
  std::string& body = lambda_->request().body;
  const size_t max = worker_->aws().settings().lambda_max_request_bytes;
  int error_status = 0;
  std::string error;
  while (!req_.body_done && !in_.empty()) {
    absl::string_view available = in_.view();
    size_t n = 0;
    if (req_.body_framing == http::BodyFraming::kContentLength) {
      n = std::min<uint64_t>(available.size(), req_.body_remaining);
      body.append(available.data(), n);
      req_.body_remaining -= n;
      req_.body_done = req_.body_remaining == 0;
    } else if (req_.body_framing == http::BodyFraming::kUntilStreamEnd) {
      n = available.size();
      body.append(available.data(), n);
    } else {
      n = req_.body_chunks.Feed(available, [&body](absl::string_view data) { body.append(data.data(), data.size()); });
      if (req_.body_chunks.state() == http::ChunkedDecoder::State::kError) {
        worker_->stats().parse_errors++;
        error_status = 400;
        error = absl::StrCat(req_.body_chunks.error(), "\n");
        break;
      }
      req_.body_done = req_.body_chunks.state() == http::ChunkedDecoder::State::kDone;
    }
    in_.Consume(n);
    if (body.size() > max) {
      error_status = 413;
      error = absl::StrCat("request body larger than ", max, " bytes\n");
      break;
    }
  }
  if (error_status != 0) {
    closing_after_response_ = true;
    in_.Clear();
    SendLocal(error_status, "text/plain; charset=utf-8", error);
    if (!req_.aws_sync && FlushToClient() && state_ != State::kClosed) {
      if (out_.empty()) {
        FinishRequest();
      } else {
        UpdateClientInterest();
      }
    }
    return;
  }
  if (!req_.body_done && req_.body_framing == http::BodyFraming::kUntilStreamEnd && in_.empty() &&
      port_ != nullptr && port_->RequestEnded()) {
    req_.body_done = true;
  }
  if (!req_.body_done) return;  // more to come: OnReadable calls again
  lambda_->Invoke(&worker_->aws(), *req_.lambda_config, this);
}

void DownstreamConnection::CancelAws() {
  if (s3_ != nullptr) s3_->Cancel();
  if (lambda_ != nullptr) lambda_->Cancel();
  if (deferred_ != nullptr) deferred_->Cancel();
}

// The turbocharger middleware learns from every function response, as from origin responses.
void DownstreamConnection::ObserveLambdaTurbocharger(const aws::LambdaConfig& function, const aws::AwsResponse& r) {
  if (function.turbocharger->OnOriginResponse(lambda_->request().path, r.status, r.Field("turbocharger"), absl::Now())) {
    const std::optional<turbocharger::Advertisement> now = function.turbocharger->current();
    log::Info(now.has_value() ? "turbocharger attached" : "turbocharger detached")
        .Kv("app", function.app_id)
        .Kv("prefix", now.has_value() ? now->prefix : "")
        .Kv("manifest", now.has_value() ? now->manifest_id : "");
  }
}

void DownstreamConnection::OnAwsResponse(const aws::AwsResponse& r) {
  state_ = State::kLocalResponse;
  if (req_.lambda_config != nullptr && req_.lambda_config->turbocharger != nullptr) {
    ObserveLambdaTurbocharger(*req_.lambda_config, r);
  }
  req_.lambda_config = nullptr;
  req_.status = r.status;
  // A request body we did not read cannot be skipped on a keep-alive connection.
  if (!req_.body_done || !req_.keep_alive || draining_) closing_after_response_ = true;
  // A function may answer any status; one we have no phrase for gets none (RFC 9112 allows it).
  const absl::string_view reason = StatusReason(r.status);
  std::string head = absl::StrCat("HTTP/1.1 ", r.status, " ", reason == "Unknown" ? "" : reason, "\r\n");
  // policies.compress: the same decision and encoder as proxied responses (proxy_response.cc).
  const bool compressed = StartCompressionOfLines(r.status, r.headers, r.send_length, r.body.size());
  AppendResponseLines(r.status, r.headers, &head);
  if (compressed) {
    head += "Transfer-Encoding: chunked\r\n";
  } else if (r.send_length) {
    absl::StrAppend(&head, "Content-Length: ", r.body.size(), "\r\n");
  }
  absl::StrAppend(&head, ConnectionField(), "\r\n");
  out_.Append(head);
  if (compressed) {
    req_.response_done = true;  // the whole body is here: CompressBody ends the stream
    if (!CompressBody(r.body, false)) {
      Close();
      return;
    }
  } else if (!req_.head_request && r.send_length) {
    out_.Append(r.body);
    req_.response_bytes = r.body.size();
  }
  if (req_.aws_sync) return;  // ProcessInput flushes and finishes local responses itself
  // Asynchronous completion: continue the way OnIo does after a local response. An HTTP/2
  // stream may end (and close this exchange) during the write itself.
  if (!FlushToClient() || state_ == State::kClosed) return;
  if (out_.empty()) {
    FinishRequest();
    if (state_ == State::kWaitingRequest) ProcessInput();
    return;
  }
  UpdateClientInterest();
}

}  // namespace edgerouter::proxy
