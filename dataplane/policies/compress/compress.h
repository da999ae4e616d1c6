// The compress policy (config.CompressPolicy) compiled for the response path: which coding a
// request gets (Accept-Encoding with q-values, http/content_coding.h), whether a response is
// eligible (content type, size, not already encoded, no-transform, status), and the response
// compressor that rewrites the head and turns origin body bytes into compressed HTTP/1.1 chunks.
#ifndef EDGEROUTER_DATAPLANE_POLICIES_COMPRESS_COMPRESS_H_
#define EDGEROUTER_DATAPLANE_POLICIES_COMPRESS_COMPRESS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/http/http1_parser.h"
#include "dataplane/policies/compress/encoder.h"
#include "proto/config.pb.h"

namespace edgerouter::policies::compress {

// Media types compressed when the policy lists none (Traefik's and nginx's usual set).
extern const char* const kDefaultContentTypes[];
constexpr uint32_t kDefaultMinBytes = 1024;

class Policy {
 public:
  // Defaults applied; the policy was validated (common/app_config.cc), so unknown entries are
  // errors here only for a data plane fed an unvalidated snapshot.
  static absl::StatusOr<Policy> Compile(const config::v1::CompressPolicy& proto);

  // The coding for a request's Accept-Encoding value (nullopt header: ""): the accepted one with
  // the highest q, ties broken by the policy's order; kIdentity when none is acceptable.
  Coding Negotiate(absl::string_view accept_encoding) const;
  // Whether a Content-Type value (parameters allowed) is one to compress.
  bool CompressesType(absl::string_view content_type) const;
  uint32_t min_bytes() const { return min_bytes_; }

 private:
  std::vector<Coding> order_;
  std::vector<std::string> included_, excluded_;  // lower-case; "text/*" matches a whole type
  uint32_t min_bytes_ = kDefaultMinBytes;
};

// Whether a request may get a compressed response at all, from its method and fields: not
// HEAD (no body to compress) and not a Range request (ranges address the identity bytes).
bool RequestAllows(absl::string_view method, bool has_range);

// One response being compressed. Made at the response head; fed the body as it arrives.
class ResponseCompressor {
 public:
  // Null when the response goes out as it is: status without a compressible body (1xx, 204,
  // 206, 304), no body, a known length under the minimum, Content-Encoding already set,
  // Cache-Control: no-transform, or a content type the policy does not compress.
  static std::unique_ptr<ResponseCompressor> Start(const Policy& policy, Coding coding, int status,
                                                   absl::Span<const http::Header> headers,
                                                   http::BodyFraming framing, uint64_t content_length);

  // Whether the origin's field is left out of the compressed head: Content-Length (the length
  // changes), Accept-Ranges (ranges of the encoded form are not offered), and ETag and Vary
  // (replaced by added_fields()).
  static bool Replaces(absl::string_view name);
  // What the compressed head adds: Content-Encoding, Vary (the origin's plus Accept-Encoding)
  // and the origin's ETag weakened (W/), each once. Views into this object.
  absl::Span<const http::Header> added_fields() const { return added_; }

  // Compresses body bytes; the output, framed as HTTP/1.1 chunks (possibly empty), stays valid
  // until the next call. `flush`: the origin paused, send what is compressed so far (a no-op
  // when nothing was fed since the last flush).
  absl::StatusOr<absl::string_view> Feed(absl::string_view data, bool flush);
  // The last chunks and the terminating zero-size chunk.
  absl::StatusOr<absl::string_view> Finish();
  bool finished() const { return finished_; }
  uint64_t bytes_in() const { return bytes_in_; }

 private:
  ResponseCompressor() = default;
  absl::string_view Frame();  // scratch_ as one chunk in framed_

  std::unique_ptr<Encoder> encoder_;
  std::string vary_, etag_;
  std::vector<http::Header> added_;
  std::string scratch_, framed_;
  uint64_t bytes_in_ = 0;
  bool unflushed_ = false;
  bool finished_ = false;
};

}  // namespace edgerouter::policies::compress

#endif  // EDGEROUTER_DATAPLANE_POLICIES_COMPRESS_COMPRESS_H_
