// The /t-<tenant>/acme stream, which every control-plane replica reads: the ACME account key
// (when not given as a file), the pending HTTP-01 challenges (every replica puts them into its
// snapshot as "acme/<token>" resources, so snapshots stay byte-identical across replicas and
// every data plane answers them whatever replica it is on) and the open orders (a replica
// taking the issuer over continues them). Event types: AcmeAccountKeyCreated,
// AcmeChallengesPublished, AcmeChallengesWithdrawn, AcmeOrderStarted, AcmeOrderEnded
// (proto/events.proto). Unknown types and bad payloads are skipped and counted.
#ifndef EDGEROUTER_CONTROLPLANE_ACME_ACME_STREAM_H_
#define EDGEROUTER_CONTROLPLANE_ACME_ACME_STREAM_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "controlplane/event_log.h"
#include "controlplane/snapshot_builder.h"
#include "google/protobuf/message.h"
#include "proto/events.pb.h"

namespace edgerouter::acme {

std::string AcmeStreamName(const std::string& tenant);  // "/t-<tenant>/acme"

// An event for the acme stream: `type` with `payload` as its JSON (by the system user).
events::v1::Event MakeAcmeEvent(const std::string& type, const google::protobuf::Message& payload);

class AcmeStreamState {
 public:
  void Apply(const controlplane::LogEntry& entry);

  uint64_t version() const { return version_; }
  // The first AcmeAccountKeyCreated wins ("" = none yet): every replica agrees on it.
  const std::string& account_key_pem() const { return account_key_pem_; }
  // Pending challenges by token.
  const std::map<std::string, events::v1::AcmeHttp01Challenge>& challenges() const { return challenges_; }
  // Orders started and not ended: domain → order URL.
  const std::map<std::string, std::string>& open_orders() const { return open_orders_; }
  uint64_t skipped() const { return skipped_; }

  // The challenges as snapshot resources "acme/<token>", sorted by name.
  std::vector<controlplane::ResourcePtr> ChallengeResources() const;

 private:
  uint64_t version_ = 0;
  std::string account_key_pem_;
  std::map<std::string, events::v1::AcmeHttp01Challenge> challenges_;
  std::map<std::string, std::string> open_orders_;
  uint64_t skipped_ = 0;
};

}  // namespace edgerouter::acme

#endif  // EDGEROUTER_CONTROLPLANE_ACME_ACME_STREAM_H_
