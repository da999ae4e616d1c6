#include "cli/ctl_turbocharger_commands.h"

#include "gtest/gtest.h"

namespace edgerouter::ctl {
namespace {

TEST(ManifestPathForEntryTest, PlainRelativeNamesOnly) {
  EXPECT_EQ(*ManifestPathForEntry("index.html"), "/index.html");
  EXPECT_EQ(*ManifestPathForEntry("static/app.js"), "/static/app.js");
  // edgerouter's rule: nothing starting with "." or "/" (so `tar -C dir .` archives are refused).
  EXPECT_FALSE(ManifestPathForEntry("./index.html").ok());
  EXPECT_FALSE(ManifestPathForEntry(".htaccess").ok());
  EXPECT_FALSE(ManifestPathForEntry("/etc/passwd").ok());
  // And nothing escaping the root or ambiguous.
  EXPECT_FALSE(ManifestPathForEntry("a/../../x").ok());
  EXPECT_FALSE(ManifestPathForEntry("a//b").ok());
  EXPECT_FALSE(ManifestPathForEntry("a/./b").ok());
  EXPECT_FALSE(ManifestPathForEntry("").ok());
}

}  // namespace
}  // namespace edgerouter::ctl
