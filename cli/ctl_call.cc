#include "cli/ctl_call.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cli/ctl_format.h"

namespace edgerouter::ctl {

bool CallFailed(const Invocation& inv, const grpc::Status& status, std::ostream& err) {
  if (status.ok()) return false;
  // gRPC's codes are numbered exactly like absl's, which already knows their names.
  err << "edgerouterctl: " << inv.name << ": "
      << absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())) << ": "
      << OneLine(status.error_message()) << "\n";
  return true;
}

int EmitJson(const Invocation& inv, const google::protobuf::Message& response, std::ostream& out,
             std::ostream& err) {
  absl::StatusOr<std::string> json = FormatMessageJson(response);
  if (!json.ok()) {
    err << "edgerouterctl: " << inv.name << ": " << OneLine(json.status().ToString()) << "\n";
    return 1;
  }
  out << *json;
  return 0;
}

}  // namespace edgerouter::ctl
