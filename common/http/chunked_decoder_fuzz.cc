// Chunked framing decides where a request body ends, so the answer must not depend on how the
// bytes arrived: feeding the input whole and one byte at a time must end in the same state,
// at the same offset, with the same data.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/http/http1_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using edgerouter::http::ChunkedDecoder;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);

  ChunkedDecoder whole;
  std::string whole_data;
  const size_t whole_used = whole.Feed(input, [&](absl::string_view d) { whole_data.append(d.data(), d.size()); });

  ChunkedDecoder bytewise;
  std::string bytewise_data;
  size_t used = 0;
  while (used < input.size() && bytewise.state() == ChunkedDecoder::State::kInProgress) {
    const size_t n = bytewise.Feed(input.substr(used, 1), [&](absl::string_view d) { bytewise_data.append(d.data(), d.size()); });
    if (n > 1) abort();
    if (n == 0 && bytewise.state() == ChunkedDecoder::State::kInProgress) abort();  // no progress
    used += n;
  }
  if (whole.state() != bytewise.state()) abort();
  if (whole.state() != ChunkedDecoder::State::kError && (whole_used != used || whole_data != bytewise_data)) abort();
  if (whole_used > input.size()) abort();
  return 0;
}
