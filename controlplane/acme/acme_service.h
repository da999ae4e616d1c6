// The control plane's ACME duty (issue 15), wiring the Issuer into the product:
// - names: every exact hostname frontend of a served app (regexp frontends are reported as
//   skipped), minus names a served certificate covers (CertBus or earlier ACME);
// - challenges: appended to /t-<tenant>/acme, so every replica puts them into its snapshot and
//   every data plane answers them (dataplane/acme); Publish returns once the data planes on this
//   replica acknowledged a snapshot holding them (plus a short grace for other replicas');
// - certificates: CertificateObtained on /t-<tenant>/certbus, the key wrapped for the KEK;
// - account key: --acme_account_key=FILE, or made once and kept in the acme stream;
// - open orders: recorded in the acme stream, continued by whichever replica holds the lease;
// - the issuer runs while this replica holds the "duties" lease.
#ifndef EDGEROUTER_CONTROLPLANE_ACME_ACME_SERVICE_H_
#define EDGEROUTER_CONTROLPLANE_ACME_ACME_SERVICE_H_

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/metrics.h"
#include "controlplane/acme/acme_issuer.h"
#include "controlplane/acme/acme_stream.h"
#include "controlplane/config_hub.h"
#include "controlplane/discovery_server.h"
#include "controlplane/event_log.h"
#include "controlplane/eventlog/lease_keeper.h"
#include "proto/admin.pb.h"

namespace edgerouter::acme {

struct AcmeServiceOptions {
  std::string tenant = "1";
  IssuerOptions issuer;
  std::string account_key_file;  // empty: the key is kept in the acme stream
  std::string kek_public_file;   // the edge nodes' KEK (public half): keys are wrapped for it
  // How long Publish waits for the data planes on this replica to acknowledge the challenges,
  // and the pause after that for data planes on other replicas (they read the same stream).
  absl::Duration ack_timeout = absl::Seconds(10);
  absl::Duration challenge_grace = absl::Milliseconds(250);
};

// The names to order from a snapshot: exact hostname frontends (source "app:<id>") and hostname
// regexps (regexp = true, reported as skipped).
std::vector<NameRequest> WantedNamesOf(const controlplane::BuiltSnapshot& snapshot);

class AcmeService : public ChallengePublisher,
                    public CertificateSink,
                    public AccountKeyStore,
                    public OrderJournal {
 public:
  // Loads the KEK public key; does not touch the log yet.
  static absl::StatusOr<std::unique_ptr<AcmeService>> Create(AcmeServiceOptions options, controlplane::EventLog* log,
                                                             controlplane::ConfigHub* hub,
                                                             controlplane::DiscoveryServer* discovery);
  ~AcmeService() override;

  // Hub listener (subscribe before hub.Start): the wanted names and the served certificates.
  void OnSnapshot(std::shared_ptr<const controlplane::BuiltSnapshot> snapshot);
  // Reads the acme stream (challenges into the hub) and starts the issuer under `duties`.
  absl::Status Start(controlplane::LeaseKeeper* duties);
  void Stop();

  std::vector<NameStatus> States() const { return issuer_->States(); }
  IssuerStats stats() const { return issuer_->stats(); }
  // For Admin.ListAcmeNames (edgerouterctl cert ls).
  admin::v1::ListAcmeNamesResponse Status() const;
  void RegisterMetrics(metrics::MetricsRegistry* registry);

  // ChallengePublisher
  absl::Status Publish(const std::vector<Http01Challenge>& challenges) override;
  void Withdraw(const std::vector<Http01Challenge>& challenges) override;
  // CertificateSink
  absl::Status Publish(const events::v1::CertificateObtained& event) override;
  // AccountKeyStore (the acme stream)
  absl::StatusOr<std::optional<AccountKey>> Load() override;
  absl::Status Save(const AccountKey& key) override;
  // OrderJournal
  std::string OpenOrder(const std::string& name) override;
  void OrderStarted(const std::string& name, const std::string& order_url) override;
  void OrderEnded(const std::string& name, const std::string& outcome) override;

 private:
  // The duties lease as the issuer's Lease (held while the keeper holds it).
  class KeeperLease : public controlplane::Lease {
   public:
    absl::StatusOr<bool> TryAcquire() override { return IsHeld(); }
    bool IsHeld() override {
      controlplane::LeaseKeeper* k = keeper.load();
      return k != nullptr && k->held();
    }
    absl::StatusOr<std::string> Holder() override {
      controlplane::LeaseKeeper* k = keeper.load();
      return k != nullptr ? k->holder() : "";
    }
    std::atomic<controlplane::LeaseKeeper*> keeper{nullptr};
  };

  AcmeService(AcmeServiceOptions options, certbus::KekPublicKey kek, controlplane::EventLog* log,
              controlplane::ConfigHub* hub, controlplane::DiscoveryServer* discovery);
  void Append(const events::v1::Event& event, const char* what);
  // Whether the current snapshot holds every token and each data plane on this replica acked it.
  bool ChallengesServed(const std::vector<Http01Challenge>& challenges, std::string* waiting_for);

  const AcmeServiceOptions options_;
  controlplane::EventLog* const log_;
  controlplane::ConfigHub* const hub_;
  controlplane::DiscoveryServer* const discovery_;
  const std::string stream_;
  KeeperLease lease_;
  std::unique_ptr<FileAccountKeyStore> file_keys_;
  std::unique_ptr<Issuer> issuer_;
  std::unique_ptr<controlplane::WatchHandle> watch_;

  mutable absl::Mutex mu_;
  AcmeStreamState state_ ABSL_GUARDED_BY(mu_);
  // What the issuer was last told about (hub thread only): the next snapshot is diffed against it.
  std::shared_ptr<const controlplane::BuiltSnapshot> last_snapshot_;
};

}  // namespace edgerouter::acme

#endif  // EDGEROUTER_CONTROLPLANE_ACME_ACME_SERVICE_H_
