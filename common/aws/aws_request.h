// What the data plane and edgerouterctl share for talking to AWS (or an S3/Lambda-compatible
// emulator): endpoint selection from the SDKs' standard variables, credentials, and building a
// SigV4-signed HTTP request. No I/O here: callers send the request with libcurl (the data
// plane on its event loop, the CLI blocking).
#ifndef EDGEROUTER_COMMON_AWS_AWS_REQUEST_H_
#define EDGEROUTER_COMMON_AWS_AWS_REQUEST_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/aws/sigv4.h"

namespace edgerouter::aws {

// Endpoint overrides as the AWS SDKs read them: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_LAMBDA /
// AWS_ENDPOINT_URL_DYNAMODB, else AWS_ENDPOINT_URL, else the public AWS endpoints. An S3 override implies path-style
// addressing (emulators and most S3-compatible stores need it).
struct Endpoints {
  std::string s3;      // "" = https://<bucket>.s3.<region>.amazonaws.com (virtual-hosted)
  std::string lambda;  // "" = https://lambda.<region>.amazonaws.com
  std::string dynamodb;  // "" = https://dynamodb.<region>.amazonaws.com
  static Endpoints FromEnvironment();
};

// Credentials: from `credentials_file` (INI, `[default]` profile, aws_access_key_id /
// aws_secret_access_key / aws_session_token) when it is given, else from AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN. NotFound when neither yields a key pair.
absl::StatusOr<Credentials> LoadCredentials(const std::string& credentials_file);
absl::StatusOr<Credentials> ParseCredentialsFile(absl::string_view text, absl::string_view profile);

// Where a request goes: "scheme://authority" plus the wire path (already URI-encoded).
struct Target {
  std::string base;       // "http://127.0.0.1:4569"
  std::string authority;  // "127.0.0.1:4569": the Host header, which the signature covers
  std::string path;       // "/bucket/sites/app/v1/index.html"
  NameValues query;       // decoded names and values
};

// S3 object (or bucket-level when `key` is empty) in `bucket`; `key` is decoded (raw bytes).
Target S3Target(const Endpoints& endpoints, absl::string_view bucket, absl::string_view region,
                absl::string_view key, NameValues query = {});
// POST target of a synchronous Lambda invoke.
Target LambdaInvokeTarget(const Endpoints& endpoints, absl::string_view region,
                          absl::string_view function_name);

// POST target of the DynamoDB JSON API (every operation is `POST /` with X-Amz-Target).
Target DynamoDbTarget(const Endpoints& endpoints, absl::string_view region);

struct SignedRequest {
  std::string method;
  std::string url;                        // base + path + "?" + encoded query
  std::vector<std::string> header_lines;  // "Name: value", Host included
};

enum class Service { kS3, kLambda, kDynamoDb };

// Signs `method target` with a body whose SHA-256 hex is `payload_hash` ("" = empty body).
// `extra_headers` are sent unsigned (Range, If-None-Match, Content-Type, ...); `signed_headers`
// are sent and covered by the signature (DynamoDB's X-Amz-Target, as the SDKs do).
SignedRequest SignAwsRequest(Service service, absl::string_view region, absl::string_view method,
                             const Target& target, const NameValues& extra_headers,
                             std::string payload_hash, const Credentials& credentials, absl::Time now,
                             const NameValues& signed_headers = {});

// Fixed extension -> media type table (lower-case extension without the dot); text types
// carry "; charset=utf-8". Unknown: application/octet-stream.
absl::string_view ContentTypeForPath(absl::string_view path);
bool IsHtmlPath(absl::string_view path);

// Value of <Code>…</Code> in an S3/AWS XML error body ("" if none).
std::string XmlErrorCode(absl::string_view body);

}  // namespace edgerouter::aws

#endif  // EDGEROUTER_COMMON_AWS_AWS_REQUEST_H_
