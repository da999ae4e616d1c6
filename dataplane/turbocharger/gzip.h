// gzip (RFC 1952) with zlib: turbocharger stores compressible files gzipped and inflates them
// for clients that do not accept gzip.
#ifndef EDGEROUTER_DATAPLANE_TURBOCHARGER_GZIP_H_
#define EDGEROUTER_DATAPLANE_TURBOCHARGER_GZIP_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace edgerouter::turbocharger {

std::string GzipCompress(absl::string_view data);
// Into `out` (cleared first). InvalidArgument for corrupt input or output beyond `max_bytes`.
absl::Status GzipDecompress(absl::string_view gz, size_t max_bytes, std::string* out);

}  // namespace edgerouter::turbocharger

#endif  // EDGEROUTER_DATAPLANE_TURBOCHARGER_GZIP_H_
