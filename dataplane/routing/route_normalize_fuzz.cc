// Host and path normalisation decide which app a request reaches and which path its origin
// sees, so they must be idempotent (a normalised value normalises to itself: nothing can be
// smuggled through a second decoding) and keep their shape (a path starts with '/', has no
// dot-segments left; a host is lower case without a trailing dot or a port).
#include <cstdint>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "dataplane/routing/route_table.h"

namespace {

bool HasDotSegment(absl::string_view path) {
  return absl::StrContains(path, "/./") || absl::StrContains(path, "/../") || absl::EndsWith(path, "/.") ||
         absl::EndsWith(path, "/..");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  std::string host;
  if (edgerouter::routing::NormalizeHost(input, &host)) {
    for (char c : host) {
      if (absl::ascii_isupper(static_cast<unsigned char>(c))) abort();
    }
    // A normalised name stays as it is when normalised again. (IPv6 literals lose their
    // brackets, so they are not inputs of the same form.)
    std::string again;
    if (host.find(':') == std::string::npos && (!edgerouter::routing::NormalizeHost(host, &again) || again != host)) {
      abort();
    }
  }
  absl::StatusOr<std::string> path = edgerouter::routing::NormalizePath(input);
  if (path.ok()) {
    if (path->empty() || (*path)[0] != '/' || HasDotSegment(*path)) abort();
    absl::StatusOr<std::string> again = edgerouter::routing::NormalizePath(*path);
    if (!again.ok() || *again != *path) abort();
    // Stripping any prefix the path matches keeps it a path.
    for (size_t cut = 1; cut <= path->size(); cut = cut * 2 + 1) {
      const std::string prefix = path->substr(0, cut);
      if (!edgerouter::routing::PathMatches(prefix, *path)) continue;
      const std::string stripped = edgerouter::routing::StripPrefix(prefix, *path);
      if (stripped.empty() || stripped[0] != '/') abort();
    }
  }
  return 0;
}
