// What edgerouterctl's AWS commands share (s3/lambda, turbocharger): blocking libcurl calls
// signed with the project's SigV4 signer, the SDKs' endpoint and credential variables, and
// reading/updating an app through the Admin service.
#ifndef EDGEROUTER_CONTROLPLANE_CTL_S3_HTTP_H_
#define EDGEROUTER_CONTROLPLANE_CTL_S3_HTTP_H_

#include <curl/curl.h>

#include <chrono>
#include <iosfwd>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/aws/aws_request.h"
#include "cli/ctl_args.h"
#include "cli/ctl_call.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"
#include "proto/admin.grpc.pb.h"
#include "proto/config.pb.h"

namespace edgerouter::ctl {

struct HttpResult {
  long status = 0;
  std::string body;
  std::string error;
};

// One blocking call on `easy` (reused per thread, so its connection is kept alive).
HttpResult Perform(CURL* easy, const aws::SignedRequest& request, const std::string& body);
// "HTTP 404 NoSuchKey" or the transport error.
std::string Describe(const HttpResult& r);

struct AwsEnv {
  aws::Endpoints endpoints;
  aws::Credentials credentials;
};
absl::StatusOr<AwsEnv> LoadAwsEnv();

// The app as stored, which must be of backend `kind`.
bool GetAppOfKind(const Invocation& inv, admin::v1::Admin::StubInterface* stub, const std::string& id,
                  const std::string& kind, config::v1::Application* app, std::ostream& err);
// AppUpdated (or AppCreated with `create`) through the Admin service.
bool PutApp(const Invocation& inv, admin::v1::Admin::StubInterface* stub, const config::v1::Application& app, bool create,
            std::ostream& err);

}  // namespace edgerouter::ctl

#endif  // EDGEROUTER_CONTROLPLANE_CTL_S3_HTTP_H_
