// Reducers for the durable streams: /t-<tenant>/loadbalancer (AppUpdated = upsert by id,
// AppDeleted = delete by id) and /t-<tenant>/certbus (latest CertificateObtained per Id wins,
// CertificateRemoved deletes). An unknown event type or an undecodable payload is skipped,
// counted and remembered with `stream@version`: it never blocks the stream (edgerouter's
// reader freezes there).
#ifndef EDGEROUTER_CONTROLPLANE_STREAM_STATE_H_
#define EDGEROUTER_CONTROLPLANE_STREAM_STATE_H_

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "controlplane/event_log.h"
#include "controlplane/snapshot_builder.h"
#include "proto/config.pb.h"
#include "proto/events.pb.h"
#include "proto/snapshot.pb.h"

namespace edgerouter::controlplane {

// The payloads of the event types the reducers read, decoded as they read them (tolerant of
// unknown fields). AppUpdated needs Application.id, CertificateObtained an Id.
absl::StatusOr<events::v1::AppUpdated> DecodeAppUpdated(const events::v1::Event& event);
absl::StatusOr<events::v1::AppDeleted> DecodeAppDeleted(const events::v1::Event& event);
absl::StatusOr<events::v1::CertificateObtained> DecodeCertificateObtained(const events::v1::Event& event);
absl::StatusOr<events::v1::CertificateRemoved> DecodeCertificateRemoved(const events::v1::Event& event);
// IpRulesUpdated's HCL parsed (docs/ip-rules.md); an empty Hcl gives an empty rule list.
absl::StatusOr<config::v1::IpRules> DecodeIpRulesUpdated(const events::v1::Event& event);

// What a CertificateObtained must hold to be served (PutCertificate's checks): Id, Domains, a
// PEM certificate, the KEK's SHA256 fingerprint, a key ciphertext that is not a plaintext key,
// an RFC 3339 expiry.
absl::Status ValidateCertificate(const events::v1::CertificateObtained& cert);

// The check before an append: an event of a type the reducers read must decode as they decode
// it and hold what the typed writes accept (an app as PutApp validates it, a certificate as
// PutCertificate does, an Id to delete). Other types are stored as given.
absl::Status ValidateEventForAppend(const events::v1::Event& event);

// A skipped event: `where` is "stream@version", `reason` says why.
struct SkippedEvent {
  std::string where;
  std::string type;
  std::string reason;
};

class SkippedEvents {
 public:
  void Add(SkippedEvent e);
  uint64_t total() const { return total_; }
  const std::deque<SkippedEvent>& recent() const { return recent_; }

 private:
  static constexpr size_t kKeep = 100;
  uint64_t total_ = 0;
  std::deque<SkippedEvent> recent_;
};

class LoadBalancerState {
 public:
  explicit LoadBalancerState(std::string stream) : stream_(std::move(stream)) {}
  void Apply(const LogEntry& entry);

  const std::string& stream() const { return stream_; }
  uint64_t version() const { return version_; }
  // Sorted by id, prepared (validated + hashed) when their event is applied; origin is
  // "<stream>@<version that wrote it>".
  const std::map<std::string, std::shared_ptr<const PreparedApp>>& apps() const { return apps_; }
  const SkippedEvents& skipped() const { return skipped_; }
  // The latest IpRulesUpdated's rules (null: none, or withdrawn by an empty one).
  const ResourcePtr& ip_rules() const { return ip_rules_; }
  // Ids updated or deleted since the last call (sorted): what the next build re-resolves.
  std::set<std::string> TakeChangedIds() { return std::exchange(changed_ids_, {}); }

 private:
  std::string stream_;
  uint64_t version_ = 0;
  std::map<std::string, std::shared_ptr<const PreparedApp>> apps_;
  std::set<std::string> changed_ids_;
  ResourcePtr ip_rules_;
  SkippedEvents skipped_;
};

class CertBusState {
 public:
  explicit CertBusState(std::string stream) : stream_(std::move(stream)) {}
  void Apply(const LogEntry& entry);

  const std::string& stream() const { return stream_; }
  uint64_t version() const { return version_; }
  const std::map<std::string, ResourcePtr>& resources() const { return resources_; }
  const SkippedEvents& skipped() const { return skipped_; }
  // Ids obtained or removed since the last call (sorted): what the next build re-reads.
  std::set<std::string> TakeChangedIds() { return std::exchange(changed_ids_, {}); }

 private:
  std::string stream_;
  uint64_t version_ = 0;
  std::map<std::string, ResourcePtr> resources_;  // by id: each certificate once, as served
  std::set<std::string> changed_ids_;
  SkippedEvents skipped_;
};

}  // namespace edgerouter::controlplane

#endif  // EDGEROUTER_CONTROLPLANE_STREAM_STATE_H_
