// A real etcd cluster for tests: N members of Debian's etcd on 127.0.0.1 with free ports and fast
// elections (--heartbeat-interval 50 --election-timeout 250), one data dir each under `dir`.
// Members are stopped by PID (SIGKILL) when the cluster object goes away.
#ifndef EDGEROUTER_CONTROLPLANE_EVENTLOG_ETCD_TEST_ETCD_CLUSTER_H_
#define EDGEROUTER_CONTROLPLANE_EVENTLOG_ETCD_TEST_ETCD_CLUSTER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/subprocess.h"
#include "controlplane/eventlog/etcd/etcd_client.h"

namespace edgerouter::testing {

class EtcdCluster {
 public:
  // Starts `members` members and returns once every one reports the same leader and a
  // linearizable read succeeds. With `tls`, clients must speak TLS with a client certificate
  // (a CA and certificates are made under `dir`/tls; client_tls() names them).
  static absl::StatusOr<std::unique_ptr<EtcdCluster>> Start(const std::string& dir, int members = 3,
                                                            bool tls = false);
  ~EtcdCluster();

  std::string endpoints() const;  // "127.0.0.1:p,127.0.0.1:q,…" for --etcd_endpoints
  std::vector<std::string> endpoint_list() const;
  int size() const { return static_cast<int>(members_.size()); }

  // Index of the member every running member names as leader; polls until `timeout`.
  absl::StatusOr<int> Leader(absl::Duration timeout);
  void Kill(int index);  // SIGKILL, reaped
  bool running(int index) const { return members_[index].process != nullptr; }
  // Brings a killed member back with its data dir (--initial-cluster-state existing).
  absl::Status Restart(int index);
  // Polls until all running members agree on a leader and a quorum read succeeds.
  absl::Status WaitHealthy(absl::Duration timeout);
  std::string Output(int index);
  // The files a client needs (empty when the cluster runs without TLS).
  const GrpcTlsFiles& client_tls() const { return client_tls_; }

 private:
  struct Member {
    std::string name;
    int client_port = 0;
    int peer_port = 0;
    std::string data_dir;
    std::unique_ptr<Subprocess> process;
    std::unique_ptr<controlplane::etcd::EtcdClient> client;  // this member only
  };

  absl::Status Launch(int index, const std::string& state);

  std::string dir_;
  std::string initial_cluster_;
  std::string token_;
  bool tls_ = false;
  GrpcTlsFiles client_tls_;
  GrpcTlsFiles server_tls_;
  std::vector<Member> members_;
  std::unique_ptr<controlplane::etcd::EtcdClient> cluster_client_;
};

}  // namespace edgerouter::testing

#endif  // EDGEROUTER_CONTROLPLANE_EVENTLOG_ETCD_TEST_ETCD_CLUSTER_H_
