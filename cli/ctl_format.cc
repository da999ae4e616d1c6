#include "cli/ctl_format.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"

namespace edgerouter::ctl {
namespace {

// An empty cell would shift the columns for anyone splitting the output on whitespace.
std::string OrDash(const std::string& text) { return text.empty() ? "-" : text; }

}  // namespace

std::string FormatTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    // A short row ends in padding; trim it rather than special-casing every caller.
    line.erase(line.find_last_not_of(' ') + 1);
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

std::string FormatRejected(
    const google::protobuf::RepeatedPtrField<snapshot::v1::RejectedItem>& rejected) {
  if (rejected.empty()) return "";
  std::string out = "\nrejected:\n";
  for (const snapshot::v1::RejectedItem& item : rejected) {
    absl::StrAppend(&out, "  ", item.source(), " ", item.id(), ": ", OneLine(item.reason()),
                    "\n");
  }
  return out;
}

std::string FormatDiscoveryErrors(
    const google::protobuf::RepeatedPtrField<snapshot::v1::RejectedItem>& rejected) {
  if (rejected.empty()) return "no discovery errors\n";
  std::vector<std::vector<std::string>> rows = {{"SOURCE", "SUBJECT", "ERROR"}};
  for (const snapshot::v1::RejectedItem& item : rejected) {
    rows.push_back({item.source(), item.id(), OneLine(item.reason())});
  }
  return FormatTable(rows);
}

std::string FormatAppList(const admin::v1::ListAppsResponse& response) {
  std::vector<std::vector<std::string>> rows = {{"ID", "Frontends", "Backend"}};
  for (const admin::v1::AppSummary& app : response.apps()) {
    rows.push_back({app.id(), absl::StrJoin(app.frontends(), " "), app.backend()});
  }
  return FormatTable(rows) + FormatRejected(response.rejected());
}

std::string FormatNodes(const admin::v1::ListNodesResponse& response) {
  std::vector<std::vector<std::string>> rows = {
      {"NODE", "PEER", "CONNECTED", "ACKED", "PENDING", "LAST NACK"}};
  for (const admin::v1::NodeStatus& node : response.nodes()) {
    std::string nack = "-";
    if (!node.last_nack_version().empty() || !node.last_nack_message().empty()) {
      nack = absl::StrCat(OrDash(node.last_nack_version()), ": ",
                          OneLine(node.last_nack_message()));
    }
    rows.push_back({OrDash(node.node_id()), OrDash(node.peer()),
                    node.connected() ? FormatUnixMs(node.connected_since_unix_ms()) : "-",
                    OrDash(node.last_acked_version()), OrDash(node.pending_version()), nack});
  }
  return absl::StrCat(FormatTable(rows), "current version ", OrDash(response.current_version()),
                      "\n");
}

std::string FormatSnapshotSummary(const admin::v1::GetSnapshotResponse& response) {
  const snapshot::v1::Snapshot& snap = response.snapshot();
  std::string out = absl::StrCat("version ", OrDash(snap.version()), "\n", "resources ",
                                 snap.resources_size(), "\n");
  for (const snapshot::v1::Resource& resource : snap.resources()) {
    absl::StrAppend(&out, resource.name(), " ", OrDash(resource.version()), "\n");
  }
  return out + FormatRejected(response.rejected());
}

absl::StatusOr<std::string> FormatSnapshotJson(const admin::v1::GetSnapshotResponse& response) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  std::string json;
  // protobuf 3.21 has its own Status type; carry only its text over.
  auto status = google::protobuf::util::MessageToJsonString(response.snapshot(), &json, options);
  if (!status.ok()) return absl::InternalError(status.ToString());
  if (json.empty() || json.back() != '\n') json += "\n";
  return json;
}

std::string FormatStreamEntries(const admin::v1::ReadStreamResponse& response, bool versions) {
  std::string out;
  for (const admin::v1::StreamEntry& entry : response.entries()) {
    if (versions) absl::StrAppend(&out, "# version ", entry.version(), "\n");
    for (const std::string& line : entry.lines()) absl::StrAppend(&out, line, "\n");
  }
  return out;
}

std::string FormatUnixMs(int64_t unix_ms) {
  if (unix_ms == 0) return "-";
  // A literal Z instead of %Ez, which would print "+00:00" for UTC.
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(unix_ms),
                          absl::UTCTimeZone());
}

std::string OneLine(const std::string& text) {
  std::vector<absl::string_view> parts =
      absl::StrSplit(text, absl::ByAnyChar("\r\n"), absl::SkipWhitespace());
  return absl::StrJoin(parts, "; ");
}

}  // namespace edgerouter::ctl
