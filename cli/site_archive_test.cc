// Archives made by the system's GNU tar (ustar, pax and GNU long names) read back.
#include "cli/site_archive.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace edgerouter::ctl {
namespace {

class SiteArchive : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/site-archive-", getpid());
    std::filesystem::create_directories(dir_ + "/site/docs/" + std::string(120, 'n'));
    std::ofstream(dir_ + "/site/index.html") << "<h1>home</h1>";
    std::ofstream(dir_ + "/site/docs/index.html") << "docs";
    std::ofstream(dir_ + "/site/docs/" + std::string(120, 'n') + "/deep.txt") << "deep";
    std::ofstream(dir_ + "/site/empty.css");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Tar(const std::string& format, const std::string& args = "-C site .") {
    const std::string out = absl::StrCat(dir_, "/", format, ".tar.gz");
    const std::string cmd = absl::StrCat("cd ", dir_, " && /bin/tar --format=", format, " -czf ", out, " ", args);
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::ifstream in(out, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string dir_;
};

TEST_F(SiteArchive, ReadsGnuAndPaxArchives) {
  for (const char* format : {"gnu", "pax"}) {
    absl::StatusOr<std::vector<SiteFile>> files = ReadSiteArchive(Tar(format));
    ASSERT_TRUE(files.ok()) << format << ": " << files.status();
    std::map<std::string, std::string> byname;
    for (const SiteFile& f : *files) byname[f.path] = f.content;
    EXPECT_EQ(byname.size(), 4u) << format;
    EXPECT_EQ(byname["index.html"], "<h1>home</h1>");
    EXPECT_EQ(byname["docs/index.html"], "docs");
    EXPECT_EQ(byname["docs/" + std::string(120, 'n') + "/deep.txt"], "deep") << format;
    EXPECT_EQ(byname.count("empty.css"), 1u);
  }
}

TEST_F(SiteArchive, RefusesEscapingAndAbsolutePaths) {
  EXPECT_FALSE(CleanArchivePath("../etc/passwd").ok());
  EXPECT_FALSE(CleanArchivePath("a/../../b").ok());
  EXPECT_FALSE(CleanArchivePath("/etc/passwd").ok());
  EXPECT_EQ(*CleanArchivePath("./a//b/"), "a/b");
  absl::StatusOr<std::vector<SiteFile>> files =
      ReadSiteArchive(Tar("gnu", "-P site/index.html ../" + std::filesystem::path(dir_).filename().string() +
                                     "/site/empty.css"));
  ASSERT_FALSE(files.ok());
  EXPECT_NE(files.status().message().find(".."), std::string::npos) << files.status();
  EXPECT_FALSE(ReadSiteArchive("not gzip").ok());
}

TEST_F(SiteArchive, ReadsEveryCompressionTarWrites) {
  for (const char* flag : {"-j", "-J", "--no-auto-compress"}) {
    const std::string out = absl::StrCat(dir_, "/site.tar");
    const std::string cmd = absl::StrCat("cd ", dir_, " && /bin/tar --format=pax ", flag, " -cf ", out, " -C site .");
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::ifstream in(out, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    absl::StatusOr<std::vector<SiteFile>> files = ReadSiteArchive(s.str());
    ASSERT_TRUE(files.ok()) << flag << ": " << files.status();
    EXPECT_EQ(files->size(), 4u) << flag;
  }
}

}  // namespace
}  // namespace edgerouter::ctl
