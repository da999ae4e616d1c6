// Reads an archive in any format and compression `tar` produces (ustar, pax, GNU long names,
// gzip, bzip2, xz, zstd, or none) with Debian's libarchive. Regular files come back with their
// names exactly as stored; directories are skipped; links and special files are refused (an
// object store has no such thing, and edgerouter uploaded links as empty objects).
#ifndef EDGEROUTER_CLI_ARCHIVE_READER_H_
#define EDGEROUTER_CLI_ARCHIVE_READER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace edgerouter::ctl {

struct ArchiveFile {
  std::string name;  // as stored in the archive
  std::string content;
};

// InvalidArgument naming the entry for a link or special file, or describing a corrupt archive.
absl::StatusOr<std::vector<ArchiveFile>> ReadArchive(absl::string_view data);

}  // namespace edgerouter::ctl

#endif  // EDGEROUTER_CLI_ARCHIVE_READER_H_
