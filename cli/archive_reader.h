// Reads an archive in any format and compression `tar` produces (ustar, pax, GNU long names,
// gzip, bzip2, xz, zstd, or none) with Debian's libarchive. Regular files come back with their
// names exactly as stored; directories are skipped; links and special files are refused (an
// object store has no such thing, and edgerouter uploaded links as empty objects).
#ifndef EDGEROUTER_CLI_ARCHIVE_READER_H_
#define EDGEROUTER_CLI_ARCHIVE_READER_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace edgerouter::ctl {

struct ArchiveFile {
  std::string name;  // as stored in the archive
  std::string content;
};

// What an archive may unpack to in all. A few KB of bzip2 can claim gigabytes; everything read
// is held in memory (for the upload), so a bomb is refused by name rather than ending in OOM.
inline constexpr size_t kMaxUnpackedBytes = size_t{4} << 30;

// InvalidArgument naming the entry for a link or special file, or the one that crosses
// `max_bytes`, or describing a corrupt archive.
absl::StatusOr<std::vector<ArchiveFile>> ReadArchive(absl::string_view data, size_t max_bytes = kMaxUnpackedBytes);

}  // namespace edgerouter::ctl

#endif  // EDGEROUTER_CLI_ARCHIVE_READER_H_
