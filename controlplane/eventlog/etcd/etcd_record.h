// The etcd event log's storage format, as pure functions (the log and its fuzz target share
// them). Keys: <prefix>/s<stream>@<version as 20 digits>; values: a serialized LogRecord that
// repeats its own stream and version, so a value copied under the wrong key is caught.
#ifndef EDGEROUTER_CONTROLPLANE_EVENTLOG_ETCD_ETCD_RECORD_H_
#define EDGEROUTER_CONTROLPLANE_EVENTLOG_ETCD_ETCD_RECORD_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/events.pb.h"

namespace edgerouter::controlplane::etcd {

// "<prefix>/s<stream>@": every version key of `stream` starts with it and no other key does
// ('@' cannot occur in a stream name, so /t-1's keys never share it with /t-1/loadbalancer's).
std::string StreamKeyPrefix(absl::string_view prefix, absl::string_view stream);
// StreamKeyPrefix + the version zero-padded to 20 digits, so key order is version order.
std::string VersionKey(absl::string_view prefix, absl::string_view stream, uint64_t version);
// The version `key` names under `stream_key_prefix`; nullopt for anything else (a foreign key,
// a short or non-decimal suffix, version 0).
std::optional<uint64_t> ParseVersionKey(absl::string_view stream_key_prefix, absl::string_view key);

// A stored value: the record when it parses and names `stream` and `version`; else DataLoss
// naming stream@version.
absl::StatusOr<events::v1::LogRecord> DecodeRecord(absl::string_view stream, uint64_t version,
                                                   absl::string_view value);

}  // namespace edgerouter::controlplane::etcd

#endif  // EDGEROUTER_CONTROLPLANE_EVENTLOG_ETCD_ETCD_RECORD_H_
