// Keeps trying to hold a Lease on its own thread (a lost lease — expired while the store was
// unreachable — is taken again here), so run-once duties only ask `held()`. One per duty name.
#ifndef EDGEROUTER_CONTROLPLANE_EVENTLOG_LEASE_KEEPER_H_
#define EDGEROUTER_CONTROLPLANE_EVENTLOG_LEASE_KEEPER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controlplane/eventlog/lease.h"

namespace edgerouter::controlplane {

class LeaseKeeper {
 public:
  LeaseKeeper(std::string name, std::unique_ptr<Lease> lease, absl::Duration interval = absl::Seconds(1));
  ~LeaseKeeper();  // stops the thread; the lease is given up when it is destroyed

  void Start();
  void Stop();

  const std::string& name() const { return name_; }
  bool held();
  // The holder as last seen ("" = nobody or not known yet) and the last error text.
  std::string holder();
  std::string last_error();

 private:
  void Run();

  const std::string name_;
  std::unique_ptr<Lease> lease_;
  const absl::Duration interval_;
  std::thread thread_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::string holder_ ABSL_GUARDED_BY(mu_);
  std::string last_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace edgerouter::controlplane

#endif  // EDGEROUTER_CONTROLPLANE_EVENTLOG_LEASE_KEEPER_H_
