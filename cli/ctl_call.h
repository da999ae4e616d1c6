// Admin API calls from edgerouterctl: one deadline, one error line that scripts can rely on
// ("edgerouterctl: <command>: <CODE>: <message>"), one rule for -o json.
#ifndef EDGEROUTER_CLI_CTL_CALL_H_
#define EDGEROUTER_CLI_CTL_CALL_H_

#include <chrono>
#include <ostream>

#include "cli/ctl_args.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"

namespace edgerouter::ctl {

inline constexpr std::chrono::seconds kCallTimeout(5);

// Prints the error line for a failed call; false when `status` is OK.
bool CallFailed(const Invocation& inv, const grpc::Status& status, std::ostream& err);

// One Admin call with the deadline; `rpc` issues it on the given context.
template <typename Rpc>
bool Call(const Invocation& inv, std::ostream& err, Rpc rpc) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  return !CallFailed(inv, rpc(&context), err);
}

// Prints `response` as JSON with -o json (the Admin answer itself, for scripts), else `table()`.
// Returns the exit code.
int EmitJson(const Invocation& inv, const google::protobuf::Message& response, std::ostream& out,
             std::ostream& err);
template <typename Table>
int Emit(const Invocation& inv, const google::protobuf::Message& response, std::ostream& out,
         std::ostream& err, Table table) {
  if (inv.output == Output::kTable) {
    out << table();
    return 0;
  }
  return EmitJson(inv, response, out, err);
}

}  // namespace edgerouter::ctl

#endif  // EDGEROUTER_CLI_CTL_CALL_H_
