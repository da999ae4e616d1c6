// Lease on etcd: an etcd lease (LeaseGrant, kept alive every TTL/3) attached to the key
// <prefix>/lease/<name>, which a Txn creates only if it does not exist. When the holder dies its
// etcd lease expires after the TTL, etcd deletes the key, and the next TryAcquire elsewhere wins.
#ifndef EDGEROUTER_CONTROLPLANE_EVENTLOG_ETCD_ETCD_LEASE_H_
#define EDGEROUTER_CONTROLPLANE_EVENTLOG_ETCD_ETCD_LEASE_H_

#include <thread>

#include "absl/synchronization/mutex.h"
#include "controlplane/eventlog/etcd/etcd_client.h"
#include "controlplane/eventlog/lease.h"

namespace edgerouter::controlplane::etcd {

class EtcdLease : public Lease {
 public:
  // `client` must outlive the lease. `holder` names this replica (host, pid…).
  EtcdLease(EtcdClient* client, std::string prefix, std::string name, std::string holder,
            absl::Duration ttl = absl::Seconds(5));
  ~EtcdLease() override;

  absl::StatusOr<bool> TryAcquire() override;
  bool IsHeld() override;
  absl::StatusOr<std::string> Holder() override;

 private:
  void KeepAliveLoop();
  absl::Status KeepAliveOnce(int64_t id);

  EtcdClient* const client_;
  const std::string key_;
  const std::string holder_;
  const absl::Duration ttl_;
  std::thread keepalive_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t lease_id_ ABSL_GUARDED_BY(mu_) = 0;       // 0: none granted (or it expired)
  absl::Time valid_until_ ABSL_GUARDED_BY(mu_);      // the etcd lease surely lives until then
  bool key_held_ ABSL_GUARDED_BY(mu_) = false;       // our Txn created the key under lease_id_
};

}  // namespace edgerouter::controlplane::etcd

#endif  // EDGEROUTER_CONTROLPLANE_EVENTLOG_ETCD_ETCD_LEASE_H_
