// Byte-classification tables and word-at-a-time ASCII case helpers shared by the HTTP/1 head
// parser, the chunked decoder, the HTTP/2 request-field checks (dataplane/h2/field_rules) and
// the proxy's field-name handling (dataplane/http/field_names).
#ifndef EDGEROUTER_COMMON_HTTP_CHAR_CLASS_H_
#define EDGEROUTER_COMMON_HTTP_CHAR_CLASS_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "absl/base/attributes.h"
#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace edgerouter::http::char_class {

// Character classes, one bit each, so every hot loop is a single table lookup per byte.
enum : uint8_t {
  kToken = 1,      // tchar (RFC 9110 §5.6.2)
  kFieldChar = 2,  // inside a field value: HTAB, SP, VCHAR, obs-text (so never CR, LF, NUL, DEL)
  kVisible = 4,    // VCHAR or obs-text: request-target and version bytes
  kDigit = 8,
  kHex = 16,
  kQdText = 32,  // quoted-string text (RFC 9110 §5.6.4), excluding '"' and '\'
};

constexpr std::array<uint8_t, 256> MakeClasses() {
  constexpr std::string_view kTokenPunct = "!#$%&'*+-.^_`|~";
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    const bool vchar = c >= 0x21 && c <= 0x7E;
    const bool obs_text = c >= 0x80;
    uint8_t v = 0;
    if (alpha || digit || (c != 0 && kTokenPunct.find(static_cast<char>(c)) != std::string_view::npos)) {
      v |= kToken;
    }
    if (vchar || obs_text || c == ' ' || c == '\t') v |= kFieldChar;
    if (vchar || obs_text) v |= kVisible;
    if (digit) v |= kDigit | kHex;
    if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) v |= kHex;
    if ((v & kFieldChar) && c != '"' && c != '\\') v |= kQdText;
    t[c] = v;
  }
  return t;
}
inline constexpr std::array<uint8_t, 256> kClass = MakeClasses();

// ASCII case folding.
constexpr std::array<uint8_t, 256> MakeLower() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = static_cast<uint8_t>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
  }
  return t;
}
inline constexpr std::array<uint8_t, 256> kLower = MakeLower();

inline bool Is(char c, uint8_t cls) { return (kClass[static_cast<uint8_t>(c)] & cls) != 0; }

// SWAR pre-scan for the long runs (values, targets): true if any of the 8 bytes at p is below
// `below` (<= 0x80) or is DEL. Exact as a yes/no answer; the byte loop then finds the stop byte.
inline bool HasCtl8(const char* p, uint8_t below) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  uint64_t x;
  std::memcpy(&x, p, 8);
  const uint64_t del = x ^ (kOnes * 0x7F);
  return (((x - kOnes * below) & ~x) | ((del - kOnes) & ~del)) & kHigh;
}

// Advances p over bytes of class `cls`, where every byte that is not below `below` and not DEL
// is of that class: 16 bytes per step with SSE2 (x86-64's baseline), else 8 with SWAR. The
// first byte that may stop the run is then checked against `cls` one at a time.
inline const char* Scan(const char* p, const char* end, uint8_t below, uint8_t cls) {
#if defined(__SSE2__)
  const __m128i under = _mm_set1_epi8(static_cast<char>(below - 1));
  const __m128i del = _mm_set1_epi8(0x7F);
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Unsigned v <= below - 1 exactly when the saturating v - (below - 1) is zero.
    const __m128i low = _mm_cmpeq_epi8(_mm_subs_epu8(v, under), _mm_setzero_si128());
    const int stops = _mm_movemask_epi8(_mm_or_si128(low, _mm_cmpeq_epi8(v, del)));
    if (stops != 0) {
      p += __builtin_ctz(static_cast<unsigned>(stops));
      while (p < end && Is(*p, cls)) ++p;
      return p;
    }
    p += 16;
  }
#endif
  while (end - p >= 8 && !HasCtl8(p, below)) p += 8;
  while (p < end && Is(*p, cls)) ++p;
  return p;
}

// Advances p over a run of letters ('a'-'z', and 'A'-'Z' when kFold), digits and the kExtra
// bytes, 16 at a time with SSE2, and stops before the 16-byte block with the first other byte
// (or the last partial block): the caller's byte loop over its exact class takes it from there.
// Names, authorities and tokens are mostly such runs.
template <bool kFold, char... kExtra>
inline const char* SkipAlnum(const char* p, const char* end) {
#if defined(__SSE2__)
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Wrapping v - 'a' is <= 25 exactly for 'a'-'z' (| 0x20 first folds only 'A'-'Z' onto
    // them), and the saturating subtract of 25 is zero exactly there; digits likewise.
    const __m128i letters = kFold ? _mm_or_si128(v, _mm_set1_epi8(0x20)) : v;
    __m128i ok = _mm_cmpeq_epi8(_mm_subs_epu8(_mm_sub_epi8(letters, _mm_set1_epi8('a')), _mm_set1_epi8(25)),
                                _mm_setzero_si128());
    ok = _mm_or_si128(ok, _mm_cmpeq_epi8(_mm_subs_epu8(_mm_sub_epi8(v, _mm_set1_epi8('0')), _mm_set1_epi8(9)),
                                         _mm_setzero_si128()));
    ((ok = _mm_or_si128(ok, _mm_cmpeq_epi8(v, _mm_set1_epi8(kExtra)))), ...);
    const unsigned stops = static_cast<unsigned>(_mm_movemask_epi8(ok)) ^ 0xFFFFu;
    if (stops != 0) return p + __builtin_ctz(stops);
    p += 16;
  }
#endif
  return p;
}

// Advances p over tchar bytes (a field name).
inline const char* ScanToken(const char* p, const char* end) {
  p = SkipAlnum<true, '-'>(p, end);
  while (p < end && Is(*p, kToken)) ++p;
  return p;
}

// Eight bytes with ASCII 'A'-'Z' lower-cased, the rest untouched. Per byte: upper = ASCII and
// >= 'A' and <= 'Z', tested on the low 7 bits with adds that cannot carry into the next byte;
// 0x20 is then or-ed into those bytes.
inline uint64_t LowerAscii8(uint64_t x) {
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  const uint64_t low7 = x & ~kHigh;
  const uint64_t at_least_a = low7 + 0x3f3f3f3f3f3f3f3fULL;  // high bit: >= 'A' (0x41)
  const uint64_t above_z = low7 + 0x2525252525252525ULL;     // high bit: > 'Z' (0x5a)
  return x | ((at_least_a & ~above_z & ~x & kHigh) >> 2);
}

// Copies n bytes from src to dst lower-casing ASCII on the way (a field name into HTTP/2's
// lower-case form): words at a time, the tail as one overlapping word (lower-casing twice is
// harmless), so short names cost a few loads and stores. dst == src lower-cases in place.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void LowerAsciiCopy(char* dst, const char* src, size_t n) {
  if (n >= 8) {
    uint64_t x;
    for (size_t i = 0; i + 8 < n; i += 8) {
      std::memcpy(&x, src + i, 8);
      x = LowerAscii8(x);
      std::memcpy(dst + i, &x, 8);
    }
    std::memcpy(&x, src + n - 8, 8);
    x = LowerAscii8(x);
    std::memcpy(dst + n - 8, &x, 8);
  } else if (n >= 4) {
    uint32_t head, tail;
    std::memcpy(&head, src, 4);
    std::memcpy(&tail, src + n - 4, 4);
    head = static_cast<uint32_t>(LowerAscii8(head));
    tail = static_cast<uint32_t>(LowerAscii8(tail));
    std::memcpy(dst, &head, 4);
    std::memcpy(dst + n - 4, &tail, 4);
  } else {
    for (size_t i = 0; i < n; ++i) dst[i] = absl::ascii_tolower(static_cast<unsigned char>(src[i]));
  }
}

// `s` equals `lower` (lower-case ASCII) ignoring ASCII case: absl::EqualsIgnoreCase a word at
// a time (field names are compared per field of every message). The tail is one overlapping
// word (or two overlapping 4-byte halves below 8 bytes), not a byte loop.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool EqualsLowerAscii(absl::string_view s, absl::string_view lower) {
  const size_t n = s.size();
  if (n != lower.size()) return false;
  const char* a = s.data();
  const char* b = lower.data();
  auto load8 = [](const char* q) {
    uint64_t x;
    std::memcpy(&x, q, 8);
    return x;
  };
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8) {
      if (LowerAscii8(load8(a + i)) != load8(b + i)) return false;
    }
    return LowerAscii8(load8(a + n - 8)) == load8(b + n - 8);
  }
  if (n >= 4) {
    auto load4x2 = [n](const char* q) {
      uint32_t lo, hi;
      std::memcpy(&lo, q, 4);
      std::memcpy(&hi, q + n - 4, 4);
      return static_cast<uint64_t>(lo) | static_cast<uint64_t>(hi) << 32;
    };
    return LowerAscii8(load4x2(a)) == load4x2(b);
  }
  for (size_t i = 0; i < n; ++i) {
    if (absl::ascii_tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  }
  return true;
}

}  // namespace edgerouter::http::char_class

#endif  // EDGEROUTER_COMMON_HTTP_CHAR_CLASS_H_
