// The aws_lambda backend: a synchronous Invoke (POST /2015-03-31/functions/<name>/invocations,
// SigV4 service "lambda") on the worker loop, with the API Gateway event and result mapping of
// lambda_event. A function error (X-Amz-Function-Error) and a failed invoke are 502 with a log
// line naming the error type, a timeout is 504.
#ifndef EDGEROUTER_DATAPLANE_AWS_LAMBDA_BACKEND_H_
#define EDGEROUTER_DATAPLANE_AWS_LAMBDA_BACKEND_H_

#include <string>

#include <memory>

#include "dataplane/turbocharger/attachment.h"
#include "dataplane/aws/aws_context.h"
#include "dataplane/aws/lambda_event.h"
#include "dataplane/aws/s3_site.h"

namespace edgerouter::aws {

struct LambdaConfig {
  std::string app_id;
  std::string function_name;
  std::string region;
  bool v2 = false;  // payload_format_version "2.0"
  // The turbocharger middleware's state (null without TURBOCHARGER_STORE): see ProxyTarget.
  std::shared_ptr<turbocharger::SharedAttachment> turbocharger;
};

// One per client connection, reused across its requests.
class LambdaExchange : public AwsCallOwner {
 public:
  // The request (headers copied by the session; the body is filled in as it arrives).
  LambdaRequest& request() { return request_; }
  // Invokes with request(); answers through `responder` (possibly before returning).
  void Invoke(AwsWorkerContext* ctx, const LambdaConfig& config, AwsResponder* responder);
  void Cancel();
  void OnAwsCallDone(AwsCall* call) override;

 private:
  void Fail(int status, absl::string_view reason);

  AwsWorkerContext* ctx_ = nullptr;
  const LambdaConfig* config_ = nullptr;
  AwsResponder* responder_ = nullptr;
  AwsCall* call_ = nullptr;
  LambdaRequest request_;
  AwsResponse response_;
  std::string body_;
};

}  // namespace edgerouter::aws

#endif  // EDGEROUTER_DATAPLANE_AWS_LAMBDA_BACKEND_H_
