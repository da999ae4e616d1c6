#include "controlplane/stream_state.h"


#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/app_config.h"
#include "common/log/log.h"
#include "controlplane/ip_rules_hcl.h"

namespace edgerouter::controlplane {
namespace {

template <typename Payload>
absl::StatusOr<Payload> Decode(const events::v1::Event& event) {
  Payload payload;
  absl::Status s = config::DecodeEventPayload(event.payload_json(), config::InputMode::kTolerant, &payload);
  if (!s.ok()) return s;
  return payload;
}

}  // namespace

absl::StatusOr<events::v1::AppUpdated> DecodeAppUpdated(const events::v1::Event& event) {
  absl::StatusOr<events::v1::AppUpdated> updated = Decode<events::v1::AppUpdated>(event);
  if (updated.ok() && (!updated->has_application() || updated->application().id().empty())) {
    return absl::InvalidArgumentError("Application.id is required");
  }
  return updated;
}

absl::StatusOr<events::v1::AppDeleted> DecodeAppDeleted(const events::v1::Event& event) {
  return Decode<events::v1::AppDeleted>(event);
}

absl::StatusOr<events::v1::CertificateObtained> DecodeCertificateObtained(const events::v1::Event& event) {
  absl::StatusOr<events::v1::CertificateObtained> obtained = Decode<events::v1::CertificateObtained>(event);
  if (obtained.ok() && obtained->id().empty()) return absl::InvalidArgumentError("Id is required");
  return obtained;
}

absl::StatusOr<events::v1::CertificateRemoved> DecodeCertificateRemoved(const events::v1::Event& event) {
  return Decode<events::v1::CertificateRemoved>(event);
}

absl::StatusOr<config::v1::IpRules> DecodeIpRulesUpdated(const events::v1::Event& event) {
  absl::StatusOr<events::v1::IpRulesUpdated> updated = Decode<events::v1::IpRulesUpdated>(event);
  if (!updated.ok()) return updated.status();
  if (updated->hcl().empty()) return config::v1::IpRules();
  absl::StatusOr<config::v1::IpRules> rules = ParseIpRulesHcl(updated->hcl());
  if (!rules.ok()) return absl::InvalidArgumentError(absl::StrCat("Hcl: ", rules.status().message()));
  return rules;
}

absl::Status ValidateCertificate(const events::v1::CertificateObtained& cert) {
  absl::Time unused;
  std::string error;
  if (cert.id().empty()) return absl::InvalidArgumentError("Id is required");
  if (cert.domains().empty()) return absl::InvalidArgumentError("Domains is empty");
  if (!absl::StrContains(cert.cert_pem_bundle(), "-----BEGIN CERTIFICATE-----")) {
    return absl::InvalidArgumentError("CertPemBundle holds no PEM certificate");
  }
  if (!absl::StartsWith(cert.private_key_dek_fingerprint(), "SHA256:")) {
    return absl::InvalidArgumentError("PrivateKeyDekFingerprint must be an SSH SHA256 fingerprint");
  }
  if (cert.private_key_ciphertext().empty()) return absl::InvalidArgumentError("PrivateKeyCiphertext is empty");
  if (absl::StrContains(cert.private_key_ciphertext(), "PRIVATE KEY")) {
    // Private keys never travel in plaintext outside the edge nodes.
    return absl::InvalidArgumentError("PrivateKeyCiphertext looks like a plaintext PEM key; encrypt it for the KEK");
  }
  if (!absl::ParseTime(absl::RFC3339_full, cert.expires(), &unused, &error)) {
    return absl::InvalidArgumentError(absl::StrCat("Expires \"", cert.expires(), "\" is not RFC 3339"));
  }
  return absl::OkStatus();
}

absl::Status ValidateEventForAppend(const events::v1::Event& event) {
  const std::string& type = event.type();
  if (type == "AppUpdated") {
    absl::StatusOr<events::v1::AppUpdated> updated = DecodeAppUpdated(event);
    if (!updated.ok()) return updated.status();
    // What PutApp accepts: an app the snapshot builder would not reject.
    std::vector<std::string> problems = config::ValidateApplication(updated->application());
    if (!problems.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("app ", updated->application().id(), ": ", absl::StrJoin(problems, "; ")));
    }
    return absl::OkStatus();
  }
  if (type == "AppDeleted") {
    absl::StatusOr<events::v1::AppDeleted> deleted = DecodeAppDeleted(event);
    if (!deleted.ok()) return deleted.status();
    return deleted->id().empty() ? absl::InvalidArgumentError("Id is required") : absl::OkStatus();
  }
  if (type == "IpRulesUpdated") return DecodeIpRulesUpdated(event).status();
  if (type == "CertificateObtained") {
    absl::StatusOr<events::v1::CertificateObtained> obtained = DecodeCertificateObtained(event);
    return obtained.ok() ? ValidateCertificate(*obtained) : obtained.status();
  }
  if (type == "CertificateRemoved") {
    absl::StatusOr<events::v1::CertificateRemoved> removed = DecodeCertificateRemoved(event);
    if (!removed.ok()) return removed.status();
    return removed->id().empty() ? absl::InvalidArgumentError("Id is required") : absl::OkStatus();
  }
  return absl::OkStatus();  // a type no reducer reads: stored as given
}

void SkippedEvents::Add(SkippedEvent e) {
  ++total_;
  log::Warn("event skipped").Kv("at", e.where).Kv("type", e.type).Kv("reason", e.reason);
  recent_.push_back(std::move(e));
  if (recent_.size() > kKeep) recent_.pop_front();
}

void LoadBalancerState::Apply(const LogEntry& entry) {
  version_ = entry.version;
  const std::string where = absl::StrCat(stream_, "@", entry.version);
  for (const events::v1::Event& event : entry.events) {
    if (event.type() == "AppUpdated") {
      absl::StatusOr<events::v1::AppUpdated> updated = DecodeAppUpdated(event);
      if (!updated.ok()) {
        skipped_.Add({where, event.type(), std::string(updated.status().message())});
      } else {
        const std::string id = updated->application().id();
        changed_ids_.insert(id);
        apps_[id] = std::make_shared<const PreparedApp>(
            PrepareApp(std::move(*updated->mutable_application()), where));
      }
    } else if (event.type() == "AppDeleted") {
      absl::StatusOr<events::v1::AppDeleted> deleted = DecodeAppDeleted(event);
      if (!deleted.ok()) {
        skipped_.Add({where, event.type(), std::string(deleted.status().message())});
      } else {
        // Deleting an absent app is a no-op, as in edgerouter.
        if (apps_.erase(deleted->id()) > 0) changed_ids_.insert(deleted->id());
      }
    } else if (event.type() == "IpRulesUpdated") {
      // A bad rule set is skipped: the rules before it keep applying.
      absl::StatusOr<config::v1::IpRules> rules = DecodeIpRulesUpdated(event);
      if (!rules.ok()) {
        skipped_.Add({where, event.type(), std::string(rules.status().message())});
      } else {
        ip_rules_ = rules->rules().empty() ? nullptr : PrepareIpRules(*std::move(rules), where);
      }
    } else {
      skipped_.Add({where, event.type(), "unknown event type"});
    }
  }
}

void CertBusState::Apply(const LogEntry& entry) {
  version_ = entry.version;
  const std::string where = absl::StrCat(stream_, "@", entry.version);
  for (const events::v1::Event& event : entry.events) {
    if (event.type() == "CertificateObtained") {
      absl::StatusOr<events::v1::CertificateObtained> obtained = DecodeCertificateObtained(event);
      if (!obtained.ok()) {
        skipped_.Add({where, event.type(), std::string(obtained.status().message())});
      } else {
        resources_[obtained->id()] = PrepareCertificate(*obtained);
        changed_ids_.insert(obtained->id());
      }
    } else if (event.type() == "CertificateRemoved") {
      absl::StatusOr<events::v1::CertificateRemoved> removed = DecodeCertificateRemoved(event);
      if (!removed.ok()) {
        skipped_.Add({where, event.type(), std::string(removed.status().message())});
      } else {
        resources_.erase(removed->id());
        changed_ids_.insert(removed->id());
      }
    } else if (event.type() == "ConfigUpdated") {
      // Manager configuration: stored by CertBus, not used by the load balancer.
    } else {
      skipped_.Add({where, event.type(), "unknown event type"});
    }
  }
}

}  // namespace edgerouter::controlplane
