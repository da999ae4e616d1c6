#include "cli/archive_reader.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"

namespace edgerouter::ctl {

absl::StatusOr<std::vector<ArchiveFile>> ReadArchive(absl::string_view data, size_t max_bytes) {
  std::unique_ptr<archive, int (*)(archive*)> a(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  if (archive_read_open_memory(a.get(), data.data(), data.size()) != ARCHIVE_OK) {
    return absl::InvalidArgumentError(absl::StrCat("not a tar archive: ", archive_error_string(a.get())));
  }
  std::vector<ArchiveFile> files;
  size_t total = 0;
  archive_entry* entry = nullptr;
  while (true) {
    const int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      return absl::InvalidArgumentError(absl::StrCat("corrupt archive after ", files.size(),
                                                     " files: ", archive_error_string(a.get())));
    }
    const char* name = archive_entry_pathname(entry);
    const std::string path = name != nullptr ? name : "";
    const mode_t type = archive_entry_filetype(entry);
    if (type == AE_IFDIR) continue;
    if (type != AE_IFREG || archive_entry_hardlink(entry) != nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": only regular files and directories are supported"));
    }
    ArchiveFile file{path, {}};
    // The header's size is the archive's claim, not a fact: a file can hold no more than the
    // input when uncompressed, and a compressed one grows as it is read.
    const la_int64_t size = archive_entry_size(entry);
    if (size > 0) file.content.reserve(std::min(static_cast<size_t>(size), data.size()));
    char buf[64 << 10];
    while (true) {
      const la_ssize_t n = archive_read_data(a.get(), buf, sizeof(buf));
      if (n < 0) return absl::InvalidArgumentError(absl::StrCat(path, ": ", archive_error_string(a.get())));
      if (n == 0) break;
      total += static_cast<size_t>(n);
      if (total > max_bytes) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": the archive unpacks to more than ", max_bytes, " bytes (the limit)"));
      }
      file.content.append(buf, static_cast<size_t>(n));
    }
    files.push_back(std::move(file));
  }
  return files;
}

}  // namespace edgerouter::ctl
