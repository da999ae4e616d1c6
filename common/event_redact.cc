#include "common/event_redact.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/json_codec.h"
#include "common/redact.h"
#include "google/protobuf/descriptor.h"

namespace edgerouter {

int RedactEventSecrets(events::v1::Event* event) {
  // The payload message of type T is edgerouter.events.v1.T (AppUpdated, AcmeAccountKeyCreated…).
  const google::protobuf::Descriptor* type = google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(
      absl::StrCat(events::v1::Event::descriptor()->file()->package(), ".", event->type()));
  if (type == nullptr) return 0;
  const google::protobuf::Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(type);
  if (prototype == nullptr) return 0;
  absl::StatusOr<OrderedJson> json = ParseJsonText(event->payload_json());
  if (!json.ok()) return 0;
  std::unique_ptr<google::protobuf::Message> payload(prototype->New());
  // A payload with a bad field still has its secrets taken out (what decoded is shown).
  std::vector<FieldError> errors;
  DecodeJson(*json, {.reject_unknown_fields = false}, "", payload.get(), &errors);
  const int redacted = RedactSecrets(payload.get(), /*keep_bytes=*/true);
  if (redacted > 0) event->set_payload_json(ToCompactJson(*payload));
  return redacted;
}

}  // namespace edgerouter
