// Streaming response encoders (gzip via zlib, brotli, zstd) behind one interface: body bytes go
// in as they arrive, compressed bytes come out, and nothing holds more than the codec's own
// window, so a response of any size streams through in bounded memory.
#ifndef EDGEROUTER_DATAPLANE_POLICIES_COMPRESS_ENCODER_H_
#define EDGEROUTER_DATAPLANE_POLICIES_COMPRESS_ENCODER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace edgerouter::policies::compress {

enum class Coding : uint8_t { kIdentity, kGzip, kBrotli, kZstd };

// The Content-Encoding token ("gzip", "br", "zstd"; "identity").
absl::string_view CodingName(Coding coding);
// The coding a Content-Encoding / config token names (case-insensitive); nullopt if unknown.
std::optional<Coding> ParseCoding(absl::string_view token);

class Encoder {
 public:
  virtual ~Encoder() = default;
  // Compresses `data`, appending whatever output the codec has ready to `out` (often nothing:
  // codecs gather input into blocks).
  virtual absl::Status Feed(absl::string_view data, std::string* out) = 0;
  // Emits everything fed so far in decodable form without ending the stream (the origin paused:
  // the client must not wait for the next block).
  virtual absl::Status Flush(std::string* out) = 0;
  // Ends the stream (trailer, checksum). No calls afterwards.
  virtual absl::Status Finish(std::string* out) = 0;
};

// Levels: gzip 6 (nginx's and zlib's default trade-off), brotli 4, zstd 3 (their fast
// defaults for dynamic content). Windows are capped at 512 KB for brotli and zstd so one
// compressed stream costs about a megabyte at most.
constexpr int kGzipLevel = 6;
constexpr int kBrotliQuality = 4;
constexpr int kBrotliWindowBits = 19;
constexpr int kZstdLevel = 3;
constexpr int kZstdWindowLog = 19;

// A fresh encoder for `coding` (not kIdentity), or an error naming the codec.
absl::StatusOr<std::unique_ptr<Encoder>> NewEncoder(Coding coding);

}  // namespace edgerouter::policies::compress

#endif  // EDGEROUTER_DATAPLANE_POLICIES_COMPRESS_ENCODER_H_
