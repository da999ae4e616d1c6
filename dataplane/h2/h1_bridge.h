// The response half of an HTTP/2 stream: the request path writes its response as HTTP/1.1
// (local responses, Lambda and S3 answers, proxied bodies), and ResponseTranslator turns that
// into what the HTTP/2 session sends (HEADERS + DATA), incrementally and with the HTTP/1.1
// parser's strictness. Requests take no such detour: h2/request_decoder.h.
#ifndef EDGEROUTER_DATAPLANE_H2_H1_BRIDGE_H_
#define EDGEROUTER_DATAPLANE_H2_H1_BRIDGE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "dataplane/h2/h2_session.h"
#include "common/http/http1_parser.h"
#include "dataplane/proxy/io_buffer.h"

namespace edgerouter::h2 {

// Turns the HTTP/1.1 response written by the request path into what Session needs.
class ResponseTranslator {
 public:
  explicit ResponseTranslator(absl::string_view request_method) : method_(request_method) {}
  // Starts over for another response (keeps capacity).
  void Reset(absl::string_view request_method) {
    method_.assign(request_method.data(), request_method.size());
    head_done_ = done_ = false;
    framing_ = http::BodyFraming::kNone;
    remaining_ = 0;
    chunks_.Reset();
    parsed_.Clear();
  }

  struct Head {
    int status = 0;
    std::vector<Header> headers;  // lower-case, connection-specific fields removed
    bool has_body = true;
  };

  // Consumes what it can from `in`. Calls on_head(const Head&) once (after skipping 1xx
  // interim responses), on_body(absl::string_view) per body piece, and on_end() when the
  // message is complete. An error means the response cannot be translated: reset the stream.
  template <typename OnHead, typename OnBody, typename OnEnd>
  absl::Status Feed(proxy::IoBuffer* in, OnHead&& on_head, OnBody&& on_body, OnEnd&& on_end);

  // The head was taken directly (StreamPort::TakeResponseHead): only the body, framed as
  // `framing`, follows. `has_body` false: the message is already complete.
  void StartBody(http::BodyFraming framing, uint64_t content_length, bool has_body) {
    head_done_ = true;
    done_ = !has_body;
    framing_ = framing;
    remaining_ = content_length;
  }

  // The writer closed: a body framed "until close" ends here; anything else is truncated.
  bool CloseEndsMessage() const { return head_done_ && !done_ && framing_ == http::BodyFraming::kUntilClose; }
  bool done() const { return done_; }
  bool head_done() const { return head_done_; }

 private:
  absl::Status ParseHead(proxy::IoBuffer* in, Head* head, bool* complete);

  std::string method_;
  bool head_done_ = false;
  bool done_ = false;
  http::BodyFraming framing_ = http::BodyFraming::kNone;
  uint64_t remaining_ = 0;
  http::ChunkedDecoder chunks_;
  http::ResponseHead parsed_;
};

template <typename OnHead, typename OnBody, typename OnEnd>
absl::Status ResponseTranslator::Feed(proxy::IoBuffer* in, OnHead&& on_head, OnBody&& on_body, OnEnd&& on_end) {
  while (!done_ && !in->empty()) {
    if (!head_done_) {
      Head head;
      bool complete = false;
      if (absl::Status s = ParseHead(in, &head, &complete); !s.ok()) return s;
      if (!complete) return absl::OkStatus();
      if (!head_done_) continue;  // a 1xx was skipped
      on_head(head);
      if (!head.has_body) {
        done_ = true;
        in->Clear();  // e.g. a body after a 204/304/HEAD head: never sent
        on_end();
        return absl::OkStatus();
      }
      continue;
    }
    if (framing_ == http::BodyFraming::kContentLength) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in->size()));
      on_body(in->view().substr(0, n));
      in->Consume(n);
      remaining_ -= n;
      if (remaining_ == 0) {
        done_ = true;
        on_end();
      }
    } else if (framing_ == http::BodyFraming::kChunked) {
      const size_t n = chunks_.Feed(in->view(), [&](absl::string_view piece) { on_body(piece); });
      in->Consume(n);
      if (chunks_.state() == http::ChunkedDecoder::State::kError) {
        return absl::InvalidArgumentError(std::string(chunks_.error()));
      }
      if (chunks_.state() == http::ChunkedDecoder::State::kDone) {
        done_ = true;
        on_end();
      }
    } else {  // until close
      on_body(in->view());
      in->Consume(in->size());
    }
  }
  return absl::OkStatus();
}

}  // namespace edgerouter::h2

#endif  // EDGEROUTER_DATAPLANE_H2_H1_BRIDGE_H_
