// AWS Signature Version 4 (HMAC-SHA256) request signing: Authorization-header signing and
// presigned-URL query signing, shared by the S3 and Lambda clients.
#ifndef EDGEROUTER_COMMON_AWS_SIGV4_H_
#define EDGEROUTER_COMMON_AWS_SIGV4_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace edgerouter::aws {

// Payload hash value for bodies that are not hashed (S3 streaming uploads, presigned URLs).
inline constexpr char kUnsignedPayload[] = "UNSIGNED-PAYLOAD";

using NameValues = std::vector<std::pair<std::string, std::string>>;

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty for long-term keys
};

struct SigningRequest {
  std::string method;  // "GET", "POST", ...
  // Path exactly as sent on the wire, i.e. already URI-encoded for real requests
  // (see UriEncode). How it is canonicalised depends on SigningConfig.
  std::string path = "/";
  // Decoded query names and values, in any order; repeats allowed. They are encoded here.
  NameValues query;
  // Headers to sign, including Host. Names are case-insensitive; repeated names are joined
  // with ',' in the order given. Do not pass hop-by-hop headers a proxy may rewrite.
  NameValues headers;
  // Lowercase hex SHA-256 of the body (Sha256Hex), or kUnsignedPayload. Empty means the
  // body is empty.
  std::string payload_hash;
};

struct SigningConfig {
  std::string region;
  std::string service;
  absl::Time time;
  // Every service except S3 removes dot segments and duplicate slashes and URI-encodes the
  // wire path once more ("double encoding"). S3 signs the wire path verbatim: set both false.
  bool normalize_path = true;
  bool double_encode_path = true;
  // S3 requires X-Amz-Content-Sha256 (signed) on every request; other services accept it.
  bool add_content_sha256_header = false;
  // false: the session token is added after signing and is not covered by the signature
  // (some services, e.g. IoT, want it that way). true is what the SDKs do.
  bool sign_session_token = true;
  // Validity of a presigned URL (X-Amz-Expires, whole seconds, at most 7 days for AWS).
  absl::Duration expires = absl::Hours(1);
};

struct HeaderSignature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;       // lowercase hex
  std::string signed_headers;  // "host;x-amz-date"
  std::string authorization;   // value of the Authorization header
  // Everything the caller must set on the request, Authorization last; replace existing
  // headers of the same names.
  NameValues headers_to_add;
};

struct QuerySignature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;
  // The X-Amz-* parameters to append (decoded values), X-Amz-Signature last.
  NameValues query_to_add;
  // The full encoded query string to send after '?': the request's own parameters
  // followed by query_to_add.
  std::string query_string;
};

// Signs with an Authorization header (the usual way for SDK calls).
HeaderSignature SignHeaders(const SigningRequest& request, const Credentials& credentials,
                            const SigningConfig& config);

// Signs into the query string (presigned URL); request.headers (at least Host) are signed
// and must be sent with the URL unchanged.
QuerySignature SignQuery(const SigningRequest& request, const Credentials& credentials,
                         const SigningConfig& config);

// Percent-encodes everything except the RFC 3986 unreserved characters (A-Z a-z 0-9 - _ . ~)
// with uppercase hex, and '/' too unless keep_slash; what SigV4 requires for paths and
// query components.
std::string UriEncode(absl::string_view in, bool keep_slash);

// Lowercase hex SHA-256, e.g. of a request body for SigningRequest::payload_hash.
std::string Sha256Hex(absl::string_view data);

// Pieces exposed for tests and for callers that build requests themselves.
std::string CanonicalPath(absl::string_view wire_path, const SigningConfig& config);
std::string CanonicalQuery(const NameValues& query);
std::string AmzDate(absl::Time t);  // "20150830T123600Z"

}  // namespace edgerouter::aws

#endif  // EDGEROUTER_COMMON_AWS_SIGV4_H_
