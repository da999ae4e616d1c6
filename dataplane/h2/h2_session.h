// The server side of one HTTP/2 connection on nghttp2, independent of sockets and TLS: bytes
// from the client go in through Receive(), frames to send come out of Send(), and requests and
// responses are exchanged per stream with a Handler. Flow control carries backpressure both ways:
// request DATA is acknowledged (WINDOW_UPDATE) only when the handler says it has forwarded it,
// and WriteResponseData() reports when a stream's buffered response is full.
//
// Request fields are checked here (field_rules: RFC 9113 §8.2-8.3 field syntax, pseudo-header
// fields, connection-specific fields, content-length against the DATA received) with nghttp2's
// HTTP messaging layer off, so they are checked once. Abuse protection beyond nghttp2's own
// checks (SETTINGS/PING ACK queue limits): a header list over the limit gets 431; client stream resets
// before the response is done (CVE-2023-44487 "rapid reset") or streams the client makes us
// reset with invalid frames (CVE-2025-8671 "MadeYouReset"), PING/SETTINGS floods and runs of
// empty DATA frames end the connection with GOAWAY(ENHANCE_YOUR_CALM).
#ifndef EDGEROUTER_DATAPLANE_H2_H2_SESSION_H_
#define EDGEROUTER_DATAPLANE_H2_H2_SESSION_H_

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/types/span.h"
#include "absl/strings/string_view.h"
#include "common/http/char_class.h"
#include "dataplane/h2/session_memory.h"
#include "dataplane/proxy/io_buffer.h"

namespace edgerouter::h2 {

struct Limits {
  uint32_t max_concurrent_streams = 128;
  // Per-stream receive window: what one stream can make us buffer before its bytes are forwarded.
  uint32_t stream_window = 256 * 1024;
  uint32_t connection_window = 1024 * 1024;     // returned on arrival: never the bottleneck
  uint32_t max_header_list_bytes = 64 * 1024;   // name + value + 32 per field, as RFC 9113
  size_t max_buffered_response_bytes = 64 * 1024;  // per stream, before WriteResponseData says "full"
  // Abuse thresholds, per rolling one-second window.
  uint32_t max_client_resets_per_second = 100;
  uint32_t max_control_frames_per_second = 200;  // PING + SETTINGS + PRIORITY received
  uint32_t max_consecutive_empty_data_frames = 16;
};

using Header = std::pair<std::string, std::string>;

// A request field as the session keeps it: views into the stream's FieldList bytes.
using FieldView = std::pair<absl::string_view, absl::string_view>;

// A stream's request fields and the bytes they (and the pseudo-header values) live in: copied
// once into blocks that never move, so the views stay valid until the stream is reset. Cleared
// by count, not freed: a pooled stream's next request reuses the blocks (no allocation and no
// out-of-line string call per field).
class FieldList {
 public:
  FieldList() = default;
  FieldList(const FieldList&) = delete;
  FieldList& operator=(const FieldList&) = delete;

  ABSL_ATTRIBUTE_ALWAYS_INLINE void Add(absl::string_view name, absl::string_view value) {
    if (size_ == items_.size()) items_.emplace_back();
    items_[size_++] = FieldView(Keep(name), Keep(value));
  }
  // A copy of `s` in this list's bytes (valid until clear()).
  ABSL_ATTRIBUTE_ALWAYS_INLINE absl::string_view Keep(absl::string_view s) {
    char* at = static_cast<size_t>(end_ - at_) >= s.size() ? at_ : Grow(s.size());
    proxy::CopyShort(at, s.data(), s.size());
    at_ = at + s.size();
    return absl::string_view(at, s.size());
  }
  void clear() {
    size_ = 0;
    used_ = 0;
    at_ = end_ = nullptr;
    if (!blocks_.empty()) Grow(0);  // the first block again, without a call on the first field
  }
  // Gives the memory back (a stream that held large fields does not keep it pooled).
  void Release() {
    items_.clear();
    items_.shrink_to_fit();
    blocks_.clear();
    clear();
  }
  const FieldView* begin() const { return items_.data(); }
  const FieldView* end() const { return items_.data() + size_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  struct Block {
    std::unique_ptr<char[]> bytes;
    size_t size = 0;
  };
  static constexpr size_t kBlockBytes = 1024;
  char* Grow(size_t n);  // the next block with room for n bytes; returns where they go

  std::vector<FieldView> items_;  // items_[size_..] are kept for reuse
  size_t size_ = 0;
  std::vector<Block> blocks_;  // blocks_[used_..] are kept for reuse
  size_t used_ = 0;
  char* at_ = nullptr;   // free bytes of the current block: [at_, end_)
  char* end_ = nullptr;
};
// A field borrowed from elsewhere (e.g. a parsed upstream response): no copy until nghttp2's.
struct HeaderRef {
  absl::string_view name;  // lower-case
  absl::string_view value;
};

struct Stream {
  int32_t id = 0;
  absl::string_view method, scheme, authority, path;  // in `headers`' bytes
  FieldList headers;  // regular fields, names lower-case as on the wire
  int64_t content_length = -1;
  uint64_t request_body_bytes = 0;
  bool request_ended = false;
  void* user = nullptr;  // the handler's per-stream state

  // Internal to the session.
  size_t header_bytes = 0;
  bool header_too_large = false;
  uint8_t pseudo_seen = 0;     // field_rules::Pseudo bits of the request's pseudo-header fields
  bool regular_seen = false;   // a regular field came (no pseudo-header field may follow)
  bool has_host = false;       // a Host field came (stands in for :authority)
  bool rejected = false;       // malformed: RST_STREAM(PROTOCOL_ERROR) queued, never handed over
  bool handed_to_handler = false;
  bool response_submitted = false;
  bool response_ended = false;  // all body bytes given (EndResponse or end_stream)
  bool response_done = false;   // END_STREAM sent
  bool deferred = false;
  bool full = false;  // WriteResponseData returned false; OnResponseWritable owed
  bool reset_by_client = false;  // RST_STREAM received (counted when it arrived)
  bool reset_by_us = false;      // Session::ResetStream (our decision, not the client's doing)
  char status_text[3] = {};      // ":status" of the submitted response, read when HEADERS is sent
  proxy::IoBuffer response_body;

  // For reuse by the session's stream pool (keeps capacity).
  void Reset();
};

class Handler {
 public:
  virtual ~Handler() = default;
  // The request head is complete (pseudo-headers validated by nghttp2). `request_ended` is
  // already true when the HEADERS frame ended the stream (no body follows).
  virtual void OnRequestHeaders(Stream& stream) = 0;
  // A chunk of request body. Call Session::ConsumeRequestData() once it is forwarded, so the
  // client may send more (until then its window stays shut: backpressure).
  virtual void OnRequestData(Stream& stream, absl::string_view data) = 0;
  virtual void OnRequestEnd(Stream& stream) = 0;
  // The stream is gone (response finished, or reset by either side); `stream` dies after this.
  // Called only for streams that reached OnRequestHeaders.
  virtual void OnStreamClosed(Stream& stream, uint32_t error_code) = 0;
  // A stream whose WriteResponseData() returned false has room again.
  virtual void OnResponseWritable(Stream& stream) = 0;
};

class Session {
 public:
  Session(Handler* handler, Limits limits);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Queues our SETTINGS; call once before the first Send().
  absl::Status Start();
  // Feeds client bytes. An error means the connection must end after flushing Send() output
  // (a GOAWAY is queued when there is one to send); `abuse()` names a flood when that is why.
  absl::Status Receive(absl::string_view bytes);
  // Appends frames to `out` until nothing is left or `out` holds `limit` bytes.
  void Send(proxy::IoBuffer* out, size_t limit);

  bool WantsWrite() const;
  bool WantsRead() const;
  // Nothing left to read or write: the connection can close.
  bool Finished() const { return !WantsRead() && !WantsWrite(); }
  size_t active_streams() const { return streams_.size(); }
  // The header block being received (HEADERS without END_HEADERS yet, or a HEADERS frame
  // still arriving), numbered from 1 per connection; 0 when none. Header blocks cannot
  // interleave (RFC 9113 §4.3), so there is at most one.
  uint64_t open_header_block() const { return header_block_stream_ != 0 ? header_blocks_ : 0; }
  const std::string& abuse() const { return abuse_; }

  // Responses. Headers are lower-case names without hop-by-hop fields; nghttp2 copies them
  // during the call.
  absl::Status SubmitResponse(Stream& stream, int status, absl::Span<const HeaderRef> headers, bool end_stream);
  // The same for fields with .name and .value in any case (a proxied head): one pass copies them
  // into *bytes, names lower-cased, and points nghttp2 at that copy, so *bytes must stay unchanged
  // until the stream closes.
  template <typename Fields>
  absl::Status SubmitResponseCopy(Stream& stream, int status, const Fields& fields, bool end_stream,
                                  std::string* bytes);
  // Queues body bytes; false when the stream's buffer is at its limit (stop producing until
  // OnResponseWritable). The bytes are always taken.
  bool WriteResponseData(Stream& stream, absl::string_view data);
  void EndResponse(Stream& stream);
  void ResetStream(Stream& stream, uint32_t error_code);
  void ConsumeRequestData(Stream& stream, size_t bytes);

  // Graceful drain: GOAWAY announcing shutdown; streams in flight finish, new ones are refused.
  void StartGracefulShutdown();
  // Immediate GOAWAY with `error_code` (e.g. NGHTTP2_ENHANCE_YOUR_CALM).
  void Terminate(uint32_t error_code);

 private:
  friend struct SessionCallbacks;
  Stream* Find(int32_t id);
  // nva_ sized for `fields` fields after :status (filled in here); Submit sends it.
  nghttp2_nv* StartFields(Stream& stream, int status, size_t fields);
  absl::Status Submit(Stream& stream, bool end_stream);
  void Resume(Stream& stream);
  bool CountInWindow(uint32_t* counter, uint32_t limit);
  void Flood(const char* what);
  void Answer431(Stream& stream);
  // A malformed request (RFC 9113 §8.1.1): the stream ends with PROTOCOL_ERROR. Not marked as
  // our own reset, so one already handed over counts as provoked. Returns 0 for the callbacks.
  int Reject(Stream& stream);

  Handler* const handler_;
  const Limits limits_;
  SessionMemory memory_;  // nghttp2's allocations; outlives session_ (deleted in ~Session)
  nghttp2_session* session_ = nullptr;
  absl::flat_hash_map<int32_t, std::unique_ptr<Stream>> streams_;
  // Recently used streams by id (direct-mapped, checked against Stream::id): nghttp2 calls
  // back per field and per frame with a stream id, and the live ids of a connection are a
  // narrow window of consecutive odd numbers, so nearly every lookup ends here without hashing.
  // A slot only ever points at a stream in streams_ (cleared when that stream closes).
  static constexpr uint32_t kRecentSlots = 128;
  static uint32_t Slot(int32_t id) { return (static_cast<uint32_t>(id) >> 1) & (kRecentSlots - 1); }
  Stream* recent_[kRecentSlots] = {};
  std::vector<std::unique_ptr<Stream>> free_streams_;  // closed streams kept for reuse
  std::vector<int32_t> writable_;  // streams owed OnResponseWritable after a Send()
  std::vector<nghttp2_nv> nva_;    // SubmitResponse's field array, reused
  std::string abuse_;
  bool terminated_ = false;  // GOAWAY(ENHANCE_YOUR_CALM) queued by Send()
  int32_t header_block_stream_ = 0;  // stream of the open header block, 0: none
  uint64_t header_blocks_ = 0;       // header blocks begun on this connection
  int64_t window_start_ns_ = 0;
  uint32_t resets_in_window_ = 0;
  uint32_t control_in_window_ = 0;
  uint32_t consecutive_empty_data_ = 0;
};

template <typename Fields>
absl::Status Session::SubmitResponseCopy(Stream& stream, int status, const Fields& fields, bool end_stream,
                                         std::string* bytes) {
  size_t name_bytes = 0;
  size_t value_bytes = 0;
  for (const auto& f : fields) {
    name_bytes += f.name.size();
    value_bytes += f.value.size();
  }
  bytes->resize(name_bytes + value_bytes);
  char* name = bytes->data();
  char* value = name + name_bytes;
  nghttp2_nv* nv = StartFields(stream, status, fields.size());
  for (const auto& f : fields) {
    http::char_class::LowerAsciiCopy(name, f.name.data(), f.name.size());
    proxy::CopyShort(value, f.value.data(), f.value.size());
    *nv++ = nghttp2_nv{reinterpret_cast<uint8_t*>(name), reinterpret_cast<uint8_t*>(value), f.name.size(),
                       f.value.size(), NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
    name += f.name.size();
    value += f.value.size();
  }
  return Submit(stream, end_stream);
}

}  // namespace edgerouter::h2

#endif  // EDGEROUTER_DATAPLANE_H2_H2_SESSION_H_
