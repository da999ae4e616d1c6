// A blocking DynamoDB JSON-protocol client (POST /, X-Amz-Target: DynamoDB_20120810.<Op>,
// application/x-amz-json-1.0) over libcurl, signed with the project's SigV4 signer. Thread-safe:
// each call borrows an easy handle from a small pool (kept connections), so the log's poller
// and concurrent appenders do not serialise on one socket.
#ifndef EDGEROUTER_CONTROLPLANE_EVENTLOG_EVENTHORIZON_DYNAMODB_CLIENT_H_
#define EDGEROUTER_CONTROLPLANE_EVENTLOG_EVENTHORIZON_DYNAMODB_CLIENT_H_

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/aws/aws_request.h"
#include "nlohmann/json.hpp"

namespace edgerouter::eventhorizon {

// What went wrong with one call. `code` is DynamoDB's error type without its namespace
// ("ConditionalCheckFailedException"); empty for transport errors (then `transport` is set).
struct DynamoError {
  long http_status = 0;
  std::string code;
  std::string message;
  std::string transport;  // curl's error text: nothing (or not all) reached us

  bool ok() const { return http_status == 0 && transport.empty() && code.empty(); }
  bool IsConditionFailed() const { return code == "ConditionalCheckFailedException"; }
  bool IsUnknownOperation() const { return code == "UnknownOperationException"; }
  bool IsThrottle() const {
    return code == "ProvisionedThroughputExceededException" || code == "ThrottlingException" ||
           code == "RequestLimitExceeded";
  }
  // Worth retrying later: throttling, 5xx, or no answer at all.
  bool IsTransient() const { return IsThrottle() || http_status >= 500 || !transport.empty(); }
  // The outcome is unknown (the request may have been applied): timeouts, broken connections, 5xx.
  bool IsAmbiguous() const { return !transport.empty() || http_status >= 500; }
  std::string Describe() const;
  // As an absl::Status: UNAVAILABLE for transient errors, else by kind; `context` first.
  absl::Status ToStatus(absl::string_view context) const;
};

template <typename T>
struct DynamoResult {
  bool ok() const { return error.ok(); }
  T value;
  DynamoError error;
};

struct DynamoDbClientOptions {
  std::string region;
  aws::Credentials credentials;
  aws::Endpoints endpoints;
  absl::Duration connect_timeout = absl::Seconds(3);
  absl::Duration request_timeout = absl::Seconds(10);
};

class DynamoDbClient {
 public:
  explicit DynamoDbClient(DynamoDbClientOptions options);
  ~DynamoDbClient();
  DynamoDbClient(const DynamoDbClient&) = delete;
  DynamoDbClient& operator=(const DynamoDbClient&) = delete;

  // One call of `operation` ("Query", "PutItem", ...) with `request` as its JSON body.
  DynamoResult<nlohmann::json> Call(absl::string_view operation, const nlohmann::json& request);

  const std::string& endpoint() const { return base_; }

 private:
  void* Borrow();
  void Return(void* easy);

  const DynamoDbClientOptions options_;
  const aws::Target target_;
  const std::string base_;
  absl::Mutex mu_;
  std::vector<void*> idle_ ABSL_GUARDED_BY(mu_);  // CURL*
};

}  // namespace edgerouter::eventhorizon

#endif  // EDGEROUTER_CONTROLPLANE_EVENTLOG_EVENTHORIZON_DYNAMODB_CLIENT_H_
