#include "cli/ctl_args.h"

#include "gtest/gtest.h"

namespace edgerouter::ctl {
namespace {

struct Parsed {
  bool ok;
  Invocation inv;
  std::string error;
};

Parsed Parse(std::vector<std::string> argv, const char* env = nullptr) {
  Parsed p;
  p.ok = ParseArgs(argv, env, &p.inv, &p.error);
  return p;
}

TEST(ParseArgsTest, LoneDashIsAPositional) {
  Parsed p = Parse({"app", "validate", "-"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.inv.command, Command::kAppValidate);
  EXPECT_EQ(p.inv.args, std::vector<std::string>{"-"});
}

TEST(ParseArgsTest, ControlPlaneFlagThenEnvThenDefault) {
  EXPECT_EQ(Parse({"--controlplane=cp:1", "nodes"}, "env:2").inv.controlplane, "cp:1");
  EXPECT_EQ(Parse({"nodes", "--controlplane", "cp:3"}).inv.controlplane, "cp:3");
  EXPECT_EQ(Parse({"nodes"}, "env:2").inv.controlplane, "env:2");
  EXPECT_EQ(Parse({"nodes"}, "").inv.controlplane, kDefaultControlPlane);
  EXPECT_EQ(Parse({"nodes"}).inv.controlplane, kDefaultControlPlane);
}

TEST(ParseArgsTest, CommandFlagsAnywhere) {
  Parsed p = Parse({"stream", "--versions", "read", "/t-1/loadbalancer", "--after", "17"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.inv.command, Command::kStreamRead);
  EXPECT_EQ(p.inv.name, "stream read");
  EXPECT_EQ(p.inv.args, std::vector<std::string>{"/t-1/loadbalancer"});
  EXPECT_EQ(p.inv.after, 17u);
  EXPECT_TRUE(p.inv.versions);

  p = Parse({"app", "put", "--new", "app.json"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_TRUE(p.inv.new_app);
  EXPECT_EQ(p.inv.args, std::vector<std::string>{"app.json"});

  p = Parse({"snapshot", "show", "--json"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_TRUE(p.inv.json);
  EXPECT_FALSE(p.inv.include_secrets);
  p = Parse({"snapshot", "show", "--include-secrets"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_TRUE(p.inv.include_secrets);
  EXPECT_EQ(Parse({"app", "ls", "--include-secrets"}).error, "app ls does not take --include-secrets");
  p = Parse({"stream", "append", "--force", "/s", "line"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_TRUE(p.inv.force);
  EXPECT_EQ(Parse({"app", "put", "--force"}).error, "app put does not take --force");
}

TEST(ParseArgsTest, DoubleDashEndsFlags) {
  Parsed p = Parse({"stream", "append", "/s", "--", "--not-a-flag"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.inv.args, (std::vector<std::string>{"/s", "--not-a-flag"}));
}

TEST(ParseArgsTest, UsageErrors) {
  EXPECT_FALSE(Parse({}).ok);
  EXPECT_FALSE(Parse({"bogus"}).ok);
  EXPECT_FALSE(Parse({"app"}).ok);
  EXPECT_FALSE(Parse({"app", "cat"}).ok);                    // ID missing
  EXPECT_FALSE(Parse({"app", "ls", "extra"}).ok);            // too many
  EXPECT_FALSE(Parse({"app", "ls", "--new"}).ok);            // flag of another command
  EXPECT_FALSE(Parse({"app", "ls", "--bogus"}).ok);
  EXPECT_FALSE(Parse({"stream", "read", "/s", "--after"}).ok);      // value missing
  EXPECT_FALSE(Parse({"stream", "read", "/s", "--after=-1"}).ok);   // not a version
  EXPECT_FALSE(Parse({"nodes", "--controlplane="}).ok);
  Parsed p = Parse({"app", "ls", "--new"});
  EXPECT_EQ(p.error, "app ls does not take --new");
}

TEST(ParseArgsTest, Help) {
  EXPECT_TRUE(Parse({"--help"}).inv.help);
  EXPECT_TRUE(Parse({"app", "-h"}).inv.help);
  EXPECT_NE(UsageText().find("app put [--new] [FILE|-]"), std::string::npos);
}

TEST(ParseArgsTest, OutputFormat) {
  EXPECT_EQ(Parse({"app", "ls"}).inv.output, Output::kTable);
  EXPECT_EQ(Parse({"app", "ls", "-o", "json"}).inv.output, Output::kJson);
  EXPECT_EQ(Parse({"--output=json", "nodes"}).inv.output, Output::kJson);
  EXPECT_EQ(Parse({"discovery", "errors", "-o", "table"}).inv.output, Output::kTable);
  // snapshot show keeps --json as a synonym of -o json.
  EXPECT_TRUE(Parse({"snapshot", "show", "-o", "json"}).inv.json);
  Parsed bad = Parse({"app", "ls", "-o", "yaml"});
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.error, "-o: unknown output format yaml (table or json)");
  Parsed wrong_command = Parse({"app", "rm", "x", "-o", "json"});
  EXPECT_FALSE(wrong_command.ok);
  EXPECT_EQ(wrong_command.error, "app rm does not take -o");
}

TEST(ParseArgsTest, VersionAndCompletionAndImport) {
  Parsed v = Parse({"--version"});
  ASSERT_TRUE(v.ok) << v.error;
  EXPECT_TRUE(v.inv.version);
  Parsed c = Parse({"completion", "bash"});
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(c.inv.command, Command::kCompletion);
  EXPECT_EQ(Parse({"completion", "fish"}).error, "completion: unknown shell fish (bash)");
  Parsed i = Parse({"app", "import", "apps.json"});
  ASSERT_TRUE(i.ok) << i.error;
  EXPECT_EQ(i.inv.command, Command::kAppImport);
  EXPECT_EQ(i.inv.args, std::vector<std::string>{"apps.json"});
}

TEST(BashCompletionTest, ListsEveryCommandWordAndFlag) {
  const std::string script = BashCompletion();
  EXPECT_NE(script.find("complete -F _edgerouterctl edgerouterctl"), std::string::npos);
  EXPECT_NE(script.find("app) words=(validate ls cat put rm import) ;;"), std::string::npos) << script;
  EXPECT_NE(script.find("\"stream read\") flags=\"--after --versions --include-secrets\" ;;"), std::string::npos) << script;
  EXPECT_NE(script.find("words=(app stream snapshot nodes"), std::string::npos) << script;
}

}  // namespace
}  // namespace edgerouter::ctl
