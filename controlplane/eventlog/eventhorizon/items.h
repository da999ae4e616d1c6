// EventHorizon's DynamoDB item format (the June 2020 client, unencrypted): one item is one
// atomic batch of a stream,
//   {"s": {"S": stream}, "v": {"N": version},
//    "meta_event": {"S": line} | {"NULL": true},
//    "e": {"L": [{"S": line}, …]} | {"NULL": true}}
// where lines are in EventHorizon's line format (common/event_line.h). Version 0 of every
// stream is a meta item holding `StreamStarted {"Parent": …}`; creating a child appends a
// meta item `ChildStreamCreated {"Stream": …}` to the parent. Meta items carry no events.
#ifndef EDGEROUTER_CONTROLPLANE_EVENTLOG_EVENTHORIZON_ITEMS_H_
#define EDGEROUTER_CONTROLPLANE_EVENTLOG_EVENTHORIZON_ITEMS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "proto/events.pb.h"

namespace edgerouter::eventhorizon {

inline constexpr char kStreamStarted[] = "StreamStarted";
inline constexpr char kChildStreamCreated[] = "ChildStreamCreated";
// DynamoDB's item size limit.
inline constexpr size_t kMaxItemBytes = 400 * 1024;

struct Item {
  std::string stream;
  int64_t version = 0;
  std::optional<events::v1::Event> meta_event;
  std::vector<events::v1::Event> events;
};

// The DynamoDB attribute map of `item` (nulls as {"NULL": true}, as aws-sdk-go marshals them).
nlohmann::json EncodeItem(const Item& item);

// The key of an item: s and v only. Errors if they are missing or of the wrong type.
absl::StatusOr<std::pair<std::string, int64_t>> DecodeKey(const nlohmann::json& attributes);
// A whole item. An error names what is wrong (the caller adds stream@version).
absl::StatusOr<Item> DecodeItem(const nlohmann::json& attributes);

// Meta events, stamped now by the system user, as EventHorizon writes them.
events::v1::Event StreamStartedEvent(absl::string_view parent);
events::v1::Event ChildStreamCreatedEvent(absl::string_view child);
// The "Stream" of a ChildStreamCreated meta event ("" if it is not one).
std::string ChildStreamOf(const events::v1::Event& meta);

// "/t-1/loadbalancer" -> "/t-1"; "/t-1" -> "/"; "/" -> "" (the root has no parent).
std::string ParentOf(absl::string_view stream);

}  // namespace edgerouter::eventhorizon

#endif  // EDGEROUTER_CONTROLPLANE_EVENTLOG_EVENTHORIZON_ITEMS_H_
