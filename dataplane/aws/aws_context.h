// Process-wide AWS settings (read-only after start) and the per-worker AWS state built from
// them: the worker's AwsClient and its S3 object cache. Created lazily on the worker's loop
// thread the first time an AWS backend is used.
#ifndef EDGEROUTER_DATAPLANE_AWS_AWS_CONTEXT_H_
#define EDGEROUTER_DATAPLANE_AWS_AWS_CONTEXT_H_

#include <memory>
#include <string>

#include "common/aws/aws_request.h"
#include "dataplane/aws/aws_client.h"
#include "dataplane/aws/s3_cache.h"
#include "dataplane/net/event_loop.h"

namespace edgerouter::aws {

struct AwsSettings {
  Endpoints endpoints;
  Credentials credentials;
  std::string credentials_error;  // non-empty: no usable credentials (AWS backends answer 502)
  AwsClientOptions client;
  size_t s3_cache_bytes = 64 << 20;        // per worker; 0 disables the cache
  size_t s3_cache_max_object = 1 << 20;    // larger objects are never cached
  size_t s3_max_object_bytes = 32 << 20;   // objects are buffered whole; larger -> 502 (use Range)
  size_t lambda_max_request_bytes = 6 << 20;   // the Invoke API's synchronous payload limit
  size_t lambda_max_response_bytes = 6 << 20;
};

class AwsWorkerContext {
 public:
  AwsWorkerContext(net::EventLoop* loop, const AwsSettings& settings)
      : settings_(settings), client_(loop, settings.client), cache_(settings.s3_cache_bytes) {}
  const AwsSettings& settings() const { return settings_; }
  AwsClient& client() { return client_; }
  S3Cache& cache() { return cache_; }
  const AwsClient& client() const { return client_; }
  const S3Cache& cache() const { return cache_; }

 private:
  const AwsSettings& settings_;
  AwsClient client_;
  S3Cache cache_;
};

}  // namespace edgerouter::aws

#endif  // EDGEROUTER_DATAPLANE_AWS_AWS_CONTEXT_H_
