// etcd event-log storage as a Range or Watch returns it: any key and value either decode or are
// refused (never a crash); a key that parses is the key VersionKey writes for that version, and a
// record that decodes re-encodes to bytes that decode to the same record.
// Input: <key>\n<value> (value bytes are raw protobuf).
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "controlplane/eventlog/etcd/etcd_record.h"
#include "google/protobuf/util/message_differencer.h"

namespace etcd = edgerouter::controlplane::etcd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  if (newline == absl::string_view::npos) return 0;
  const absl::string_view key = input.substr(0, newline);
  const absl::string_view value = input.substr(newline + 1);
  constexpr absl::string_view kPrefix = "/edgerouter";
  constexpr absl::string_view kStream = "/t-1/loadbalancer";

  const std::optional<uint64_t> version = etcd::ParseVersionKey(etcd::StreamKeyPrefix(kPrefix, kStream), key);
  if (version.has_value() && etcd::VersionKey(kPrefix, kStream, *version) != key) abort();

  // The value under whichever version the key names (or 1 when it names none).
  const uint64_t at = version.value_or(1);
  absl::StatusOr<edgerouter::events::v1::LogRecord> record = etcd::DecodeRecord(kStream, at, value);
  if (!record.ok()) return 0;
  if (record->stream() != kStream || record->version() != at) abort();
  absl::StatusOr<edgerouter::events::v1::LogRecord> again =
      etcd::DecodeRecord(kStream, at, record->SerializeAsString());
  if (!again.ok() || !google::protobuf::util::MessageDifferencer::Equals(*record, *again)) abort();
  return 0;
}
