// The lease under which the ACME issuer runs: only the holder orders certificates, so a cluster
// of control planes never orders the same name twice at once. The integrator maps this onto the
// cluster lease (etcd / DynamoDB); a single control plane on the file log always holds it.
#ifndef EDGEROUTER_CONTROLPLANE_ACME_LEASE_H_
#define EDGEROUTER_CONTROLPLANE_ACME_LEASE_H_

namespace edgerouter::acme {

class Lease {
 public:
  virtual ~Lease() = default;
  // Cheap and non-blocking: called before every order and on every idle wake-up.
  virtual bool Held() const = 0;
};

class AlwaysHeldLease : public Lease {
 public:
  bool Held() const override { return true; }
};

}  // namespace edgerouter::acme

#endif  // EDGEROUTER_CONTROLPLANE_ACME_LEASE_H_
