// Reads a site archive (.tar.gz) for `edgerouterctl s3 deploy`: gzip through zlib, then a
// small ustar reader (POSIX ustar with its 155-byte prefix, pax `path` records and GNU long
// names). Own code instead of libarchive: deploys need regular files only, and this keeps the
// build free of another system library. Directories and pax/global headers are skipped;
// links are refused (edgerouter uploaded them as empty objects, which is never what a site
// wants), as are absolute paths and ".." components.
#ifndef EDGEROUTER_CONTROLPLANE_SITE_ARCHIVE_H_
#define EDGEROUTER_CONTROLPLANE_SITE_ARCHIVE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace edgerouter::ctl {

struct SiteFile {
  std::string path;  // relative, cleaned ("./a//b" -> "a/b")
  std::string content;
};

absl::StatusOr<std::string> Gunzip(absl::string_view compressed);
absl::StatusOr<std::vector<SiteFile>> ReadTar(absl::string_view tar);
// Gunzip + ReadTar.
absl::StatusOr<std::vector<SiteFile>> ReadSiteArchive(absl::string_view tar_gz);

// "./a//b/" -> "a/b"; error for absolute paths and ".." components.
absl::StatusOr<std::string> CleanArchivePath(absl::string_view name);

}  // namespace edgerouter::ctl

#endif  // EDGEROUTER_CONTROLPLANE_SITE_ARCHIVE_H_
