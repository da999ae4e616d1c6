// Stand-ins for the issuer's surroundings in tests against a real pebble: an HTTP server on
// pebble's validation port plays the data planes (TestPublisher), the sink collects the
// CertificateObtained events, a lease the test switches, and polling with a deadline.
#ifndef EDGEROUTER_CONTROLPLANE_ACME_TEST_ISSUER_TEST_SUPPORT_H_
#define EDGEROUTER_CONTROLPLANE_ACME_TEST_ISSUER_TEST_SUPPORT_H_

#include <atomic>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/http_admin_server.h"
#include "controlplane/acme/acme_issuer.h"

namespace edgerouter::acme::testing {

using admin::HttpAdminRequest;
using admin::HttpAdminResponse;

// Serves the published answers on pebble's validation port, except for names in `refused`.
class TestPublisher : public ChallengePublisher {
 public:
  explicit TestPublisher(admin::HttpAdminServer* server, std::set<std::string> refused = {})
      : server_(server), refused_(std::move(refused)) {}
  absl::Status Publish(const std::vector<Http01Challenge>& challenges) override {
    for (const Http01Challenge& c : challenges) {
      if (refused_.contains(c.dns_name)) continue;
      server_->Handle(absl::StrCat("/.well-known/acme-challenge/", c.token),
                      [this, answer = c.key_authorization](const HttpAdminRequest&) {
                        ++validation_gets;
                        return HttpAdminResponse{.content_type = "application/octet-stream", .body = answer};
                      });
    }
    return absl::OkStatus();
  }
  void Withdraw(const std::vector<Http01Challenge>& challenges) override {
    for (const Http01Challenge& c : challenges) {
      server_->Handle(absl::StrCat("/.well-known/acme-challenge/", c.token),
                      [](const HttpAdminRequest&) { return HttpAdminResponse{.status = 404}; });
    }
  }
  std::atomic<int> validation_gets{0};

 private:
  admin::HttpAdminServer* server_;
  std::set<std::string> refused_;
};

class TestSink : public CertificateSink {
 public:
  absl::Status Publish(const events::v1::CertificateObtained& event) override {
    absl::MutexLock lock(&mu_);
    events_.push_back(event);
    return absl::OkStatus();
  }
  std::vector<events::v1::CertificateObtained> For(const std::string& name) const {
    absl::MutexLock lock(&mu_);
    std::vector<events::v1::CertificateObtained> out;
    for (const auto& e : events_) {
      if (e.domains_size() == 1 && e.domains(0) == name) out.push_back(e);
    }
    return out;
  }
  size_t size() const {
    absl::MutexLock lock(&mu_);
    return events_.size();
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<events::v1::CertificateObtained> events_;
};

class ToggleLease : public controlplane::Lease {
 public:
  std::atomic<bool> held{false};
  absl::StatusOr<bool> TryAcquire() override { return held.load(); }
  bool IsHeld() override { return held.load(); }
  absl::StatusOr<std::string> Holder() override { return held.load() ? "test" : ""; }
};

inline bool Eventually(const std::function<bool()>& condition, absl::Duration timeout = absl::Seconds(60)) {
  for (absl::Time deadline = absl::Now() + timeout; absl::Now() < deadline;) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return condition();
}

inline NameStatus StateOf(const Issuer& issuer, const std::string& name) {
  for (NameStatus& s : issuer.States()) {
    if (s.name == name) return s;
  }
  return {.name = "(missing)"};
}

}  // namespace edgerouter::acme::testing

#endif  // EDGEROUTER_CONTROLPLANE_ACME_TEST_ISSUER_TEST_SUPPORT_H_
