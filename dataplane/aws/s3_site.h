// The s3_static_website backend: serves sites/<appId>/<version>/<path> from a bucket with
// signed GETs. "/" and ".../" serve index.html; "/dir" answers 301 "/dir/" when
// "dir/index.html" exists; a missing key (S3's 404, or its 403 AccessDenied when the caller
// may not list the bucket) is a 404 with the configured 404_page; ETag/Last-Modified pass
// through and conditional requests get 304; Range is passed to S3; HTML is sent with
// Cache-Control: no-cache. Whole objects up to a bound are cached per worker (S3Cache).
#ifndef EDGEROUTER_DATAPLANE_AWS_S3_SITE_H_
#define EDGEROUTER_DATAPLANE_AWS_S3_SITE_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "dataplane/aws/aws_context.h"

namespace edgerouter::aws {

struct S3SiteConfig {
  std::string app_id;
  std::string bucket;
  std::string region;
  std::string version;         // deployed_version; "" = nothing deployed (404)
  std::string not_found_page;  // 404_page, relative to the site root; "" = plain 404
};

// What the session writes back. `headers` are complete "Name: value\r\n" lines without
// Content-Length and Connection; `body` is valid only during the OnAwsResponse call.
struct AwsResponse {
  int status = 0;
  std::string headers;
  absl::string_view body;
  bool send_length = true;  // false for 304

  // The value of the first `name` field in `headers` (case-insensitive, trimmed).
  std::optional<absl::string_view> Field(absl::string_view name) const;
};

class AwsResponder {
 public:
  virtual ~AwsResponder() = default;
  // Exactly once per Start(), possibly from inside Start() (cache hit, local error).
  virtual void OnAwsResponse(const AwsResponse& response) = 0;
};

// Request facts the backend needs, copied at Start (the session's buffers move on).
struct S3RequestInfo {
  absl::string_view method;
  absl::string_view path;           // backend path: normalised, after strip_path_prefix
  absl::string_view original_path;  // the client's path, for the 301 Location
  absl::string_view query;
  absl::string_view if_none_match;
  absl::string_view if_modified_since;
  absl::string_view range;
  absl::string_view if_range;
};

// One per client connection, reused across its requests.
class S3Exchange : public AwsCallOwner {
 public:
  void Start(AwsWorkerContext* ctx, const S3SiteConfig& site, const S3RequestInfo& request,
             AwsResponder* responder);
  // Abandons a running exchange (client gone): no callback afterwards.
  void Cancel();
  bool active() const { return call_ != nullptr; }
  void OnAwsCallDone(AwsCall* call) override;

 private:
  enum class Phase { kObject, kDirProbe, kNotFoundPage };
  void Fetch(Phase phase, absl::string_view key_rel, bool head);
  void ServeObject(const S3Object& object, bool from_cache, bool partial, absl::string_view range_header);
  // A single byte range of a cached object; false when the header is not one we answer here
  // (several ranges, bad syntax): S3 then decides.
  bool ServeCachedRange(const S3Object& object);
  void NotFound();
  void Fail(int status, absl::string_view reason);
  // A plain-text answer (a copy of BODY is kept).
  void Respond(int status, absl::string_view body);
  // HEADERS are "Name: value\r\n" lines; BODY must outlive the answer.
  void Reply(int status, absl::string_view headers, absl::string_view body);
  // Every answer goes out here, with the headers already in response_ (built there in place so
  // their buffer is reused from request to request).
  void Send(int status, absl::string_view body, bool send_length = true);
  void ServeNotFoundPage(const S3Object& page);
  std::shared_ptr<S3Object> ObjectFrom(const AwsCall& call) const;

  AwsWorkerContext* ctx_ = nullptr;
  const S3SiteConfig* site_ = nullptr;
  AwsResponder* responder_ = nullptr;
  AwsCall* call_ = nullptr;
  Phase phase_ = Phase::kObject;
  bool head_ = false;
  std::string path_, original_path_, query_, if_none_match_, if_modified_since_, range_;
  std::string key_rel_;    // key below sites/<app>/<version>/
  std::string cache_key_;  // scratch
  AwsResponse response_;
  std::string body_scratch_;
};

}  // namespace edgerouter::aws

#endif  // EDGEROUTER_DATAPLANE_AWS_S3_SITE_H_
