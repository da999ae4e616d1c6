// Reads a site archive for `edgerouterctl s3 deploy` through libarchive (archive_reader): any
// tar format (ustar, pax, GNU long names) and any compression tar writes (gzip, bzip2, xz,
// zstd) or none. Directories are skipped; links are refused (edgerouter uploaded them as empty
// objects, which is never what a site wants), as are absolute paths and ".." components.
#ifndef EDGEROUTER_CLI_SITE_ARCHIVE_H_
#define EDGEROUTER_CLI_SITE_ARCHIVE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cli/archive_reader.h"

namespace edgerouter::ctl {

struct SiteFile {
  std::string path;  // relative, cleaned ("./a//b" -> "a/b")
  std::string content;
};

// `max_bytes`: what the archive may unpack to (archive_reader.h).
absl::StatusOr<std::vector<SiteFile>> ReadSiteArchive(absl::string_view archive, size_t max_bytes = kMaxUnpackedBytes);

// "./a//b/" -> "a/b"; error for absolute paths and ".." components.
absl::StatusOr<std::string> CleanArchivePath(absl::string_view name);

}  // namespace edgerouter::ctl

#endif  // EDGEROUTER_CLI_SITE_ARCHIVE_H_
