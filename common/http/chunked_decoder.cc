// ChunkedDecoder (declared in http1_parser.h): a byte-at-a-time state machine for the framing
// lines and a bulk skip over chunk data.
#include <algorithm>

#include "common/http/char_class.h"
#include "common/http/http1_parser.h"

namespace edgerouter::http {

using char_class::Is;
using char_class::kDigit;
using char_class::kFieldChar;
using char_class::kHex;
using char_class::kQdText;
using char_class::kToken;

void ChunkedDecoder::Reset() { *this = ChunkedDecoder(); }

size_t ChunkedDecoder::FeedImpl(absl::string_view input, void (*cb)(void*, absl::string_view), void* ctx) {
  if (state_ != State::kInProgress) return 0;
  const char* const begin = input.data();
  const char* const end = begin + input.size();
  const char* p = begin;
  const auto fail = [&](const char* why) {
    state_ = State::kError;
    error_ = why;
    return static_cast<size_t>(p - begin);
  };
  while (p < end) {
    if (phase_ == Phase::kData) {  // the bulk of the bytes: no per-byte work
      const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, end - p));
      if (cb != nullptr) cb(ctx, absl::string_view(p, n));
      p += n;
      remaining_ -= n;
      if (remaining_ == 0) phase_ = Phase::kDataCr;
      continue;
    }
    const char c = *p++;
    switch (phase_) {
      case Phase::kSize:
        if (c != '\r' && ++line_bytes_ > kMaxLineBytes) return fail("chunk size line too long");
        if (Is(c, kHex)) {
          // A 62-bit bound keeps every sum of sizes and offsets far from overflow.
          if ((remaining_ >> 58) != 0) return fail("chunk size too large");
          remaining_ = (remaining_ << 4) | static_cast<uint64_t>(Is(c, kDigit) ? c - '0' : (c | 0x20) - 'a' + 10);
          ++size_digits_;
        } else if (size_digits_ == 0) {
          return fail("invalid chunk size");
        } else if (c == ';') {
          phase_ = Phase::kExt;
          ext_state_ = 0;
        } else if (c == '\r') {
          phase_ = Phase::kSizeLf;
        } else {
          return fail("invalid chunk size");
        }
        break;
      case Phase::kExt:
        // ext_state_: 0 name start, 1 name, 2 value start, 3 token value, 4 quoted, 5 after
        // backslash, 6 after closing quote.
        if (c != '\r' && ++line_bytes_ > kMaxLineBytes) return fail("chunk extension too long");
        if (c == '\r' && (ext_state_ == 1 || ext_state_ == 3 || ext_state_ == 6)) {
          phase_ = Phase::kSizeLf;
        } else if (c == ';' && (ext_state_ == 1 || ext_state_ == 3 || ext_state_ == 6)) {
          ext_state_ = 0;
        } else if (ext_state_ <= 1 && Is(c, kToken)) {
          ext_state_ = 1;
        } else if (ext_state_ == 1 && c == '=') {
          ext_state_ = 2;
        } else if ((ext_state_ == 2 || ext_state_ == 3) && Is(c, kToken)) {
          ext_state_ = 3;
        } else if (ext_state_ == 2 && c == '"') {
          ext_state_ = 4;
        } else if (ext_state_ == 4 && c == '"') {
          ext_state_ = 6;
        } else if (ext_state_ == 4 && c == '\\') {
          ext_state_ = 5;
        } else if ((ext_state_ == 4 && Is(c, kQdText)) || (ext_state_ == 5 && Is(c, kFieldChar))) {
          ext_state_ = 4;
        } else {
          return fail("invalid chunk extension");
        }
        break;
      case Phase::kSizeLf:
        if (c != '\n') return fail("chunk size line not ended by CRLF");
        line_bytes_ = 0;
        phase_ = remaining_ == 0 ? Phase::kTrailerStart : Phase::kData;
        break;
      case Phase::kDataCr:
        if (c != '\r') return fail("missing CRLF after chunk data");
        phase_ = Phase::kDataLf;
        break;
      case Phase::kDataLf:
        if (c != '\n') return fail("missing CRLF after chunk data");
        size_digits_ = 0;
        phase_ = Phase::kSize;
        break;
      case Phase::kTrailerStart:
        if (c == '\r') {
          phase_ = Phase::kFinalLf;
        } else if (Is(c, kToken)) {
          phase_ = Phase::kTrailerLine;
          ext_state_ = 0;  // 0: in the name, 1: in the value
          line_bytes_ = 1;
        } else {
          return fail("invalid trailer field");
        }
        break;
      case Phase::kTrailerLine:
        if (c == '\r') {
          if (ext_state_ == 0) return fail("invalid trailer field");
          phase_ = Phase::kTrailerLf;
        } else if (++line_bytes_ > kMaxLineBytes) {
          return fail("trailer field too long");
        } else if (ext_state_ == 0 && c == ':') {
          ext_state_ = 1;
        } else if (ext_state_ == 0 ? !Is(c, kToken) : !Is(c, kFieldChar)) {
          return fail("invalid trailer field");
        }
        break;
      case Phase::kTrailerLf:
        if (c != '\n') return fail("bare CR in trailer section");
        line_bytes_ = 0;
        phase_ = Phase::kTrailerStart;
        break;
      case Phase::kFinalLf:
        if (c != '\n') return fail("chunked body not ended by CRLF");
        state_ = State::kDone;
        return static_cast<size_t>(p - begin);
      case Phase::kData:
        break;  // handled above
    }
  }
  return static_cast<size_t>(p - begin);
}

}  // namespace edgerouter::http
