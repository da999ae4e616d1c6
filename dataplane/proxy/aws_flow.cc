// The AWS half of DownstreamConnection: hands the request to an AWS backend (dataplane/aws/),
// waits in kAwsWaiting while the worker loop talks to S3, and writes the answer. The backend
// logic itself lives in dataplane/aws; this file is only the session glue.
#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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

void DownstreamConnection::StartS3(const BackendConfig& backend, const std::string& path) {
  state_ = State::kAwsWaiting;
  upstream_label_ = absl::StrCat("s3://", backend.s3.bucket);
  lambda_config_ = nullptr;  // S3 reads no request body
  if (s3_ == nullptr) s3_ = std::make_unique<aws::S3Exchange>();
  const http::RequestHead& h = head_;
  // S3 gets no fields, but reads the conditionals only where any backend would get them.
  const http::ForwardingContext ctx{&client_, secure_, strip_authorization_, /*keep_message_fields=*/false};
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
  aws_sync_ = true;
  s3_->Start(&worker_->aws(), backend.s3, info, this);
  aws_sync_ = false;
}

void DownstreamConnection::StartLambda(const BackendConfig& backend, const std::string& path) {
  state_ = State::kAwsWaiting;
  upstream_label_ = absl::StrCat("lambda:", backend.lambda.function_name);
  if (lambda_ == nullptr) lambda_ = std::make_unique<aws::LambdaExchange>();
  lambda_config_ = &backend.lambda;
  // Everything the event needs is copied now: reading the body moves the head's buffer.
  const http::RequestHead& h = head_;
  aws::LambdaRequest& r = lambda_->request();
  r.method.assign(h.method.data(), h.method.size());
  r.path = path;
  r.query.assign(h.query.data(), h.query.size());
  r.headers.clear();
  // An event carries the whole message: Host and Content-Length as the client sent them (as
  // API Gateway does).
  const http::ForwardingContext ctx{&client_, secure_, strip_authorization_, /*keep_message_fields=*/true};
  http::ForwardedFields(h, ctx).ForEach([&r](absl::string_view name, absl::string_view value) {
    r.headers.emplace_back(std::string(name), std::string(value));
  });
  r.host = host_;
  r.source_ip = client_.ip;
  r.protocol = http10_ ? "HTTP/1.0" : "HTTP/1.1";
  NewRequestId(&r.request_id);
  r.time = absl::Now();
  r.body.clear();
  const size_t max = worker_->aws().settings().lambda_max_request_bytes;
  if (request_framing_ == http::BodyFraming::kContentLength && request_remaining_ > max) {
    closing_after_response_ = true;
    SendLocal(413, "text/plain; charset=utf-8", absl::StrCat("request body larger than ", max, " bytes\n"));
    return;
  }
  if (expect_continue_ && !request_body_done_) {
    out_.Append("HTTP/1.1 100 Continue\r\n\r\n");
    expect_continue_ = false;
    if (!FlushToClient()) return;
  }
  aws_sync_ = true;
  PumpAwsBody();
  aws_sync_ = false;
}

void DownstreamConnection::PumpAwsBody() {
  if (state_ != State::kAwsWaiting || lambda_config_ == nullptr) return;
  std::string& body = lambda_->request().body;
  const size_t max = worker_->aws().settings().lambda_max_request_bytes;
  int error_status = 0;
  std::string error;
  while (!request_body_done_ && !in_.empty()) {
    absl::string_view available = in_.view();
    size_t n = 0;
    if (request_framing_ == http::BodyFraming::kContentLength) {
      n = std::min<uint64_t>(available.size(), request_remaining_);
      body.append(available.data(), n);
      request_remaining_ -= n;
      request_body_done_ = request_remaining_ == 0;
    } else if (request_framing_ == http::BodyFraming::kUntilStreamEnd) {
      n = available.size();
      body.append(available.data(), n);
    } else {
      n = request_chunks_.Feed(available, [&body](absl::string_view data) { body.append(data.data(), data.size()); });
      if (request_chunks_.state() == http::ChunkedDecoder::State::kError) {
        worker_->stats().parse_errors++;
        error_status = 400;
        error = absl::StrCat(request_chunks_.error(), "\n");
        break;
      }
      request_body_done_ = request_chunks_.state() == http::ChunkedDecoder::State::kDone;
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
    if (!aws_sync_ && FlushToClient() && state_ != State::kClosed) {
      if (out_.empty()) {
        FinishRequest();
      } else {
        UpdateClientInterest();
      }
    }
    return;
  }
  if (!request_body_done_ && request_framing_ == http::BodyFraming::kUntilStreamEnd && in_.empty() &&
      port_ != nullptr && port_->RequestEnded()) {
    request_body_done_ = true;
  }
  if (!request_body_done_) return;  // more to come: OnReadable calls again
  lambda_->Invoke(&worker_->aws(), *lambda_config_, this);
}

void DownstreamConnection::CancelAws() {
  if (s3_ != nullptr) s3_->Cancel();
  if (lambda_ != nullptr) lambda_->Cancel();
}

void DownstreamConnection::OnAwsResponse(const aws::AwsResponse& r) {
  state_ = State::kLocalResponse;
  lambda_config_ = nullptr;
  status_ = r.status;
  // A request body we did not read cannot be skipped on a keep-alive connection.
  if (!request_body_done_ || !request_keep_alive_ || draining_) closing_after_response_ = true;
  // A function may answer any status; one we have no phrase for gets none (RFC 9112 allows it).
  const absl::string_view reason = StatusReason(r.status);
  std::string head =
      absl::StrCat("HTTP/1.1 ", r.status, " ", reason == "Unknown" ? "" : reason, "\r\n", r.headers);
  if (r.send_length) absl::StrAppend(&head, "Content-Length: ", r.body.size(), "\r\n");
  if (closing_after_response_) {
    head += "Connection: close\r\n";
  } else if (http10_) {
    head += "Connection: keep-alive\r\n";
  }
  head += "\r\n";
  out_.Append(head);
  if (!head_request_ && r.send_length) {
    out_.Append(r.body);
    response_bytes_ = r.body.size();
  }
  if (aws_sync_) return;  // ProcessInput flushes and finishes local responses itself
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
