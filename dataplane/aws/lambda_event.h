// API Gateway emulation for the aws_lambda backend, as the real service shapes it (not as
// edgerouter did, reference §8 / quirk 9): the proxy event for payload format 1.0 (REST API)
// and 2.0 (HTTP API), and the mapping of the function's result back to an HTTP response.
// Pure functions: the invoke itself is in lambda_backend.
#ifndef EDGEROUTER_DATAPLANE_AWS_LAMBDA_EVENT_H_
#define EDGEROUTER_DATAPLANE_AWS_LAMBDA_EVENT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace edgerouter::aws {

struct LambdaRequest {
  std::string method;
  std::string path;   // after strip_path_prefix, still percent-encoded
  std::string query;  // raw, without '?'
  std::vector<std::pair<std::string, std::string>> headers;  // as received, Host included
  std::string host;
  std::string source_ip;
  std::string protocol;  // "HTTP/1.1"
  std::string request_id;
  absl::Time time;
  std::string body;
};

// The event JSON for payload format "1.0" (v2 = false) or "2.0" (v2 = true).
std::string BuildLambdaEvent(const LambdaRequest& request, bool v2);

// Whether a request body with this Content-Type is sent as text (else base64, padded).
bool IsTextBody(absl::string_view content_type, absl::string_view body);

struct LambdaHttpResponse {
  int status = 200;
  std::string headers;  // "Name: value\r\n" lines (no Content-Length)
  std::string body;
};

// Maps the function's result. v1 needs an object with a statusCode; v2 treats anything else as
// a 200 JSON body (what API Gateway does). Error: a malformed result (-> 502).
absl::StatusOr<LambdaHttpResponse> MapLambdaResult(absl::string_view payload, bool v2);

}  // namespace edgerouter::aws

#endif  // EDGEROUTER_DATAPLANE_AWS_LAMBDA_EVENT_H_
