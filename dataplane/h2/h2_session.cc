#include "dataplane/h2/h2_session.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "dataplane/h2/field_rules.h"

namespace edgerouter::h2 {

// nghttp2 calls back with a void* user pointer; these statics forward to the Session.
struct SessionCallbacks {
  static Session* Self(void* user_data) { return static_cast<Session*>(user_data); }

  // Any frame but CONTINUATION means no header block is open any more (the block completed,
  // or nghttp2 ignored it without a frame-received call).
  static int OnBeginFrame(nghttp2_session*, const nghttp2_frame_hd* hd, void* user_data) {
    if (hd->type != NGHTTP2_CONTINUATION) Self(user_data)->header_block_stream_ = 0;
    return 0;
  }

  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    Session* self = Self(user_data);
    if (frame->hd.type == NGHTTP2_HEADERS) {  // requests and trailers: timed until complete
      self->header_block_stream_ = frame->hd.stream_id;
      ++self->header_blocks_;
    }
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    std::unique_ptr<Stream> stream;
    if (self->free_streams_.empty()) {
      stream = std::make_unique<Stream>();
    } else {
      stream = std::move(self->free_streams_.back());
      self->free_streams_.pop_back();
    }
    stream->id = frame->hd.stream_id;
    Stream* const added = stream.get();
    self->streams_[added->id] = std::move(stream);
    self->recent_[Session::Slot(added->id)] = added;
    return 0;
  }

  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                      const uint8_t* value, size_t valuelen, uint8_t, void* user_data) {
    Session* self = Self(user_data);
    Stream* s = self->Find(frame->hd.stream_id);
    if (s == nullptr) return 0;
    // Trailers count towards the limit too, but their fields are not forwarded.
    s->header_bytes += namelen + valuelen + 32;
    if (s->header_bytes > self->limits_.max_header_list_bytes) s->header_too_large = true;
    if (s->header_too_large || s->rejected) return 0;
    const bool trailer = frame->headers.cat != NGHTTP2_HCAT_REQUEST;
    absl::string_view n(reinterpret_cast<const char*>(name), namelen);
    absl::string_view v(reinterpret_cast<const char*>(value), valuelen);
    if (!n.empty() && n[0] == ':') {
      // Known request pseudo-header fields only, once each, before any regular field, never
      // in trailers (§8.3).
      const uint8_t pseudo = field_rules::PseudoOf(n);
      if (trailer || pseudo == 0 || (s->pseudo_seen & pseudo) != 0 || s->regular_seen) return self->Reject(*s);
      s->pseudo_seen |= pseudo;
      // :path's characters are the decoder's check (the request-target rules of both protocols).
      switch (pseudo) {
        case field_rules::kMethod:
          if (!field_rules::ValidMethod(v)) return self->Reject(*s);
          s->method = s->headers.Keep(v);
          break;
        case field_rules::kScheme:
          if (v != "https" && v != "http" && (v.empty() || !field_rules::ValidValue(v))) return self->Reject(*s);
          s->scheme = s->headers.Keep(v);
          break;
        case field_rules::kAuthority:
          if (!field_rules::ValidAuthority(v)) return self->Reject(*s);
          s->authority = s->headers.Keep(v);
          break;
        default:  // kPath
          if (v.empty() || !field_rules::ValidValue(v)) return self->Reject(*s);
          s->path = s->headers.Keep(v);
          break;
      }
      return 0;
    }
    if (!field_rules::ValidName(n) || !field_rules::ValidValue(v) || field_rules::ConnectionSpecific(n)) {
      return self->Reject(*s);
    }
    s->regular_seen = true;
    switch (n.size()) {
      case 2:  // TE: only "trailers" (§8.2.2)
        if (n == "te" && !absl::EqualsIgnoreCase(v, "trailers")) return self->Reject(*s);
        break;
      case 4:
        if (n == "host") {
          if (!field_rules::ValidAuthority(v)) return self->Reject(*s);
          s->has_host = true;
        }
        break;
      case 14:
        if (n == "content-length" && !trailer) {
          // Digits only, once (§8.1.1); the DATA received must add up to it.
          if (s->content_length != -1 || v.empty() || v.size() > 18) return self->Reject(*s);
          int64_t length = 0;
          for (char c : v) {
            if (c < '0' || c > '9') return self->Reject(*s);
            length = length * 10 + (c - '0');
          }
          s->content_length = length;
        }
        break;
      default:
        break;
    }
    if (!trailer) s->headers.Add(n, v);
    return 0;
  }

  // The request head is whole (§8.3.1): :method, and unless CONNECT (which the decoder
  // answers with 501) :scheme, :path and :authority or Host; :path in origin form, or '*'
  // for OPTIONS.
  static bool CompleteHead(const Stream& s) {
    if ((s.pseudo_seen & field_rules::kMethod) == 0) return false;
    if (s.method == "CONNECT") {
      return (s.pseudo_seen & (field_rules::kScheme | field_rules::kPath)) == 0 &&
             (s.pseudo_seen & field_rules::kAuthority) != 0;
    }
    if ((s.pseudo_seen & (field_rules::kScheme | field_rules::kPath)) != (field_rules::kScheme | field_rules::kPath)) {
      return false;
    }
    if ((s.pseudo_seen & field_rules::kAuthority) == 0 && !s.has_host) return false;
    return s.path[0] == '/' || (s.path == "*" && s.method == "OPTIONS");
  }

  // At END_STREAM: a declared content-length must match the DATA received (§8.1.1).
  static bool BodyComplete(const Stream& s) {
    return s.content_length < 0 || static_cast<uint64_t>(s.content_length) == s.request_body_bytes;
  }

  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    Session* self = Self(user_data);
    const bool end_stream = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS: {
        self->header_block_stream_ = 0;  // the block is complete
        Stream* s = self->Find(frame->hd.stream_id);
        if (s == nullptr || s->rejected) return 0;
        if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
          if (s->header_too_large) {
            self->Answer431(*s);
            return 0;
          }
          if (!CompleteHead(*s) || (end_stream && !BodyComplete(*s))) return self->Reject(*s);
          if (s->authority.empty()) {  // HTTP/2 allows Host instead of :authority
            for (const FieldView& h : s->headers) {
              if (h.first == "host") s->authority = h.second;
            }
          }
          s->handed_to_handler = true;
          // Known before the head is handled, so a body-less request is framed as one.
          s->request_ended = end_stream;
          self->handler_->OnRequestHeaders(*s);
          s = self->Find(frame->hd.stream_id);  // the handler may have reset it
          if (s != nullptr && end_stream) self->handler_->OnRequestEnd(*s);
        } else if (s->handed_to_handler && !s->request_ended) {  // trailers
          // Trailers end the stream (§8.1).
          if (!end_stream || !BodyComplete(*s)) return self->Reject(*s);
          s->request_ended = true;
          self->handler_->OnRequestEnd(*s);
        }
        return 0;
      }
      case NGHTTP2_DATA: {
        if (frame->hd.length == 0 && !end_stream) {
          if (++self->consecutive_empty_data_ > self->limits_.max_consecutive_empty_data_frames) {
            self->Flood("empty DATA frames");
            return NGHTTP2_ERR_CALLBACK_FAILURE;
          }
        } else {
          self->consecutive_empty_data_ = 0;
        }
        Stream* s = self->Find(frame->hd.stream_id);
        if (s != nullptr && end_stream && s->handed_to_handler && !s->request_ended && !s->rejected) {
          if (!BodyComplete(*s)) return self->Reject(*s);
          s->request_ended = true;
          self->handler_->OnRequestEnd(*s);
        }
        return 0;
      }
      case NGHTTP2_RST_STREAM: {
        // Cancelling a stream before its response is done costs us work the client never
        // waits for: the rapid-reset pattern (CVE-2023-44487).
        Stream* s = self->Find(frame->hd.stream_id);
        if (s != nullptr) s->reset_by_client = true;
        if (s != nullptr && !s->response_done &&
            self->CountInWindow(&self->resets_in_window_, self->limits_.max_client_resets_per_second)) {
          self->Flood("rapid reset");
          return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
        return 0;
      }
      case NGHTTP2_PING:
      case NGHTTP2_SETTINGS:
      case NGHTTP2_PRIORITY:
        if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0 &&
            self->CountInWindow(&self->control_in_window_, self->limits_.max_control_frames_per_second)) {
          self->Flood("control frame flood");
          return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
        return 0;
      default:
        return 0;
    }
  }

  static int OnDataChunk(nghttp2_session* session, uint8_t, int32_t stream_id, const uint8_t* data, size_t len,
                         void* user_data) {
    Session* self = Self(user_data);
    // The connection window is returned on arrival, so one stream whose origin is slow never
    // stalls the others; each stream's own window is returned only when its bytes are
    // forwarded (ConsumeRequestData), which bounds what a stream can make us buffer.
    nghttp2_session_consume_connection(session, len);
    Stream* s = self->Find(stream_id);
    if (s != nullptr && s->handed_to_handler && !s->rejected && s->content_length >= 0 &&
        s->request_body_bytes + len > static_cast<uint64_t>(s->content_length)) {
      self->Reject(*s);  // more than declared: refused before the excess reaches the handler
    }
    if (s == nullptr || !s->handed_to_handler || s->rejected) {
      // Nobody reads it (e.g. the 431 stream): let it flow and drop it.
      nghttp2_session_consume_stream(session, stream_id, len);
      return 0;
    }
    s->request_body_bytes += len;
    self->handler_->OnRequestData(*s, absl::string_view(reinterpret_cast<const char*>(data), len));
    return 0;
  }

  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user_data) {
    Session* self = Self(user_data);
    if (stream_id == self->header_block_stream_) self->header_block_stream_ = 0;
    auto it = self->streams_.find(stream_id);
    if (it == self->streams_.end()) return 0;
    std::unique_ptr<Stream> stream = std::move(it->second);
    self->streams_.erase(it);
    if (Stream*& slot = self->recent_[Session::Slot(stream_id)]; slot == stream.get()) slot = nullptr;
    // A stream nghttp2 reset because of what the client sent (DATA beyond content-length or
    // the window, a bad trailer, ...) after we had started on it: the client made us do work
    // and drop it, like a reset of its own ("MadeYouReset", CVE-2025-8671). It closes while
    // frames are sent, so the connection ends at the next Receive().
    if (error_code != NGHTTP2_NO_ERROR && stream->handed_to_handler && !stream->response_done &&
        !stream->reset_by_client && !stream->reset_by_us &&
        self->CountInWindow(&self->resets_in_window_, self->limits_.max_client_resets_per_second)) {
      self->Flood("provoked stream resets");
    }
    if (stream->handed_to_handler) self->handler_->OnStreamClosed(*stream, error_code);
    if (self->free_streams_.size() < 32) {
      stream->Reset();
      self->free_streams_.push_back(std::move(stream));
    }
    return 0;
  }

  static int OnFrameSend(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    Session* self = Self(user_data);
    if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
      if (Stream* s = self->Find(frame->hd.stream_id)) s->response_done = true;
    }
    return 0;
  }

  static ssize_t ReadResponse(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length,
                              uint32_t* data_flags, nghttp2_data_source* source, void* user_data) {
    Session* self = Self(user_data);
    Stream* s = static_cast<Stream*>(source->ptr);
    if (s->id != stream_id) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    const size_t n = std::min(length, s->response_body.size());
    if (n > 0) {
      std::memcpy(buf, s->response_body.view().data(), n);
      s->response_body.Consume(n);
    }
    // Ask for more once half the buffer has drained, so the producer never idles the link.
    if (s->full && s->response_body.size() <= self->limits_.max_buffered_response_bytes / 2) {
      s->full = false;
      self->writable_.push_back(stream_id);
    }
    if (s->response_body.empty()) {
      if (s->response_ended) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      } else if (n == 0) {
        s->deferred = true;
        return NGHTTP2_ERR_DEFERRED;
      }
    }
    return static_cast<ssize_t>(n);
  }
};

char* FieldList::Grow(size_t n) {
  if (used_ == blocks_.size()) blocks_.emplace_back();
  Block& block = blocks_[used_++];
  if (block.size < n) {  // new, or kept from an earlier request but too small for this field
    block.size = std::max(kBlockBytes, n);
    block.bytes.reset(new char[block.size]);  // uninitialised: only copies are read from it
  }
  at_ = block.bytes.get();
  end_ = at_ + block.size;
  return at_;
}

void Stream::Reset() {
  id = 0;
  method = scheme = authority = path = absl::string_view();
  // Kept for the next request unless they were large (header_bytes counts what was received).
  if (header_bytes > 4096) {
    headers.Release();
  } else {
    headers.clear();
  }
  content_length = -1;
  request_body_bytes = 0;
  request_ended = false;
  user = nullptr;
  header_bytes = 0;
  pseudo_seen = 0;
  header_too_large = regular_seen = has_host = rejected = false;
  handed_to_handler = response_submitted = false;
  response_ended = response_done = deferred = full = false;
  reset_by_client = reset_by_us = false;
  response_body.Clear();
}

Session::Session(Handler* handler, Limits limits) : handler_(handler), limits_(limits) {
  nghttp2_session_callbacks* cb;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_on_begin_frame_callback(cb, &SessionCallbacks::OnBeginFrame);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, &SessionCallbacks::OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cb, &SessionCallbacks::OnHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &SessionCallbacks::OnFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &SessionCallbacks::OnDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, &SessionCallbacks::OnStreamClose);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, &SessionCallbacks::OnFrameSend);
  nghttp2_option* opt;
  nghttp2_option_new(&opt);
  // Window updates follow what the handler forwarded, not what arrived: backpressure.
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_max_continuations(opt, 8);
  // Request fields are checked by OnHeader/OnFrameRecv (field_rules), once.
  nghttp2_option_set_no_http_messaging(opt, 1);
  nghttp2_session_server_new3(&session_, cb, this, opt, memory_.mem());
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);
}

Session::~Session() {
  // Streams die with the session; handlers hear about each one.
  std::fill(std::begin(recent_), std::end(recent_), nullptr);
  for (auto& [id, stream] : streams_) {
    if (stream->handed_to_handler) handler_->OnStreamClosed(*stream, NGHTTP2_CANCEL);
  }
  streams_.clear();
  nghttp2_session_del(session_);
}

absl::Status Session::Start() {
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits_.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, limits_.stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, limits_.max_header_list_bytes},
  };
  int rv = nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, sizeof(settings) / sizeof(settings[0]));
  if (rv == 0) {
    rv = nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                               static_cast<int32_t>(limits_.connection_window));
  }
  if (rv != 0) return absl::InternalError(absl::StrCat("h2 settings: ", nghttp2_strerror(rv)));
  return absl::OkStatus();
}

absl::Status Session::Receive(absl::string_view bytes) {
  if (!abuse_.empty()) {  // found while sending (provoked resets): read nothing more
    return absl::ResourceExhaustedError(absl::StrCat("h2: ", abuse_));
  }
  const ssize_t rv =
      nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (!abuse_.empty()) {
    nghttp2_session_terminate_session(session_, NGHTTP2_ENHANCE_YOUR_CALM);
    return absl::ResourceExhaustedError(absl::StrCat("h2: ", abuse_));
  }
  if (rv < 0) {
    if (rv == NGHTTP2_ERR_FLOODED) abuse_ = "unanswered frame flood";
    nghttp2_session_terminate_session(
        session_, rv == NGHTTP2_ERR_FLOODED ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR);
    return absl::InvalidArgumentError(absl::StrCat("h2: ", nghttp2_strerror(static_cast<int>(rv))));
  }
  return absl::OkStatus();
}

void Session::Send(proxy::IoBuffer* out, size_t limit) {
  for (int round = 0; round < 2; ++round) {
    while (out->size() < limit) {
      const uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n <= 0) break;
      out->Append(absl::string_view(reinterpret_cast<const char*>(data), static_cast<size_t>(n)));
    }
    // Abuse seen while sending (streams closing after provoked resets): GOAWAY now, since a
    // client that has sent everything would otherwise never give Receive() another turn.
    if (abuse_.empty() || terminated_) break;
    terminated_ = true;
    nghttp2_session_terminate_session(session_, NGHTTP2_ENHANCE_YOUR_CALM);
  }
  // Outside nghttp2's callbacks, so the handler may write again right away.
  std::vector<int32_t> ready;
  ready.swap(writable_);
  for (int32_t id : ready) {
    if (Stream* s = Find(id)) handler_->OnResponseWritable(*s);
  }
}

bool Session::WantsWrite() const { return nghttp2_session_want_write(session_) != 0; }
bool Session::WantsRead() const { return nghttp2_session_want_read(session_) != 0; }

Stream* Session::Find(int32_t id) {
  Stream*& slot = recent_[Slot(id)];
  if (slot != nullptr && slot->id == id) return slot;
  auto it = streams_.find(id);
  if (it == streams_.end()) return nullptr;
  slot = it->second.get();
  return slot;
}

nghttp2_nv* Session::StartFields(Stream& stream, int status, size_t fields) {
  // The status lives in the stream, so nghttp2 never copies it.
  stream.status_text[0] = static_cast<char>('0' + status / 100 % 10);
  stream.status_text[1] = static_cast<char>('0' + status / 10 % 10);
  stream.status_text[2] = static_cast<char>('0' + status % 10);
  // nghttp2 copies the array itself during the call, so one array serves every response.
  nva_.resize(fields + 1);
  nva_[0] = nghttp2_nv{const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(":status")),
                       reinterpret_cast<uint8_t*>(stream.status_text), 7, 3,
                       NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
  return nva_.data() + 1;
}

absl::Status Session::Submit(Stream& stream, bool end_stream) {
  nghttp2_data_provider provider{};
  provider.read_callback = &SessionCallbacks::ReadResponse;
  // nghttp2 drops the provider when it closes the stream, before our OnStreamClose recycles
  // the Stream: the pointer is good for every read.
  provider.source.ptr = &stream;
  stream.response_submitted = true;
  stream.response_ended = end_stream;
  const int rv = nghttp2_submit_response(session_, stream.id, nva_.data(), nva_.size(), end_stream ? nullptr : &provider);
  if (rv != 0) return absl::InternalError(absl::StrCat("h2 response: ", nghttp2_strerror(rv)));
  return absl::OkStatus();
}

absl::Status Session::SubmitResponse(Stream& stream, int status, absl::Span<const HeaderRef> headers,
                                     bool end_stream) {
  nghttp2_nv* nv = StartFields(stream, status, headers.size());
  for (const HeaderRef& h : headers) {
    *nv++ = nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(h.name.data())),
                       reinterpret_cast<uint8_t*>(const_cast<char*>(h.value.data())), h.name.size(), h.value.size(),
                       NGHTTP2_NV_FLAG_NONE};
  }
  return Submit(stream, end_stream);
}

bool Session::WriteResponseData(Stream& stream, absl::string_view data) {
  stream.response_body.Append(data);
  if (stream.deferred) Resume(stream);
  if (stream.response_body.size() >= limits_.max_buffered_response_bytes) {
    stream.full = true;
    return false;
  }
  return true;
}

void Session::EndResponse(Stream& stream) {
  stream.response_ended = true;
  if (stream.deferred) Resume(stream);
}

void Session::Resume(Stream& stream) {
  stream.deferred = false;
  nghttp2_session_resume_data(session_, stream.id);
}

void Session::ResetStream(Stream& stream, uint32_t error_code) {
  stream.reset_by_us = true;
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream.id, error_code);
}

void Session::ConsumeRequestData(Stream& stream, size_t bytes) {
  nghttp2_session_consume_stream(session_, stream.id, bytes);
}

void Session::StartGracefulShutdown() {
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                        NGHTTP2_NO_ERROR, nullptr, 0);
}

void Session::Terminate(uint32_t error_code) { nghttp2_session_terminate_session(session_, error_code); }

bool Session::CountInWindow(uint32_t* counter, uint32_t limit) {
  const int64_t now = absl::GetCurrentTimeNanos();
  if (now - window_start_ns_ >= 1000000000) {
    window_start_ns_ = now;
    resets_in_window_ = 0;
    control_in_window_ = 0;
  }
  return ++*counter > limit;
}

int Session::Reject(Stream& stream) {
  if (!stream.rejected) {
    stream.rejected = true;
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream.id, NGHTTP2_PROTOCOL_ERROR);
  }
  return 0;
}

void Session::Flood(const char* what) {
  if (abuse_.empty()) abuse_ = what;
}

void Session::Answer431(Stream& stream) {
  static constexpr absl::string_view kBody = "request header fields too large\n";
  const std::string length = std::to_string(kBody.size());
  const HeaderRef fields[] = {{"content-type", "text/plain; charset=utf-8"}, {"content-length", length}};
  if (!SubmitResponse(stream, 431, fields, false)
           .ok()) {
    ResetStream(stream, NGHTTP2_INTERNAL_ERROR);
    return;
  }
  WriteResponseData(stream, kBody);
  EndResponse(stream);
}

}  // namespace edgerouter::h2
