#include "cli/ctl_cluster_commands.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace edgerouter::ctl {
namespace {

// True if some line of `out` starts with these whitespace-separated fields.
bool HasRow(const std::string& out, const std::vector<std::string>& fields) {
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    std::vector<std::string> got = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (got.size() >= fields.size() && std::equal(fields.begin(), fields.end(), got.begin())) return true;
  }
  return false;
}

admin::v1::ReplicaStatus Replica(const std::string& id, uint64_t lb_head, const std::string& holder) {
  admin::v1::ReplicaStatus s;
  s.set_replica_id(id);
  s.set_event_log("etcd");
  s.set_ready(true);
  s.set_snapshot_version("0123456789abcdef0123");
  admin::v1::StreamHead* h = s.add_streams();
  h->set_stream("/t-1/loadbalancer");
  h->set_version(lb_head);
  admin::v1::LeaseStatus* l = s.add_leases();
  l->set_name("acme-issuer");
  l->set_holder(holder);
  l->set_held_here(holder == id);
  admin::v1::NodeStatus* n = s.add_nodes();
  n->set_node_id("edge-of-" + id);
  n->set_connected(true);
  n->set_last_acked_version("0123456789abcdef0123");
  admin::v1::NodeStatus* gone = s.add_nodes();
  gone->set_node_id("left-" + id);
  gone->set_connected(false);
  return s;
}

TEST(FormatClusterStatus, MergesReplicasLeasesHeadsAndNodes) {
  std::vector<ReplicaAnswer> answers = {{"127.0.0.1:1", "", Replica("cp-a", 7, "cp-a")},
                                        {"127.0.0.1:2", "", Replica("cp-b", 7, "cp-a")},
                                        {"127.0.0.1:3", "UNAVAILABLE: failed to connect", {}}};
  const std::string out = FormatClusterStatus(answers);
  EXPECT_TRUE(HasRow(out, {"cp-a", "127.0.0.1:1", "etcd", "yes", "0123456789ab", "1"})) << out;
  EXPECT_TRUE(HasRow(out, {"?", "127.0.0.1:3", "-", "DOWN"})) << out;
  EXPECT_TRUE(HasRow(out, {"DOWN", "127.0.0.1:3:", "UNAVAILABLE:", "failed", "to", "connect"})) << out;
  EXPECT_TRUE(HasRow(out, {"acme-issuer", "cp-a"})) << out;
  EXPECT_TRUE(HasRow(out, {"/t-1/loadbalancer", "7"})) << out;
  EXPECT_TRUE(HasRow(out, {"edge-of-cp-b", "cp-b", "yes"})) << out;
  EXPECT_FALSE(absl::StrContains(out, "left-cp-a")) << out;  // disconnected nodes are not "on" a replica
}

TEST(FormatClusterStatus, ShowsDisagreementsInsteadOfHidingThem) {
  std::vector<ReplicaAnswer> answers = {{"a:1", "", Replica("cp-a", 7, "cp-a")},
                                        {"b:2", "", Replica("cp-b", 5, "cp-b")}};
  const std::string out = FormatClusterStatus(answers);
  EXPECT_TRUE(absl::StrContains(out, "5 on cp-b; 7 on cp-a (replicas differ)")) << out;
  EXPECT_TRUE(absl::StrContains(out, "cp-a / cp-b (replicas disagree)")) << out;
}

}  // namespace
}  // namespace edgerouter::ctl
