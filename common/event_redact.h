// Secrets out of event lines shown to people (`edgerouterctl stream read`, the Admin API's
// ReadStream): the payload of a known event type is decoded, every field the schema marks
// `(edgerouter.secret)` as a plaintext string redacted (common/redact.h: the ACME account key of
// AcmeAccountKeyCreated, auth bearer tokens inside AppUpdated) and the payload re-encoded.
// CertificateObtained's key ciphertext stays: the log is trusted with it, it is useless without
// the KEK, and copying certificates between logs reads it. Events without a plaintext secret keep
// their payload text byte for byte.
#ifndef EDGEROUTER_COMMON_EVENT_REDACT_H_
#define EDGEROUTER_COMMON_EVENT_REDACT_H_

#include "proto/events.pb.h"

namespace edgerouter {

// Returns how many fields were redacted (0: `event` untouched). Unknown types and payloads that
// do not decode are left as they are (they cannot carry a field the schema marks).
int RedactEventSecrets(events::v1::Event* event);

}  // namespace edgerouter

#endif  // EDGEROUTER_COMMON_EVENT_REDACT_H_
