// Turbocharger manifests come from the store: any bytes either parse (strictly) or are refused;
// what parses serialises to Go's form, which parses to the same manifest and is a fixed point.
#include <cstdint>
#include <cstdlib>

#include "common/turbocharger/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgerouter::turbocharger;
  absl::StatusOr<Manifest> m = ParseManifest(absl::string_view(reinterpret_cast<const char*>(data), size));
  if (!m.ok()) return 0;
  const std::string bytes = SerializeManifest(*m);
  absl::StatusOr<Manifest> again = ParseManifest(bytes);
  if (!again.ok() || again->project != m->project || again->deployed != m->deployed ||
      again->files.size() != m->files.size() || SerializeManifest(*again) != bytes) {
    abort();
  }
  for (size_t i = 0; i < m->files.size(); ++i) {
    if (again->files[i].path != m->files[i].path || again->files[i].id != m->files[i].id) abort();
    if (m->Find(m->files[i].path) == nullptr) abort();
  }
  return 0;
}
