// Redaction of secrets for dumps (/config_dump, GetSnapshot, edgerouterctl snapshot show):
// the schema marks every credential field with `(edgerouter.secret)`, and one walk over any
// message redacts them all, so a new secret field needs its mark and nothing else.
#ifndef EDGEROUTER_COMMON_REDACT_H_
#define EDGEROUTER_COMMON_REDACT_H_

#include "google/protobuf/message.h"

namespace edgerouter {

// What a redacted string field reads (the admin page shows "[bearerToken=...]").
inline constexpr char kRedacted[] = "[redacted]";

// Replaces every non-empty string field marked secret with kRedacted and clears every marked
// bytes field, in `message` and everything nested in it (maps and repeated fields included).
// Returns how many fields it redacted. `keep_bytes`: marked bytes fields (key ciphertexts,
// useless without the KEK and needed to copy a certificate elsewhere) are left as they are.
int RedactSecrets(google::protobuf::Message* message, bool keep_bytes = false);

}  // namespace edgerouter

#endif  // EDGEROUTER_COMMON_REDACT_H_
