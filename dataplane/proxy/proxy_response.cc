// The proxying half of DownstreamConnection, client side: the origin's response head
// rewritten for the client (or handed to an HTTP/2 stream as is), the body relayed in its
// framing (de-chunked for HTTP/1.0) under backpressure, and the WebSocket/upgrade tunnel.
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "dataplane/backends/reverse_proxy/retry.h"
#include "dataplane/backends/reverse_proxy/sticky.h"
#include "dataplane/http/field_names.h"
#include "dataplane/policies/compress/compress.h"
#include "dataplane/proxy/http_session.h"
#include "dataplane/proxy/worker.h"

namespace edgerouter::proxy {

// The turbocharger middleware learns from every final origin response (the header also goes
// to the client, as edgerouter's does).
void DownstreamConnection::ObserveTurbocharger(int status) {
  std::optional<absl::string_view> header;
  for (const http::Header& h : response_head_.headers) {
    if (absl::EqualsIgnoreCase(h.name, "turbocharger")) {
      header = h.value;
      break;
    }
  }
  absl::string_view path = req_.upstream_path;
  path = path.substr(0, path.find('?'));
  if (req_.backend->turbocharger->OnOriginResponse(path, status, header, absl::Now())) {
    const std::optional<turbocharger::Advertisement> now = req_.backend->turbocharger->current();
    log::Info(now.has_value() ? "turbocharger attached" : "turbocharger detached")
        .Kv("app", req_.app_id)
        .Kv("prefix", now.has_value() ? now->prefix : "")
        .Kv("manifest", now.has_value() ? now->manifest_id : "");
  }
}

// policies.compress, at routing time while the request head is readable: which coding the
// response may get. HTTP/1.0 clients get none (as nginx's gzip_http_version 1.1): the encoded
// body needs chunked framing to stay on a keep-alive connection.
void DownstreamConnection::NegotiateCompression(const policies::compress::Policy& policy) {
  if (req_.http10 || !policies::compress::RequestAllows(req_.method, head_.Find("Range") != nullptr)) return;
  const http::Header* accept = head_.Find("Accept-Encoding");
  if (accept == nullptr) return;
  req_.compress = &policy;
  req_.compress_coding = policy.Negotiate(accept->value);
}

bool DownstreamConnection::StartCompression(int status, absl::Span<const http::Header> fields,
                                            http::BodyFraming framing, uint64_t length) {
  if (req_.compress_coding == policies::compress::Coding::kIdentity) return false;
  req_.compressor =
      policies::compress::ResponseCompressor::Start(*req_.compress, req_.compress_coding, status, fields, framing, length);
  return req_.compressor != nullptr;
}

// Origin body bytes through the compressor into out_ as chunks; once the origin's body is
// complete the compressed stream is ended too. False: the codec failed (the response is cut).
bool DownstreamConnection::CompressBody(absl::string_view data, bool flush) {
  absl::StatusOr<absl::string_view> framed = req_.compressor->Feed(data, flush);
  if (framed.ok() && req_.response_done && !req_.compressor->finished()) {
    out_.Append(*framed);
    req_.response_bytes += framed->size();
    framed = req_.compressor->Finish();
  }
  if (!framed.ok()) {
    log::Every(log::Level::kWarn, "compress: encoder failed", "compress: encoder failed; response cut")
        .Kv("app", req_.app_id)
        .Kv("error", framed.status().message());
    return false;
  }
  out_.Append(*framed);
  req_.response_bytes += framed->size();
  // Ended: the codec state goes now, not when the keep-alive connection's next request starts.
  if (req_.compressor->finished()) req_.compressor.reset();
  return true;
}

void DownstreamConnection::HandleResponseHead() {
  while (!req_.response_head_done) {
    if (!response_progress_.ShouldParse(up_in_.view(), worker_->options().limits)) return;
    http::ParseError error;
    http::ParseStatus st =
        http::ParseResponseHead(up_in_.view(), req_.method, worker_->options().limits, &response_head_, &error);
    if (st == http::ParseStatus::kIncomplete) return;
    response_progress_.Reset();  // the next head (after a 1xx) starts at the front again
    if (st == http::ParseStatus::kError) {
      worker_->stats().origin(req_.upstream_label).protocol_errors++;
      UpstreamFailed(502, absl::StrCat("invalid response from upstream: ", error.reason), false);
      return;
    }
    const int status = response_head_.status;
    if (status == 101 && req_.upgrade) {
      std::string head = absl::StrCat("HTTP/1.1 101 ", StatusReason(101), "\r\n");
      for (const http::Header& h : response_head_.headers) absl::StrAppend(&head, h.name, ": ", h.value, "\r\n");
      head += "\r\n";
      out_.Append(head);
      up_in_.Consume(response_head_.head_size);
      req_.status = 101;
      state_ = State::kTunnel;
      net::TimerList::Disarm(&upstream_->timer);  // tunnels may idle for long
      PumpTunnel();
      return;
    }
    if (status >= 100 && status < 200) {  // interim responses are not forwarded
      up_in_.Consume(response_head_.head_size);
      continue;
    }
    req_.status = status;
    if (req_.backend != nullptr && req_.backend->turbocharger != nullptr) ObserveTurbocharger(status);
    if (status >= 500) {
      worker_->stats().origin(req_.upstream_label).status_5xx++;
      req_.origins->ReportFailure(req_.origin_index, worker_->loop().now_ms(), OriginSet::Failure::kStatus5xx);
      // Not relayed yet: with a retry policy, a gateway error may go to another try instead.
      if (req_.backend->retry.has_value() && backends::IsRetriableStatus(status) &&
          RetryAttempt(backends::AttemptFailure::kStatus5xx)) {
        return;
      }
    } else {
      req_.origins->ReportSuccess(req_.origin_index);
    }
    // A sticky session new to this origin (or moved off its old one) learns where it is.
    if (req_.backend->sticky.has_value() && req_.origin_index != req_.sticky_index) {
      req_.set_sticky = true;
      req_.sticky_cookie = backends::StickySetCookie(*req_.backend->sticky, req_.backend->sticky_ids[req_.origin_index]);
    }
    req_.response_framing = response_head_.framing;
    req_.response_remaining = response_head_.content_length;
    StartCompression(status, response_head_.headers, req_.response_framing, req_.response_remaining);
    using Compressor = policies::compress::ResponseCompressor;
    const Compressor* compressor = req_.compressor.get();
    // HTTP/1.0 clients do not know chunked (RFC 9112 §6.1): they get the body de-chunked,
    // delimited by the end of the connection.
    req_.dechunk_for_http10 = req_.response_framing == http::BodyFraming::kChunked && req_.http10;
    if (req_.response_framing == http::BodyFraming::kUntilClose || !req_.keep_alive || draining_ ||
        req_.dechunk_for_http10) {
      closing_after_response_ = true;
    }
    const auto nominated = http::ConnectionOptions::Of(response_head_);
    // The response stages' hook for proxied heads (both codecs): response_stages.cc.
    const bool edited = EditedResponseFields(status, response_head_.headers);
    if (port_ != nullptr) {
      // Filled by index into storage kept across requests (grown only for a larger head): no
      // growth check or library call per field.
      std::vector<http::Header>& fields = req_.forwarded_response_fields;
      const size_t most = response_head_.headers.size() + 1 + (edited ? req_.response_edit.add.size() : 0) +
                          (compressor != nullptr ? compressor->added_fields().size() : 0);
      if (fields.size() < most) fields.resize(most);
      size_t kept = 0;
      for (const http::Header& h : response_head_.headers) {
        if (http::IsHopByHop(h.name) || nominated.Nominates(h.name)) continue;
        if (edited && !KeepsResponseField(h.name)) continue;
        if (compressor != nullptr && Compressor::Replaces(h.name)) continue;
        fields[kept++] = h;
      }
      if (req_.set_sticky) fields[kept++] = http::Header{"Set-Cookie", req_.sticky_cookie};
      if (edited) {
        for (const auto& [name, value] : req_.response_edit.add) {
          if (ResponseStageMayEdit(name)) fields[kept++] = http::Header{name, value};
        }
      }
      if (compressor != nullptr) {  // the compressed body is written as chunks (the port unframes them)
        for (const http::Header& h : compressor->added_fields()) fields[kept++] = h;
      }
      if (port_->TakeResponseHead(status, absl::MakeConstSpan(fields.data(), kept),
                                  compressor != nullptr ? http::BodyFraming::kChunked : req_.response_framing,
                                  req_.response_remaining)) {
        up_in_.Consume(response_head_.head_size);
        req_.response_head_done = true;
        req_.response_done = ResponseBodyless();
        continue;
      }
    }
    // Written straight into the client buffer with one capacity check: a forwarded field is at
    // most one byte longer than its line in the origin's head (": " where the origin wrote ":").
    size_t bound = response_head_.head_size + response_head_.headers.size() + 128;
    if (req_.set_sticky) bound += RawWriter::FieldSize("Set-Cookie", req_.sticky_cookie);
    if (edited) {
      for (const auto& [name, value] : req_.response_edit.add) bound += RawWriter::FieldSize(name, value);
    }
    if (compressor != nullptr) {
      for (const http::Header& h : compressor->added_fields()) bound += RawWriter::FieldSize(h.name, h.value);
    }
    RawWriter w(out_.Reserve(bound));
    char status_line[] = "HTTP/1.1 000 ";
    status_line[9] = static_cast<char>('0' + status / 100 % 10);
    status_line[10] = static_cast<char>('0' + status / 10 % 10);
    status_line[11] = static_cast<char>('0' + status % 10);
    w.Put(absl::string_view(status_line, sizeof(status_line) - 1));
    w.Put(response_head_.reason);
    w.Put2('\r', '\n');
    for (const http::Header& h : response_head_.headers) {
      if (http::IsHopByHop(h.name) || nominated.Nominates(h.name)) continue;
      if (edited && !KeepsResponseField(h.name)) continue;
      if (compressor != nullptr && Compressor::Replaces(h.name)) continue;
      w.Field(h.name, h.value);
    }
    if (req_.set_sticky) w.Field("Set-Cookie", req_.sticky_cookie);
    if (edited) {
      for (const auto& [name, value] : req_.response_edit.add) {
        if (ResponseStageMayEdit(name)) w.Field(name, value);
      }
    }
    if (compressor != nullptr) {
      for (const http::Header& h : compressor->added_fields()) w.Field(h.name, h.value);
    }
    // The framing and connection fields below fit in the 128 bytes of slack.
    if ((req_.response_framing == http::BodyFraming::kChunked && !req_.dechunk_for_http10) || compressor != nullptr) {
      w.Put("Transfer-Encoding: chunked\r\n");
    }
    w.Put(ConnectionField());
    w.Put2('\r', '\n');
    out_.Commit(w.written());
    up_in_.Consume(response_head_.head_size);
    req_.response_head_done = true;
    req_.response_done = ResponseBodyless();
  }
}

// Complete at its head: no body by status/method, or "Content-Length: 0" (no body byte will
// ever come to finish it).
bool DownstreamConnection::ResponseBodyless() const {
  return req_.response_framing == http::BodyFraming::kNone ||
         (req_.response_framing == http::BodyFraming::kContentLength && req_.response_remaining == 0);
}

void DownstreamConnection::PumpResponseBody() {
  while (!req_.response_done && !up_in_.empty() && out_.size() < kMaxPending) {
    absl::string_view available = up_in_.view().substr(0, kMaxPending - out_.size());
    size_t n = available.size();
    if (req_.compressor != nullptr) {
      if (!PumpCompressed(available)) return;
      continue;
    }
    if (req_.response_framing == http::BodyFraming::kContentLength) {
      n = std::min<uint64_t>(n, req_.response_remaining);
      req_.response_remaining -= n;
      if (req_.response_remaining == 0) req_.response_done = true;
    } else if (req_.response_framing == http::BodyFraming::kChunked) {
      if (req_.dechunk_for_http10) {
        n = req_.response_chunks.Feed(available, [this](absl::string_view data) {
          if (req_.head_request) return;
          out_.Append(data);
          req_.response_bytes += data.size();
        });
      } else {
        n = req_.response_chunks.Feed(available);
      }
      if (req_.response_chunks.state() == http::ChunkedDecoder::State::kError) {
        worker_->stats().origin(req_.upstream_label).protocol_errors++;
        Close();
        return;
      }
      if (req_.response_chunks.state() == http::ChunkedDecoder::State::kDone) req_.response_done = true;
      if (req_.dechunk_for_http10) {
        up_in_.Consume(n);
        continue;
      }
    }
    if (!req_.head_request) {
      out_.Append(available.substr(0, n));
      req_.response_bytes += n;
    }
    up_in_.Consume(n);
  }
  // The origin paused: what was compressed so far goes out now, not with the next block.
  if (req_.compressor != nullptr && !req_.response_done && up_in_.empty() && req_.upstream_paused) {
    if (!CompressBody({}, /*flush=*/true)) {
      Close();
      return;
    }
  }
  if (req_.response_done && upstream_ != nullptr && !req_.upstream_eof) {
    ReleaseUpstream(response_head_.keep_alive && req_.body_done && up_in_.empty());
    if (!req_.body_done) closing_after_response_ = true;
  }
  if (!FlushToClient()) return;
  if (req_.response_done && out_.empty() && state_ == State::kProxying && upstream_ == nullptr) {
    FinishRequest();
    if (state_ == State::kWaitingRequest) ProcessInput();
  }
}

// One step of PumpResponseBody for a compressed response: origin bytes (unframed) into the
// compressor. False: the connection was closed.
bool DownstreamConnection::PumpCompressed(absl::string_view available) {
  size_t n = available.size();
  bool ok = true;
  if (req_.response_framing == http::BodyFraming::kContentLength) {
    n = std::min<uint64_t>(n, req_.response_remaining);
    req_.response_remaining -= n;
    if (req_.response_remaining == 0) req_.response_done = true;
    ok = CompressBody(available.substr(0, n), false);
  } else if (req_.response_framing == http::BodyFraming::kChunked) {
    n = req_.response_chunks.Feed(available, [&](absl::string_view data) {
      if (ok) ok = CompressBody(data, false);
    });
    if (req_.response_chunks.state() == http::ChunkedDecoder::State::kError) {
      worker_->stats().origin(req_.upstream_label).protocol_errors++;
      Close();
      return false;
    }
    if (ok && req_.response_chunks.state() == http::ChunkedDecoder::State::kDone) {
      req_.response_done = true;
      ok = CompressBody({}, false);  // ends the compressed stream
    }
  } else {
    ok = CompressBody(available, false);  // until close: OnUpstreamReadable ends it at EOF
  }
  up_in_.Consume(n);
  if (!ok) Close();
  return ok;
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
    req_.response_bytes += up_in_.size();
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
