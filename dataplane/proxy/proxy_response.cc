// The proxying half of DownstreamConnection, client side: the origin's response head
// rewritten for the client (or handed to an HTTP/2 stream as is), the body relayed in its
// framing (de-chunked for HTTP/1.0) under backpressure, and the WebSocket/upgrade tunnel.
#include "absl/strings/str_cat.h"
#include "dataplane/http/field_names.h"
#include "dataplane/proxy/http_session.h"
#include "dataplane/proxy/worker.h"

namespace edgerouter::proxy {

void DownstreamConnection::HandleResponseHead() {
  while (!response_head_done_) {
    if (!response_progress_.ShouldParse(up_in_.view(), worker_->options().limits)) return;
    http::ParseError error;
    http::ParseStatus st =
        http::ParseResponseHead(up_in_.view(), method_, worker_->options().limits, &response_head_, &error);
    if (st == http::ParseStatus::kIncomplete) return;
    response_progress_.Reset();  // the next head (after a 1xx) starts at the front again
    if (st == http::ParseStatus::kError) {
      worker_->stats().origin(upstream_label_).protocol_errors++;
      UpstreamFailed(502, absl::StrCat("invalid response from upstream: ", error.reason), false);
      return;
    }
    const int status = response_head_.status;
    if (status == 101 && upgrade_requested_) {
      std::string head = absl::StrCat("HTTP/1.1 101 ", StatusReason(101), "\r\n");
      for (const http::Header& h : response_head_.headers) absl::StrAppend(&head, h.name, ": ", h.value, "\r\n");
      head += "\r\n";
      out_.Append(head);
      up_in_.Consume(response_head_.head_size);
      status_ = 101;
      state_ = State::kTunnel;
      net::TimerList::Disarm(&upstream_->timer);  // tunnels may idle for long
      PumpTunnel();
      return;
    }
    if (status >= 100 && status < 200) {  // interim responses are not forwarded
      up_in_.Consume(response_head_.head_size);
      continue;
    }
    status_ = status;
    if (status >= 500) {
      worker_->stats().origin(upstream_label_).status_5xx++;
      origins_->ReportFailure(origin_index_, worker_->loop().now_ms(), OriginSet::Failure::kStatus5xx);
    } else {
      origins_->ReportSuccess(origin_index_);
    }
    response_framing_ = response_head_.framing;
    response_remaining_ = response_head_.content_length;
    // HTTP/1.0 clients do not know chunked (RFC 9112 §6.1): they get the body de-chunked,
    // delimited by the end of the connection.
    dechunk_for_http10_ = response_framing_ == http::BodyFraming::kChunked && http10_;
    if (response_framing_ == http::BodyFraming::kUntilClose || !request_keep_alive_ || draining_ ||
        dechunk_for_http10_) {
      closing_after_response_ = true;
    }
    const auto nominated = http::ConnectionOptions::Of(response_head_.headers);
    if (port_ != nullptr) {
      forwarded_response_fields_.clear();
      for (const http::Header& h : response_head_.headers) {
        if (http::IsHopByHop(h.name) || nominated.Nominates(h.name)) continue;
        forwarded_response_fields_.push_back(h);
      }
      if (port_->TakeResponseHead(status, forwarded_response_fields_, response_framing_, response_remaining_)) {
        up_in_.Consume(response_head_.head_size);
        response_head_done_ = true;
        response_done_ = ResponseBodyless();
        continue;
      }
    }
    // Written straight into the client buffer: no temporary string per response.
    char status_line[] = "HTTP/1.1 000 ";
    status_line[9] = static_cast<char>('0' + status / 100 % 10);
    status_line[10] = static_cast<char>('0' + status / 10 % 10);
    status_line[11] = static_cast<char>('0' + status % 10);
    out_.Append(absl::string_view(status_line, sizeof(status_line) - 1));
    out_.Append(response_head_.reason);
    out_.Append("\r\n");
    for (const http::Header& h : response_head_.headers) {
      if (http::IsHopByHop(h.name) || nominated.Nominates(h.name)) continue;
      out_.Append(h.name);
      out_.Append(": ");
      out_.Append(h.value);
      out_.Append("\r\n");
    }
    if (response_framing_ == http::BodyFraming::kChunked && !dechunk_for_http10_) {
      out_.Append("Transfer-Encoding: chunked\r\n");
    }
    if (closing_after_response_) {
      out_.Append("Connection: close\r\n");
    } else if (http10_) {
      out_.Append("Connection: keep-alive\r\n");
    }
    out_.Append("\r\n");
    up_in_.Consume(response_head_.head_size);
    response_head_done_ = true;
    response_done_ = ResponseBodyless();
  }
}

// Complete at its head: no body by status/method, or "Content-Length: 0" (no body byte will
// ever come to finish it).
bool DownstreamConnection::ResponseBodyless() const {
  return response_framing_ == http::BodyFraming::kNone ||
         (response_framing_ == http::BodyFraming::kContentLength && response_remaining_ == 0);
}

void DownstreamConnection::PumpResponseBody() {
  while (!response_done_ && !up_in_.empty() && out_.size() < kMaxPending) {
    absl::string_view available = up_in_.view().substr(0, kMaxPending - out_.size());
    size_t n = available.size();
    if (response_framing_ == http::BodyFraming::kContentLength) {
      n = std::min<uint64_t>(n, response_remaining_);
      response_remaining_ -= n;
      if (response_remaining_ == 0) response_done_ = true;
    } else if (response_framing_ == http::BodyFraming::kChunked) {
      if (dechunk_for_http10_) {
        n = response_chunks_.Feed(available, [this](absl::string_view data) {
          if (head_request_) return;
          out_.Append(data);
          response_bytes_ += data.size();
        });
      } else {
        n = response_chunks_.Feed(available);
      }
      if (response_chunks_.state() == http::ChunkedDecoder::State::kError) {
        worker_->stats().origin(upstream_label_).protocol_errors++;
        Close();
        return;
      }
      if (response_chunks_.state() == http::ChunkedDecoder::State::kDone) response_done_ = true;
      if (dechunk_for_http10_) {
        up_in_.Consume(n);
        continue;
      }
    }
    if (!head_request_) {
      out_.Append(available.substr(0, n));
      response_bytes_ += n;
    }
    up_in_.Consume(n);
  }
  if (response_done_ && upstream_ != nullptr && !upstream_eof_) {
    ReleaseUpstream(response_head_.keep_alive && request_body_done_ && up_in_.empty());
    if (!request_body_done_) closing_after_response_ = true;
  }
  if (!FlushToClient()) return;
  if (response_done_ && out_.empty() && state_ == State::kProxying && upstream_ == nullptr) {
    FinishRequest();
    if (state_ == State::kWaitingRequest) ProcessInput();
  }
}

void DownstreamConnection::PumpTunnel() {
  if (upstream_ == nullptr) {
    Close();
    return;
  }
  // client -> origin
  if (!in_.empty() && up_out_.size() < kMaxPending) {
    up_out_.Append(in_.view());
    in_.Clear();
  }
  if (!FlushToUpstream()) return;
  // origin -> client
  if (!up_in_.empty() && out_.size() < kMaxPending) {
    response_bytes_ += up_in_.size();
    out_.Append(up_in_.view());
    up_in_.Clear();
  }
  if (!FlushToClient()) return;
  uint32_t up_events = 0;
  if (!up_out_.empty()) up_events |= EPOLLOUT;
  if (out_.size() < kMaxPending) up_events |= EPOLLIN | EPOLLRDHUP;
  upstream_->WatchEvents(up_events);
  UpdateClientInterest();
}

}  // namespace edgerouter::proxy
