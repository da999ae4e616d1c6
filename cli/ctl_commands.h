// edgerouterctl commands: `app validate` offline, everything else as one Admin RPC each.
#ifndef EDGEROUTER_CLI_CTL_COMMANDS_H_
#define EDGEROUTER_CLI_CTL_COMMANDS_H_

#include <iosfwd>

#include "cli/ctl_args.h"
#include "proto/admin.grpc.pb.h"

namespace edgerouter::ctl {

// Runs `inv`, connecting to inv.controlplane (plaintext) when the command needs the control
// plane. Returns the exit code: 0 ok, 1 failure (RPC error, invalid input).
int RunInvocation(const Invocation& inv, std::istream& in, std::ostream& out,
                  std::ostream& err);

// The same against a given stub, so tests can use an in-process server. `stub` may be null
// for `app validate`.
int RunWithStub(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::istream& in,
                std::ostream& out, std::ostream& err);

}  // namespace edgerouter::ctl

#endif  // EDGEROUTER_CLI_CTL_COMMANDS_H_
