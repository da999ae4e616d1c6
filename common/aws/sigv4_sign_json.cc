// Test helper: reads a JSON array of requests on stdin and prints our SigV4 results as JSON,
// so botocore_compare.py can check them against botocore without sharing code.
#include <iostream>
#include <iterator>
#include <string>

#include "absl/time/time.h"
#include "common/aws/sigv4.h"
#include "nlohmann/json.hpp"

namespace {

edgerouter::aws::NameValues Pairs(const nlohmann::json& j) {
  edgerouter::aws::NameValues out;
  for (const auto& p : j) out.emplace_back(p[0].get<std::string>(), p[1].get<std::string>());
  return out;
}

}  // namespace

int main() {
  using namespace edgerouter::aws;
  std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  nlohmann::json results = nlohmann::json::array();
  for (const auto& c : nlohmann::json::parse(input)) {
    const bool s3 = c["service"] == "s3";
    SigningRequest req;
    req.method = c["method"];
    req.path = c["path"];
    req.query = Pairs(c["query"]);
    req.headers = Pairs(c["headers"]);
    req.payload_hash = c["unsigned_payload"].get<bool>() ? kUnsignedPayload
                                                         : Sha256Hex(c["body"].get<std::string>());
    Credentials creds{c["access_key"], c["secret"], c["token"]};
    SigningConfig config;
    config.region = c["region"];
    config.service = c["service"];
    config.time = absl::FromUnixSeconds(c["time"].get<int64_t>());
    // S3 signs the wire path verbatim and wants the payload hash header; others do not.
    config.normalize_path = !s3;
    config.double_encode_path = !s3;
    config.add_content_sha256_header = s3 || c["unsigned_payload"].get<bool>();
    config.expires = absl::Seconds(c["expires"].get<int64_t>());

    nlohmann::json r;
    r["name"] = c["name"];
    HeaderSignature h = SignHeaders(req, creds, config);
    r["canonical_request"] = h.canonical_request;
    r["authorization"] = h.authorization;
    r["headers_to_add"] = h.headers_to_add;
    if (c["presign"].get<bool>()) {
      // Presigned S3 URLs never hash the body; botocore hashes it for other services.
      req.payload_hash = s3 ? kUnsignedPayload : Sha256Hex(c["body"].get<std::string>());
      QuerySignature q = SignQuery(req, creds, config);
      r["presign_query"] = q.query_string;
      r["presign_signature"] = q.signature;
    }
    results.push_back(r);
  }
  std::cout << results.dump(1) << "\n";
  return 0;
}
