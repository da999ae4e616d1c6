// A lease on DynamoDB for duties that must run on one control-plane replica at a time (the ACME
// issuer): one lock item in the EventHorizon table, taken and renewed by a conditional put.
//
// Item: {"s": "_lease/<name>", "v": 0, "holder": S, "expires_unix_ms": N}. The key has no
// leading '/', so it is never an EventHorizon stream. PutItem succeeds only when
// `attribute_not_exists(s) OR holder = :me OR expires_unix_ms < :now`: the item is absent, ours
// (renewal) or expired. Expiry compares wall clocks across replicas, so `ttl` must be well above
// their skew; locally, a holder counts the lease as held only until the time it SENT the winning
// request plus ttl minus `safety`, so it stops before anyone else can start.
#ifndef EDGEROUTER_CONTROLPLANE_EVENTLOG_EVENTHORIZON_LEASE_H_
#define EDGEROUTER_CONTROLPLANE_EVENTLOG_EVENTHORIZON_LEASE_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controlplane/eventlog/eventhorizon/dynamodb_client.h"

namespace edgerouter::eventhorizon {

class DynamoLease {
 public:
  DynamoLease(DynamoDbClient* client, std::string table, std::string name, std::string holder_id,
              absl::Duration ttl, absl::Duration safety = absl::Milliseconds(500));

  // Takes the lease if free or expired, or renews it if held; false when someone else holds it.
  // Call it every ttl/3 or so to keep the lease.
  absl::StatusOr<bool> TryAcquire();
  // Whether this holder may act now (local deadline of the last successful TryAcquire).
  bool IsHeld() const;
  // The holder recorded in the table; "" if none or expired.
  absl::StatusOr<std::string> Holder();
  // Gives the lease up if held (a conditional delete: never someone else's).
  absl::Status Release();

  const std::string& name() const { return name_; }

 private:
  DynamoDbClient* const client_;
  const std::string table_;
  const std::string name_;
  const std::string holder_id_;
  const absl::Duration ttl_;
  const absl::Duration safety_;
  mutable absl::Mutex mu_;
  absl::Time held_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace edgerouter::eventhorizon

#endif  // EDGEROUTER_CONTROLPLANE_EVENTLOG_EVENTHORIZON_LEASE_H_
