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
#include <string>

#include "controlplane/event_log.h"
#include "proto/config.pb.h"
#include "proto/events.pb.h"
#include "proto/snapshot.pb.h"

namespace edgerouter::controlplane {

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
  // Sorted by id. Apps are kept as the stream says; validation happens in the snapshot builder.
  const std::map<std::string, config::Application>& apps() const { return apps_; }
  // The version that last wrote each app (for "source" reporting).
  const std::map<std::string, uint64_t>& app_versions() const { return app_versions_; }
  const SkippedEvents& skipped() const { return skipped_; }

 private:
  std::string stream_;
  uint64_t version_ = 0;
  std::map<std::string, config::Application> apps_;
  std::map<std::string, uint64_t> app_versions_;
  SkippedEvents skipped_;
};

class CertBusState {
 public:
  explicit CertBusState(std::string stream) : stream_(std::move(stream)) {}
  void Apply(const LogEntry& entry);

  const std::string& stream() const { return stream_; }
  uint64_t version() const { return version_; }
  const std::map<std::string, events::CertificateObtained>& certs() const { return certs_; }
  const SkippedEvents& skipped() const { return skipped_; }

 private:
  std::string stream_;
  uint64_t version_ = 0;
  std::map<std::string, events::CertificateObtained> certs_;
  SkippedEvents skipped_;
};

}  // namespace edgerouter::controlplane

#endif  // EDGEROUTER_CONTROLPLANE_STREAM_STATE_H_
