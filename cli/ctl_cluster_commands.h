// edgerouterctl cluster status: asks every replica named by --controlplane (h:p,h:p,…) for
// its own view and prints one merged picture: replicas, leases, log heads, nodes per replica.
#ifndef EDGEROUTER_CLI_CTL_CLUSTER_COMMANDS_H_
#define EDGEROUTER_CLI_CTL_CLUSTER_COMMANDS_H_

#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "cli/ctl_args.h"
#include "grpcpp/security/credentials.h"
#include "proto/admin.grpc.pb.h"

namespace edgerouter::ctl {

struct ReplicaAnswer {
  std::string address;  // as given on the command line
  std::string error;    // "" = answered
  admin::v1::ReplicaStatus status;
};

// Exit code 0 when every replica answered, 1 otherwise (the table still shows the others).
int RunClusterStatus(const Invocation& inv, const std::shared_ptr<grpc::ChannelCredentials>& credentials,
                     std::ostream& out, std::ostream& err);

// The report; a stream whose head differs between replicas lists each replica's head.
std::string FormatClusterStatus(const std::vector<ReplicaAnswer>& answers);

}  // namespace edgerouter::ctl

#endif  // EDGEROUTER_CLI_CTL_CLUSTER_COMMANDS_H_
