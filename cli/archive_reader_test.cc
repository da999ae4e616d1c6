#include "cli/archive_reader.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace edgerouter::ctl {
namespace {

// Archives made by the system's tar, in the formats it writes.
std::string MakeArchive(const std::string& tar_flags) {
  std::string tmpl = std::string(getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp") + "/arXXXXXX";
  const std::string dir = mkdtemp(tmpl.data());
  std::filesystem::create_directories(dir + "/root/sub");
  std::ofstream(dir + "/root/index.html") << "home";
  std::ofstream(dir + "/root/sub/" + std::string(120, 'n') + ".txt") << "long name";
  const std::string cmd = "cd " + dir + "/root && /bin/tar " + tar_flags + " -cf " + dir + "/a index.html sub";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream in(dir + "/a", std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void ExpectSite(const absl::StatusOr<std::vector<ArchiveFile>>& files) {
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0].name, "index.html");
  EXPECT_EQ((*files)[0].content, "home");
  EXPECT_EQ((*files)[1].name, "sub/" + std::string(120, 'n') + ".txt");
  EXPECT_EQ((*files)[1].content, "long name");
}

TEST(ArchiveReaderTest, GnuPaxAndCompressions) {
  ExpectSite(ReadArchive(MakeArchive("--format=gnu")));
  ExpectSite(ReadArchive(MakeArchive("--format=pax")));
  ExpectSite(ReadArchive(MakeArchive("--format=pax -z")));
  ExpectSite(ReadArchive(MakeArchive("--format=gnu -J")));
}

TEST(ArchiveReaderTest, CorruptInputIsAnError) {
  EXPECT_FALSE(ReadArchive("definitely not an archive, just text that is long enough").ok());
  const std::string tar = MakeArchive("--format=pax");
  EXPECT_FALSE(ReadArchive(tar.substr(0, 700)).ok());
}

// A small compressed archive that unpacks past the limit is refused by the file that crosses it.
TEST(ArchiveReaderTest, AnArchiveUnpackingPastTheLimitIsRefusedNamingTheFile) {
  std::string tmpl = std::string(getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp") + "/bombXXXXXX";
  const std::string dir = mkdtemp(tmpl.data());
  std::filesystem::create_directories(dir + "/root");
  std::ofstream(dir + "/root/small.txt") << "fine";
  std::ofstream(dir + "/root/zeros.bin") << std::string(3 << 20, '\0');
  const std::string cmd = "cd " + dir + "/root && /bin/tar -z -cf " + dir + "/a small.txt zeros.bin";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream in(dir + "/a", std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  const std::string archive = s.str();
  ASSERT_LT(archive.size(), 10000u);
  const absl::StatusOr<std::vector<ArchiveFile>> refused = ReadArchive(archive, 1 << 20);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "zeros.bin")) << refused.status();
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "1048576")) << refused.status();
  const absl::StatusOr<std::vector<ArchiveFile>> taken = ReadArchive(archive, 4 << 20);
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_EQ(taken->size(), 2u);
}

// A header may claim any size up to 8 GiB; the reader must not believe it before the bytes
// arrive (the fuzz seed huge-size-field.tar fails under the fuzzer's malloc limit otherwise).
TEST(ArchiveReaderTest, ASizeFieldLargerThanTheArchiveIsATruncationNamingTheFile) {
  std::string header(512, '\0');
  const auto field = [&header](size_t offset, absl::string_view text) { header.replace(offset, text.size(), text.data(), text.size()); };
  field(0, "site/big.html");
  field(100, "0000644");
  field(108, "0000000");
  field(116, "0000000");
  field(124, "77777777777");
  field(136, "00000000000");
  field(156, "0");
  field(257, absl::string_view("ustar\0" "00", 8));
  field(148, "        ");
  unsigned sum = 0;
  for (unsigned char c : header) sum += c;
  char checksum[7];
  snprintf(checksum, sizeof(checksum), "%06o", sum);
  field(148, checksum);
  const std::string tar = header + "0123456789" + std::string(502 + 1024, '\0');
  const absl::StatusOr<std::vector<ArchiveFile>> files = ReadArchive(tar);
  ASSERT_FALSE(files.ok());
  EXPECT_TRUE(absl::StrContains(files.status().message(), "site/big.html")) << files.status();
}

}  // namespace
}  // namespace edgerouter::ctl
