// edgerouterctl cert import / cert ls. The private key is encrypted here, on the operator's
// machine, for the edge nodes' KEK: the control plane and the event log only ever see the
// ciphertext.
#ifndef EDGEROUTER_CLI_CTL_CERT_COMMANDS_H_
#define EDGEROUTER_CLI_CTL_CERT_COMMANDS_H_

#include <iosfwd>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/certbus/certbus.h"
#include "cli/ctl_args.h"
#include "proto/admin.grpc.pb.h"
#include "proto/events.pb.h"

namespace edgerouter::ctl {

// Runs kCertImport or kCertLs; exit code 0 ok, 1 failure.
int RunCertCommand(const Invocation& inv, admin::v1::Admin::StubInterface* stub, std::ostream& out,
                   std::ostream& err);

// "ok", "expires in <N>d" (under 14 days left; N rounded up), or "EXPIRED".
std::string ExpiryStatus(absl::Time expiry, absl::Time now);

// `cert ls`: table ID / DOMAINS / EXPIRES / STATUS of the snapshot's certificates.
std::string FormatCertList(const admin::v1::GetSnapshotResponse& response, absl::Time now);

// `cert ls`, second table when the control plane runs ACME: NAME / STATE / SOURCES / EXPIRES /
// DETAIL (failing: the CA's error and the next attempt; excluded / skipped: why). "" when off.
std::string FormatAcmeList(const admin::v1::ListAcmeNamesResponse& response);

}  // namespace edgerouter::ctl

#endif  // EDGEROUTER_CLI_CTL_CERT_COMMANDS_H_
