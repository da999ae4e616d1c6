#include "controlplane/stream_state.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/app_config.h"

namespace edgerouter::controlplane {

void SkippedEvents::Add(SkippedEvent e) {
  ++total_;
  std::fprintf(stderr, "level=WARN msg=\"event skipped\" at=%s type=%s reason=\"%s\"\n",
               e.where.c_str(), e.type.c_str(), e.reason.c_str());
  recent_.push_back(std::move(e));
  if (recent_.size() > kKeep) recent_.pop_front();
}

void LoadBalancerState::Apply(const LogEntry& entry) {
  version_ = entry.version;
  const std::string where = absl::StrCat(stream_, "@", entry.version);
  for (const events::Event& event : entry.events) {
    if (event.type() == "AppUpdated") {
      events::AppUpdated updated;
      absl::Status s = config::DecodeEventPayload(event.payload_json(), config::InputMode::kTolerant,
                                                  &updated);
      if (!s.ok()) {
        skipped_.Add({where, event.type(), std::string(s.message())});
      } else if (!updated.has_application() || updated.application().id().empty()) {
        skipped_.Add({where, event.type(), "Application.id is required"});
      } else {
        const std::string id = updated.application().id();
        apps_[id] = std::make_shared<const PreparedApp>(
            PrepareApp(std::move(*updated.mutable_application()), where));
      }
    } else if (event.type() == "AppDeleted") {
      events::AppDeleted deleted;
      absl::Status s = config::DecodeEventPayload(event.payload_json(), config::InputMode::kTolerant,
                                                  &deleted);
      if (!s.ok()) {
        skipped_.Add({where, event.type(), std::string(s.message())});
      } else {
        apps_.erase(deleted.id());  // deleting an absent app is a no-op, as in edgerouter
      }
    } else {
      skipped_.Add({where, event.type(), "unknown event type"});
    }
  }
}

void CertBusState::Apply(const LogEntry& entry) {
  version_ = entry.version;
  const std::string where = absl::StrCat(stream_, "@", entry.version);
  for (const events::Event& event : entry.events) {
    if (event.type() == "CertificateObtained") {
      events::CertificateObtained obtained;
      absl::Status s = config::DecodeEventPayload(event.payload_json(), config::InputMode::kTolerant,
                                                  &obtained);
      if (!s.ok()) {
        skipped_.Add({where, event.type(), std::string(s.message())});
      } else if (obtained.id().empty()) {
        skipped_.Add({where, event.type(), "Id is required"});
      } else {
        const std::string id = obtained.id();
        resources_[id] = PrepareCertificate(obtained);
        certs_[id] = std::move(obtained);
      }
    } else if (event.type() == "CertificateRemoved") {
      events::CertificateRemoved removed;
      absl::Status s = config::DecodeEventPayload(event.payload_json(), config::InputMode::kTolerant,
                                                  &removed);
      if (!s.ok()) {
        skipped_.Add({where, event.type(), std::string(s.message())});
      } else {
        certs_.erase(removed.id());
        resources_.erase(removed.id());
      }
    } else if (event.type() == "ConfigUpdated") {
      // Manager configuration: stored by CertBus, not used by the load balancer.
    } else {
      skipped_.Add({where, event.type(), "unknown event type"});
    }
  }
}

}  // namespace edgerouter::controlplane
