// Text output of edgerouterctl. Pure functions of the Admin responses, kept apart from the RPC
// code so they can be tested without a control plane.
#ifndef EDGEROUTER_CLI_CTL_FORMAT_H_
#define EDGEROUTER_CLI_CTL_FORMAT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/repeated_field.h"
#include "proto/admin.pb.h"

namespace edgerouter::ctl {

// Rows (the first is the header) padded into columns separated by two spaces. The last
// column is not padded, so lines carry no trailing spaces. Every line ends in "\n".
std::string FormatTable(const std::vector<std::vector<std::string>>& rows);

// "\nrejected:\n  <source> <id>: <reason>\n"…, or "" when there are none.
// SOURCE / SUBJECT / ERROR table of rejected items, or a line saying there are none.
std::string FormatDiscoveryErrors(
    const google::protobuf::RepeatedPtrField<snapshot::v1::RejectedItem>& rejected);

std::string FormatRejected(
    const google::protobuf::RepeatedPtrField<snapshot::v1::RejectedItem>& rejected);

// `app ls`: table ID / Frontends / Backend (edgerouter `discovery ls`), then the rejected apps.
std::string FormatAppList(const admin::v1::ListAppsResponse& response);

// `nodes`: table NODE / PEER / CONNECTED / ACKED / PENDING / LAST NACK, then
// "current version <v>".
std::string FormatNodes(const admin::v1::ListNodesResponse& response);

// `snapshot show`: "version <v>", "resources <n>", one "<name> <version>" line per resource,
// then the rejected items.
std::string FormatSnapshotSummary(const admin::v1::GetSnapshotResponse& response);

// `snapshot show --json`: the snapshot message as indented proto3 JSON.
absl::StatusOr<std::string> FormatSnapshotJson(const admin::v1::GetSnapshotResponse& response);

// `stream read`: every line of every entry; with `versions`, each entry starts with a
// "# version <n>" comment line.
std::string FormatStreamEntries(const admin::v1::ReadStreamResponse& response, bool versions);

// UTC RFC 3339 with second precision ("2026-03-05T10:00:00Z"); "-" for 0 (never).
std::string FormatUnixMs(int64_t unix_ms);

// Multi-line text (e.g. a list of validation problems) folded onto one line with "; ".
std::string OneLine(const std::string& text);

}  // namespace edgerouter::ctl

#endif  // EDGEROUTER_CLI_CTL_FORMAT_H_
