// The site archive comes from whoever deploys: no name it yields may leave the site root.
#include <cstdint>
#include <cstdlib>

#include "absl/strings/match.h"
#include "cli/site_archive.h"

namespace {
// "" is the root itself (CleanArchivePath("./")); a file never has it.
void CheckName(const std::string& name, bool file) {
  if ((file && name.empty()) || (!name.empty() && name[0] == '/') || name == ".." || absl::StartsWith(name, "../") ||
      absl::StrContains(name, "/../") || absl::EndsWith(name, "/..")) {
    abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  // Well under the fuzzer's 2 GB: a small compressed input may claim gigabytes.
  if (auto files = edgerouter::ctl::ReadSiteArchive(input, size_t{64} << 20); files.ok()) {
    for (const auto& f : *files) CheckName(f.path, true);
  }
  absl::StatusOr<std::string> clean = edgerouter::ctl::CleanArchivePath(input);
  if (clean.ok()) {
    CheckName(*clean, false);
    absl::StatusOr<std::string> again = edgerouter::ctl::CleanArchivePath(*clean);
    if (!again.ok() || *again != *clean) abort();
  }
  return 0;
}
