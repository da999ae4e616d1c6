#include "common/redact.h"

#include <vector>

#include "google/protobuf/descriptor.h"
#include "proto/options.pb.h"

namespace edgerouter {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

int RedactSecrets(Message* message, bool keep_bytes) {
  const Reflection* reflection = message->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(*message, &fields);  // only the set ones
  int redacted = 0;
  for (const FieldDescriptor* field : fields) {
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(*message, field); ++i) {
          redacted += RedactSecrets(reflection->MutableRepeatedMessage(message, field, i), keep_bytes);
        }
      } else {
        redacted += RedactSecrets(reflection->MutableMessage(message, field), keep_bytes);
      }
      continue;
    }
    if (!field->options().GetExtension(edgerouter::secret)) continue;
    if (keep_bytes && field->type() == FieldDescriptor::TYPE_BYTES) continue;
    ++redacted;
    if (field->type() == FieldDescriptor::TYPE_STRING && !field->is_repeated()) {
      reflection->SetString(message, field, kRedacted);
    } else {
      reflection->ClearField(message, field);  // bytes (key material), or anything else marked
    }
  }
  return redacted;
}

}  // namespace edgerouter
