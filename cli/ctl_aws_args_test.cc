// Parsing of the s3 / lambda commands of edgerouterctl.
#include "cli/ctl_args.h"
#include "cli/ctl_aws_commands.h"
#include "gtest/gtest.h"

namespace edgerouter::ctl {
namespace {

TEST(CtlAwsArgs, StripPathFlagAndPositionals) {
  Invocation inv;
  std::string error;
  ASSERT_TRUE(ParseArgs({"s3", "mk", "-s", "site", "www.test", "/docs", "bucket", "eu-west-1"}, nullptr, &inv, &error))
      << error;
  EXPECT_EQ(inv.command, Command::kS3Mk);
  EXPECT_TRUE(inv.strip_path);
  EXPECT_EQ(inv.args, (std::vector<std::string>{"site", "www.test", "/docs", "bucket", "eu-west-1"}));
  EXPECT_TRUE(IsAwsCommand(inv.command));
  ASSERT_TRUE(ParseArgs({"lambda", "mk", "fn", "api.test", "/", "my-fn", "us-east-1", "--strip-path"}, nullptr, &inv,
                        &error));
  EXPECT_EQ(inv.command, Command::kLambdaMk);
  EXPECT_TRUE(inv.strip_path);
  ASSERT_TRUE(ParseArgs({"s3", "deploy", "site", "v1", "site.tar.gz"}, nullptr, &inv, &error));
  EXPECT_EQ(inv.command, Command::kS3Deploy);
  EXPECT_FALSE(inv.strip_path);
  ASSERT_TRUE(ParseArgs({"s3", "versions", "site"}, nullptr, &inv, &error));
  EXPECT_EQ(inv.command, Command::kS3Versions);
  ASSERT_TRUE(ParseArgs({"s3", "rollback", "site", "v1"}, nullptr, &inv, &error));
  EXPECT_EQ(inv.command, Command::kS3Rollback);
  EXPECT_FALSE(IsAwsCommand(Command::kAppLs));
}

TEST(CtlAwsArgs, UsageErrors) {
  Invocation inv;
  std::string error;
  EXPECT_FALSE(ParseArgs({"s3", "deploy", "site", "v1"}, nullptr, &inv, &error));
  EXPECT_NE(error.find("wrong number of arguments"), std::string::npos) << error;
  EXPECT_FALSE(ParseArgs({"s3", "deploy", "--strip-path", "site", "v1", "x.tar.gz"}, nullptr, &inv, &error));
  EXPECT_EQ(error, "s3 deploy does not take --strip-path");
  EXPECT_NE(UsageText().find("s3 rollback APP VERSION"), std::string::npos);
}

}  // namespace
}  // namespace edgerouter::ctl
