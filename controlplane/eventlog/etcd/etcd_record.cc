#include "controlplane/eventlog/etcd/etcd_record.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace edgerouter::controlplane::etcd {

constexpr size_t kVersionDigits = 20;

std::string StreamKeyPrefix(absl::string_view prefix, absl::string_view stream) {
  return absl::StrCat(prefix, "/s", stream, "@");
}

std::string VersionKey(absl::string_view prefix, absl::string_view stream, uint64_t version) {
  return absl::StrCat(StreamKeyPrefix(prefix, stream), absl::StrFormat("%020u", version));
}

std::optional<uint64_t> ParseVersionKey(absl::string_view stream_key_prefix, absl::string_view key) {
  if (!absl::ConsumePrefix(&key, stream_key_prefix) || key.size() != kVersionDigits) return std::nullopt;
  // SimpleAtoi alone would take "+1" or leading spaces: only the padded digits we write count.
  for (char c : key) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  uint64_t version = 0;
  if (!absl::SimpleAtoi(key, &version) || version == 0) return std::nullopt;
  return version;
}

absl::StatusOr<events::v1::LogRecord> DecodeRecord(absl::string_view stream, uint64_t version,
                                                   absl::string_view value) {
  events::v1::LogRecord record;
  if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError(absl::StrCat(stream, "@", version, ": not a LogRecord (", value.size(), " bytes)"));
  }
  if (record.stream() != stream || record.version() != version) {
    return absl::DataLossError(absl::StrCat(stream, "@", version, ": record names ",
                                            absl::CHexEscape(record.stream()), "@", record.version()));
  }
  return record;
}

}  // namespace edgerouter::controlplane::etcd
