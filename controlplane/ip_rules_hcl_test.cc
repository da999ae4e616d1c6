#include "controlplane/ip_rules_hcl.h"

#include "gtest/gtest.h"

namespace edgerouter::controlplane {
namespace {

TEST(IpRulesHcl, EdgerouterExampleInEvaluationOrder) {
  absl::StatusOr<config::v1::IpRules> rules = ParseIpRulesHcl(R"(
allow_specified {
	prefix = "100.56.80.66/32"
	apps = ["test", "other"]
}
allow_all { prefix = "127.0.0.0/24" }         # this exact server
allow_all { prefix = "192.168.1.0/24" }       // trusted VLAN
/* a comment
   over lines */
allow_all { prefix = "2001:db8::/32" }
)");
  ASSERT_TRUE(rules.ok()) << rules.status();
  ASSERT_EQ(rules->rules_size(), 4);
  // allow_all blocks first, then allow_specified, each in file order.
  EXPECT_EQ(rules->rules(0).prefix(), "127.0.0.0/24");
  EXPECT_EQ(rules->rules(1).prefix(), "192.168.1.0/24");
  EXPECT_EQ(rules->rules(2).prefix(), "2001:db8::/32");
  EXPECT_EQ(rules->rules(2).apps_size(), 0);
  EXPECT_EQ(rules->rules(3).prefix(), "100.56.80.66/32");
  ASSERT_EQ(rules->rules(3).apps_size(), 2);
  EXPECT_EQ(rules->rules(3).apps(1), "other");
}

TEST(IpRulesHcl, HclVariants) {
  // `name = { }`, commas between keys, a trailing comma in the list.
  absl::StatusOr<config::v1::IpRules> rules =
      ParseIpRulesHcl("allow_specified = { prefix = \"10.0.0.0/8\", apps = [\"a\",] }\n");
  ASSERT_TRUE(rules.ok()) << rules.status();
  EXPECT_EQ(rules->rules(0).apps(0), "a");
}

TEST(IpRulesHcl, FormatParsesBackToTheSameRules) {
  config::v1::IpRules rules;
  rules.add_rules()->set_prefix("10.0.0.0/8");
  config::v1::IpRule* r = rules.add_rules();
  r->set_prefix("::1/128");
  r->add_apps("a \"quoted\" \\ app\n");
  r->add_apps("b");
  absl::StatusOr<config::v1::IpRules> again = ParseIpRulesHcl(FormatIpRulesHcl(rules));
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << FormatIpRulesHcl(rules);
  EXPECT_EQ(again->SerializeAsString(), rules.SerializeAsString());
}

void ExpectError(absl::string_view text, absl::string_view message) {
  absl::StatusOr<config::v1::IpRules> rules = ParseIpRulesHcl(text);
  ASSERT_FALSE(rules.ok()) << text;
  EXPECT_EQ(rules.status().message(), message) << text;
}

TEST(IpRulesHcl, ErrorsNameLineAndColumn) {
  ExpectError("", "1:1: empty IP rules file");
  ExpectError("# only a comment\n", "1:1: empty IP rules file");
  ExpectError("allow_all { prefix = \"127.0.0.0/24\" }\nallow_all { prefix = \"300.0.0.0/8\" }\n",
              "2:22: invalid prefix \"300.0.0.0/8\": \"300.0.0.0/8\": not an IP address or CIDR prefix");
  ExpectError("allow_all {\n  prefix = \"10.0.0.0/8\"\n  apps = [\"x\"]\n}\n", "3:3: unknown key \"apps\" in allow_all");
  ExpectError("allow_specified {\n  prefix = \"10.0.0.0/8\"\n}\n",
              "1:1: allow_specified: apps must list at least one app");
  ExpectError("allow_specified { prefix = \"10.0.0.0/8\" apps = [] }", "1:1: allow_specified: apps must list at least one app");
  ExpectError("deny_all { prefix = \"10.0.0.0/8\" }",
              "1:1: unknown block \"deny_all\" (expected allow_all or allow_specified)");
  ExpectError("allow_all { prefix = \"10.0.0.0/8\"\n", "2:1: expected a key or }");
  ExpectError("allow_all { prefix = \"10.0.0.0/8 }\n", "1:22: unterminated string");
  ExpectError("allow_all { }", "1:1: allow_all: prefix is required");
  ExpectError("allow_all { prefix = \"10.0.0.0/8\" prefix = \"10.0.0.0/8\" }", "1:35: duplicate key \"prefix\" in allow_all");
  ExpectError("allow_all { prefix = 10 }", "1:22: unexpected character '1'");
  ExpectError("allow_all {\n\tprefix \"10.0.0.0/8\" }", "2:9: expected =");
  ExpectError("/* open", "1:1: unterminated comment");
}

}  // namespace
}  // namespace edgerouter::controlplane
