// The last-good snapshot on disk, written in O(change) per delta: a base file (a whole
// snapshot::v1::Snapshot, as before: <dir>/snapshot.pb) plus an append-only journal of the deltas
// accepted since (<dir>/snapshot.journal). Loading is the base with the journal replayed.
//
// Journal: records of [u32 length][u32 CRC-32 of the payload][payload], little-endian; each
// payload is a discovery::v1::DiscoveryResponse holding only version_info, resources and
// removed_resources. The first record names the base it extends (nonce "base", version_info =
// the base's version): a journal left over from an older base is ignored. A record that is
// incomplete or fails its checksum ends the journal (a torn tail from a crash mid-append) and
// is cut off before the next append. Each append is fsynced. When the journal outgrows the
// base (and `min_compact_bytes`), the current state is written as a new base and the journal
// starts over; full-state responses are written as a new base directly.
#ifndef EDGEROUTER_DATAPLANE_XDS_SNAPSHOT_STORE_H_
#define EDGEROUTER_DATAPLANE_XDS_SNAPSHOT_STORE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "dataplane/xds/resource_map.h"
#include "proto/discovery.pb.h"

namespace edgerouter::xds {

class SnapshotStore {
 public:
  SnapshotStore(std::string dir, uint64_t min_compact_bytes = 1 << 20);
  ~SnapshotStore();

  // Base + journal. NotFound without a base; DataLoss (naming the file) for a base that is not
  // a snapshot we wrote. A damaged journal only loses its damaged tail.
  absl::Status Load(std::string* version, ResourceMap* resources);

  // Makes an accepted response durable: `response` is what arrived, `version`/`resources` the
  // state after it.
  absl::Status Record(const discovery::v1::DiscoveryResponse& response, const std::string& version,
                      const ResourceMap& resources);

  std::string base_path() const { return dir_ + "/snapshot.pb"; }
  std::string journal_path() const { return dir_ + "/snapshot.journal"; }
  uint64_t journal_bytes() const { return journal_bytes_; }
  uint64_t compactions() const { return compactions_; }

 private:
  absl::Status WriteBase(const std::string& version, const ResourceMap& resources);
  // A fresh journal naming `base_version`, replacing the old one atomically.
  absl::Status ResetJournal(const std::string& base_version);
  absl::Status Append(const std::string& payload);

  const std::string dir_;
  const uint64_t min_compact_bytes_;
  int journal_fd_ = -1;        // open for appends, positioned after the last good record
  uint64_t journal_bytes_ = 0;  // good bytes in the journal
  uint64_t base_bytes_ = 0;
  uint64_t compactions_ = 0;
  bool have_base_ = false;
  std::string version_of_base_;
  // After Load: the journal's good length, when it extends the loaded base (else -1: replace it).
  int64_t journal_keep_ = -1;
};

}  // namespace edgerouter::xds

#endif  // EDGEROUTER_DATAPLANE_XDS_SNAPSHOT_STORE_H_
