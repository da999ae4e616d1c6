#include "cli/site_archive.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace edgerouter::ctl {

absl::StatusOr<std::string> CleanArchivePath(absl::string_view name) {
  if (absl::StartsWith(name, "/")) return absl::InvalidArgumentError(absl::StrCat("absolute path in archive: ", name));
  std::vector<absl::string_view> parts;
  for (absl::string_view part : absl::StrSplit(name, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") return absl::InvalidArgumentError(absl::StrCat("\"..\" in archive path: ", name));
    parts.push_back(part);
  }
  return absl::StrJoin(parts, "/");
}

absl::StatusOr<std::vector<SiteFile>> ReadSiteArchive(absl::string_view archive, size_t max_bytes) {
  absl::StatusOr<std::vector<ArchiveFile>> entries = ReadArchive(archive, max_bytes);
  if (!entries.ok()) return entries.status();
  std::vector<SiteFile> files;
  files.reserve(entries->size());
  for (ArchiveFile& entry : *entries) {
    absl::StatusOr<std::string> clean = CleanArchivePath(entry.name);
    if (!clean.ok()) return clean.status();
    if (clean->empty()) continue;
    files.push_back(SiteFile{*std::move(clean), std::move(entry.content)});
  }
  return files;
}

}  // namespace edgerouter::ctl
