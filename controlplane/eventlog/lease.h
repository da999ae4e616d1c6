// A lease for duties that must run on one control-plane replica at a time (the ACME issuer):
// at most one holder, and when the holder dies another replica takes over after the lease's TTL.
// On the file log one process owns the data, so its lease is always held.
#ifndef EDGEROUTER_CONTROLPLANE_EVENTLOG_LEASE_H_
#define EDGEROUTER_CONTROLPLANE_EVENTLOG_LEASE_H_

#include <string>

#include "absl/status/statusor.h"

namespace edgerouter::controlplane {

class Lease {
 public:
  virtual ~Lease() = default;  // gives the lease up if held

  // Becomes the holder if nobody holds the lease; true if this process holds it now. Call it
  // periodically: a lost lease (expired while the store was unreachable) is re-acquired here.
  virtual absl::StatusOr<bool> TryAcquire() = 0;
  // Whether this process holds the lease now (false as soon as it may have expired).
  virtual bool IsHeld() = 0;
  // The current holder's name, "" if none.
  virtual absl::StatusOr<std::string> Holder() = 0;
};

class AlwaysHeldLease : public Lease {
 public:
  explicit AlwaysHeldLease(std::string holder) : holder_(std::move(holder)) {}
  absl::StatusOr<bool> TryAcquire() override { return true; }
  bool IsHeld() override { return true; }
  absl::StatusOr<std::string> Holder() override { return holder_; }

 private:
  const std::string holder_;
};

}  // namespace edgerouter::controlplane

#endif  // EDGEROUTER_CONTROLPLANE_EVENTLOG_LEASE_H_
