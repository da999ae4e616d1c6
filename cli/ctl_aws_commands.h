// edgerouterctl's S3-website and Lambda commands: `s3 mk|deploy|versions|rollback` and
// `lambda mk`. App changes go through the Admin service (an AppUpdated event, like `app put`);
// S3 is reached directly with blocking libcurl and the same signer, endpoint variables
// (AWS_ENDPOINT_URL[_S3]) and credential variables as the data plane.
#ifndef EDGEROUTER_CLI_CTL_AWS_COMMANDS_H_
#define EDGEROUTER_CLI_CTL_AWS_COMMANDS_H_

#include <iosfwd>

#include "cli/ctl_args.h"
#include "proto/admin.grpc.pb.h"

namespace edgerouter::ctl {

bool IsAwsCommand(Command command);
// Exit code: 0 ok, 1 failure (with one error line on `err`).
int RunAwsCommand(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::ostream& out,
                  std::ostream& err);

}  // namespace edgerouter::ctl

#endif  // EDGEROUTER_CLI_CTL_AWS_COMMANDS_H_
