// SigV4 canonicalisation of untrusted request parts (paths and query strings of proxied S3
// requests come from clients): UriEncode leaves only unreserved bytes and %XX and decodes back
// to its input; canonical paths and queries are computed for any bytes without crashing,
// signing the same request twice gives the same signature, and a presigned S3 URL's query ends
// with its signature.
#include <cstdint>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/aws/sigv4.h"

namespace {

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // SigV4 wants upper-case hex only
}

std::string Decode(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) abort();  // a truncated escape
    const int hi = Hex(s[i + 1]), lo = Hex(s[i + 2]);
    if (hi < 0 || lo < 0) abort();
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace aws = edgerouter::aws;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  for (bool keep_slash : {false, true}) {
    const std::string encoded = aws::UriEncode(input, keep_slash);
    for (char c : encoded) {
      const bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
                      c == '~' || c == '%' || (keep_slash && c == '/');
      if (!ok) abort();
    }
    if (Decode(encoded) != input) abort();
  }
  aws::SigningRequest request;
  request.method = "GET";
  std::vector<absl::string_view> parts = absl::StrSplit(input, absl::MaxSplits('?', 1));
  request.path = std::string(parts[0]);
  if (parts.size() > 1) {
    // Canonical queries sort their parameters: past a few dozen, more of them add sorting time
    // (a quarter of this target's speed with hundreds), not code.
    constexpr size_t kMaxParams = 32;
    for (absl::string_view kv : absl::StrSplit(parts[1], '&')) {
      if (request.query.size() == kMaxParams) break;
      std::vector<std::string> nv = absl::StrSplit(kv, absl::MaxSplits('=', 1));
      nv.resize(2);
      request.query.emplace_back(nv[0], nv[1]);
    }
  }
  request.headers = {{"Host", "bucket.s3.amazonaws.com"}};
  aws::Credentials credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  for (bool s3 : {false, true}) {
    aws::SigningConfig config;
    config.region = "us-east-1";
    config.service = s3 ? "s3" : "execute-api";
    config.time = absl::FromUnixSeconds(1440938160);
    config.normalize_path = config.double_encode_path = !s3;
    const aws::HeaderSignature a = aws::SignHeaders(request, credentials, config);
    const aws::HeaderSignature b = aws::SignHeaders(request, credentials, config);
    if (a.signature != b.signature || a.signature.size() != 64) abort();
  }
  // Presigned URLs are an S3 feature; their path goes through the same CanonicalPath as the
  // header signatures above for both kinds of service, so one presigning per input covers it.
  aws::SigningConfig s3;
  s3.region = "us-east-1";
  s3.service = "s3";
  s3.time = absl::FromUnixSeconds(1440938160);
  s3.normalize_path = s3.double_encode_path = false;
  const aws::QuerySignature q = aws::SignQuery(request, credentials, s3);
  if (q.signature.size() != 64 || !absl::EndsWith(q.query_string, q.signature)) abort();
  return 0;
}
