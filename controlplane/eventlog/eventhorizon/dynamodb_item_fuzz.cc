// EventHorizon DynamoDB items as a Query returns them: any attribute map either decodes or is
// refused with an error (never a crash), and what decodes encodes back to an item that decodes
// to the same stream, version, meta event and events (the writer and the reader agree).
#include <cstdint>
#include <cstdlib>

#include "controlplane/eventlog/eventhorizon/items.h"
#include "google/protobuf/util/message_differencer.h"

namespace {

bool SameEvents(const edgerouter::eventhorizon::Item& a, const edgerouter::eventhorizon::Item& b) {
  using google::protobuf::util::MessageDifferencer;
  if (a.events.size() != b.events.size() || a.meta_event.has_value() != b.meta_event.has_value()) return false;
  if (a.meta_event && !MessageDifferencer::Equals(*a.meta_event, *b.meta_event)) return false;
  for (size_t i = 0; i < a.events.size(); ++i) {
    if (!MessageDifferencer::Equals(a.events[i], b.events[i])) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json attributes =
      nlohmann::json::parse(data, data + size, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (attributes.is_discarded()) return 0;
  absl::StatusOr<edgerouter::eventhorizon::Item> item = edgerouter::eventhorizon::DecodeItem(attributes);
  // The key decoder must agree with the item decoder on what the key is.
  absl::StatusOr<std::pair<std::string, int64_t>> key = edgerouter::eventhorizon::DecodeKey(attributes);
  if (!item.ok()) return 0;
  if (!key.ok() || key->first != item->stream || key->second != item->version) abort();
  absl::StatusOr<edgerouter::eventhorizon::Item> again =
      edgerouter::eventhorizon::DecodeItem(edgerouter::eventhorizon::EncodeItem(*item));
  if (!again.ok() || again->stream != item->stream || again->version != item->version || !SameEvents(*item, *again)) {
    abort();
  }
  return 0;
}
