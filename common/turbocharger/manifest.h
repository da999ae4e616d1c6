// Turbocharger's content addressing, shared by the data plane and edgerouterctl, byte-compatible
// with edgerouter: an object id is the SHA-256 of the bytes, written base64url without padding
// (43 characters); a manifest (path -> id, sorted by path) is stored as Go's compact JSON and its
// id is the hash of exactly those bytes. Store keys: turbocharger/files/<id> and
// turbocharger/manifests/<id> in the bucket of TURBOCHARGER_STORE=s3://<region>/<bucket>.
#ifndef EDGEROUTER_COMMON_TURBOCHARGER_MANIFEST_H_
#define EDGEROUTER_COMMON_TURBOCHARGER_MANIFEST_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace edgerouter::turbocharger {

class ObjectId {
 public:
  static constexpr size_t kStringLength = 43;
  ObjectId() = default;
  static ObjectId ForContent(absl::string_view bytes);
  // InvalidArgument naming the problem (edgerouter's wording for the length).
  static absl::StatusOr<ObjectId> Parse(absl::string_view text);
  std::string ToString() const;
  bool operator==(const ObjectId& o) const { return hash_ == o.hash_; }
  bool operator!=(const ObjectId& o) const { return hash_ != o.hash_; }

 private:
  std::array<uint8_t, 32> hash_{};
};

struct ManifestFile {
  std::string path;  // starts with "/"
  std::string id;    // ObjectId string form
};

struct Manifest {
  std::string project;
  std::string deployed;  // RFC 3339 with nanoseconds as Go writes it ("2021-07-30T12:00:00.123456789Z")
  std::vector<ManifestFile> files;  // sorted by path (byte order)

  // The file's id, or nullptr when `path` is not in the manifest (exact, case-sensitive).
  const std::string* Find(absl::string_view path) const;
};

// Go's json.Marshal of the manifest: what is stored and hashed.
std::string SerializeManifest(const Manifest& manifest);
// Strict: both fields, paths starting with "/", valid ids, sorted and unique paths, >= 1 file.
absl::StatusOr<Manifest> ParseManifest(absl::string_view json);
// A manifest of `files` (sorted here), stamped `deployed`. InvalidArgument for zero files.
absl::StatusOr<Manifest> MakeManifest(std::string project, absl::Time deployed, std::vector<ManifestFile> files);
// Go's time.Time JSON form: UTC, fractional seconds with trailing zeros removed.
std::string GoRfc3339Nano(absl::Time t);

// edgerouter stores these gzip-compressed (isExpectedToCompressWell): .js .map .css .html .json
// .xml .svg .txt; every other file raw.
bool ExpectedToCompressWell(absl::string_view path);

std::string FileKey(absl::string_view id);      // turbocharger/files/<id>
std::string ManifestKey(absl::string_view id);  // turbocharger/manifests/<id>

// TURBOCHARGER_STORE: only s3://<region>/<bucket>.
struct StoreLocation {
  std::string region;
  std::string bucket;
};
absl::StatusOr<StoreLocation> ParseStoreLocation(absl::string_view text);

}  // namespace edgerouter::turbocharger

#endif  // EDGEROUTER_COMMON_TURBOCHARGER_MANIFEST_H_
