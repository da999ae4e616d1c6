// edgerouterctl's turbocharger commands, as edgerouter's: `tar-deploy-to-store PROJECT` (a tar
// on stdin -> files and a manifest in $TURBOCHARGER_STORE; prints only the manifest id),
// `download-from-store ID` (the files under the current directory) and
// `deploy-site-from-store APP ID` (AppUpdated with the new manifest: deploy or rollback).
#ifndef EDGEROUTER_CLI_CTL_TURBOCHARGER_COMMANDS_H_
#define EDGEROUTER_CLI_CTL_TURBOCHARGER_COMMANDS_H_

#include <iosfwd>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/archive_reader.h"
#include "cli/ctl_args.h"
#include "proto/admin.grpc.pb.h"

namespace edgerouter::ctl {

bool IsTurbochargerCommand(Command command);
// Exit code: 0 ok, 1 failure (with one error line on `err`).
int RunTurbochargerCommand(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::istream& in,
                           std::ostream& out, std::ostream& err);

// A tar entry's name as a manifest path ("a/b.js" -> "/a/b.js"). Refused as edgerouter does:
// names starting with "." or "/"; and anything escaping the root or not a plain path: "..",
// "." or empty components.
absl::StatusOr<std::string> ManifestPathForEntry(const std::string& name);

}  // namespace edgerouter::ctl

#endif  // EDGEROUTER_CLI_CTL_TURBOCHARGER_COMMANDS_H_
