#include "cli/ctl_cluster_commands.h"

#include <chrono>
#include <map>
#include <ostream>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/net/host_port.h"
#include "grpcpp/grpcpp.h"

namespace edgerouter::ctl {
namespace {

std::string Short(const std::string& version) { return version.size() > 12 ? version.substr(0, 12) : version; }

std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      absl::StrAppend(&line, row[i], i + 1 < row.size() ? std::string(width[i] - row[i].size() + 2, ' ') : "");
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

}  // namespace

std::string FormatClusterStatus(const std::vector<ReplicaAnswer>& answers) {
  std::vector<std::vector<std::string>> replicas = {{"REPLICA", "ADDRESS", "LOG", "READY", "SNAPSHOT", "NODES", "STARTED"}};
  std::map<std::string, std::string> lease_holders;           // name → holder(s)
  std::map<std::string, std::map<std::string, uint64_t>> heads;  // stream → replica → head
  std::vector<std::vector<std::string>> nodes = {{"NODE", "REPLICA", "CONNECTED", "ACKED", "LAST NACK"}};
  size_t answered = 0;
  for (const ReplicaAnswer& a : answers) {
    if (!a.error.empty()) {
      replicas.push_back({"?", a.address, "-", "DOWN", "-", "-", "-"});
      continue;
    }
    ++answered;
    const admin::v1::ReplicaStatus& s = a.status;
    int connected = 0;
    for (const admin::v1::NodeStatus& n : s.nodes()) connected += n.connected();
    replicas.push_back({s.replica_id(), a.address, s.event_log(), s.ready() ? "yes" : "no", Short(s.snapshot_version()),
                        absl::StrCat(connected), absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                                                                  absl::FromUnixMillis(s.started_unix_ms()),
                                                                  absl::UTCTimeZone())});
    for (const admin::v1::LeaseStatus& l : s.leases()) {
      std::string& holder = lease_holders[l.name()];
      const std::string seen = l.holder().empty() ? "(nobody)" : l.holder();
      if (holder.empty()) {
        holder = seen;
      } else if (!absl::StrContains(holder, seen)) {
        absl::StrAppend(&holder, " / ", seen, " (replicas disagree)");
      }
    }
    for (const admin::v1::StreamHead& h : s.streams()) heads[h.stream()][s.replica_id()] = h.version();
    for (const admin::v1::NodeStatus& n : s.nodes()) {
      if (!n.connected()) continue;  // a node that left is listed by the replica it is on now
      nodes.push_back({n.node_id(), s.replica_id(), "yes", Short(n.last_acked_version()),
                       n.last_nack_version().empty() ? "-" : Short(n.last_nack_version())});
    }
  }
  std::string out = Table(replicas);
  for (const ReplicaAnswer& a : answers) {
    if (!a.error.empty()) absl::StrAppend(&out, "DOWN ", a.address, ": ", a.error, "\n");
  }
  if (!lease_holders.empty()) {
    std::vector<std::vector<std::string>> rows = {{"LEASE", "HOLDER"}};
    for (const auto& [name, holder] : lease_holders) rows.push_back({name, holder});
    absl::StrAppend(&out, "\n", Table(rows));
  }
  if (!heads.empty()) {
    std::vector<std::vector<std::string>> rows = {{"STREAM", "HEAD"}};
    for (const auto& [stream, by_replica] : heads) {
      std::map<uint64_t, std::vector<std::string>> by_head;
      for (const auto& [replica, head] : by_replica) by_head[head].push_back(replica);
      if (by_head.size() == 1 && by_replica.size() == answered) {
        rows.push_back({stream, absl::StrCat(by_head.begin()->first)});
        continue;
      }
      std::vector<std::string> parts;
      for (const auto& [head, names] : by_head) parts.push_back(absl::StrCat(head, " on ", absl::StrJoin(names, ",")));
      rows.push_back({stream, absl::StrCat(absl::StrJoin(parts, "; "), " (replicas differ)")});
    }
    absl::StrAppend(&out, "\n", Table(rows));
  }
  if (nodes.size() > 1) absl::StrAppend(&out, "\n", Table(nodes));
  return out;
}

int RunClusterStatus(const Invocation& inv, const std::shared_ptr<grpc::ChannelCredentials>& credentials,
                     std::ostream& out, std::ostream& err) {
  absl::StatusOr<std::vector<net::HostPort>> replicas = net::SplitHostPortList(inv.controlplane);
  if (!replicas.ok()) {
    err << "edgerouterctl: " << inv.name << ": --controlplane: " << replicas.status().message() << "\n";
    return 2;
  }
  std::vector<ReplicaAnswer> answers;
  for (const net::HostPort& replica : *replicas) answers.push_back({replica.ToString(), "", {}});
  // All replicas at once, so a dead one costs one deadline, not one per replica.
  std::vector<std::thread> calls;
  for (ReplicaAnswer& a : answers) {
    calls.emplace_back([&a, &credentials] {
      auto stub = admin::v1::Admin::NewStub(grpc::CreateChannel(a.address, credentials));
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
      grpc::Status s = stub->GetReplicaStatus(&context, admin::v1::GetReplicaStatusRequest(), &a.status);
      if (!s.ok()) {
        a.error = absl::StrCat(absl::StatusCodeToString(static_cast<absl::StatusCode>(s.error_code())), ": ",
                               s.error_message());
      }
    });
  }
  for (std::thread& t : calls) t.join();
  out << FormatClusterStatus(answers);
  for (const ReplicaAnswer& a : answers) {
    if (!a.error.empty()) return 1;
  }
  return 0;
}

}  // namespace edgerouter::ctl
