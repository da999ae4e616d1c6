// The AWS half of DownstreamConnection: hands the request to an AWS backend (dataplane/aws/),
// waits in kAwsWaiting while the worker loop talks to S3, and writes the answer. The backend
// logic itself lives in dataplane/aws; this file is only the session glue.
#include "absl/strings/str_cat.h"
#include "dataplane/proxy/http_session.h"
#include "dataplane/proxy/worker.h"

namespace edgerouter::proxy {

void DownstreamConnection::StartS3(const BackendConfig& backend, const std::string& path) {
  state_ = State::kAwsWaiting;
  upstream_label_ = absl::StrCat("s3://", backend.s3.bucket);
  if (s3_ == nullptr) s3_ = std::make_unique<aws::S3Exchange>();
  const http::RequestHead& h = head_;
  auto value = [&h](absl::string_view name) {
    const http::Header* header = h.Find(name);
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
  aws_sync_ = true;
  s3_->Start(&worker_->aws(), backend.s3, info, this);
  aws_sync_ = false;
}

void DownstreamConnection::CancelAws() {
  if (s3_ != nullptr) s3_->Cancel();
}

void DownstreamConnection::OnAwsResponse(const aws::AwsResponse& r) {
  state_ = State::kLocalResponse;
  status_ = r.status;
  // A request body we did not read cannot be skipped on a keep-alive connection.
  if (!request_body_done_ || !request_keep_alive_ || draining_) closing_after_response_ = true;
  std::string head = absl::StrCat("HTTP/1.1 ", r.status, " ", StatusReason(r.status), "\r\n", r.headers);
  if (r.send_length) absl::StrAppend(&head, "Content-Length: ", r.body.size(), "\r\n");
  if (closing_after_response_) {
    head += "Connection: close\r\n";
  } else if (version_minor_ == 0) {
    head += "Connection: keep-alive\r\n";
  }
  head += "\r\n";
  out_.Append(head);
  if (!head_request_ && r.send_length) {
    out_.Append(r.body);
    response_bytes_ = r.body.size();
  }
  if (aws_sync_) return;  // ProcessInput flushes and finishes local responses itself
  // Asynchronous completion: continue the way OnIo does after a local response.
  if (!FlushToClient()) return;
  if (out_.empty()) {
    FinishRequest();
    if (state_ == State::kWaitingRequest) ProcessInput();
    return;
  }
  UpdateClientInterest();
}

}  // namespace edgerouter::proxy
