#include "dataplane/backends/ip_rules/ip_rules.h"

#include "dataplane/backends/builtin.h"
#include "dataplane/pipeline/fake_exchange.h"
#include "gtest/gtest.h"

namespace edgerouter::backends {
namespace {

std::shared_ptr<const IpRuleSet> Rules(std::vector<std::pair<std::string, std::vector<std::string>>> list) {
  config::v1::IpRules rules;
  for (auto& [prefix, apps] : list) {
    config::v1::IpRule* r = rules.add_rules();
    r->set_prefix(prefix);
    for (auto& a : apps) r->add_apps(a);
  }
  absl::StatusOr<std::shared_ptr<const IpRuleSet>> set = IpRuleSet::Compile(rules);
  EXPECT_TRUE(set.ok()) << set.status();
  return set.ok() ? *set : nullptr;
}

TEST(IpRuleSet, FirstMatchDecidesNotTheLongestPrefix) {
  auto rules = Rules({{"10.0.0.0/8", {"a"}}, {"10.1.2.3/32", {}}, {"2001:db8::/32", {}}});
  EXPECT_EQ(rules->Deny("a", "10.1.2.3"), std::nullopt);
  // The /8 for app a shadows the later allow-all /32: edgerouter's order, kept.
  EXPECT_EQ(rules->Deny("b", "10.1.2.3"), "your IP (10.1.2.3) is not allowed (explicit deny)\n");
  EXPECT_EQ(rules->Deny("b", "192.0.2.1"), "your IP (192.0.2.1) is not allowed (implicit deny)\n");
  EXPECT_EQ(rules->Deny("b", "2001:db8::5"), std::nullopt);
  EXPECT_EQ(rules->Deny("b", "2001:db9::5"), "your IP (2001:db9::5) is not allowed (implicit deny)\n");
  // A dual-stack socket's IPv4-mapped peer is the IPv4 address.
  EXPECT_EQ(rules->Deny("a", "::ffff:10.9.9.9"), std::nullopt);
  EXPECT_EQ(rules->Deny("a", "nonsense"), "invalid IP: \"nonsense\"\n");
}

TEST(IpRuleSet, BadPrefixFailsToCompile) {
  config::v1::IpRules rules;
  rules.add_rules()->set_prefix("10.0.0.0/99");
  EXPECT_FALSE(IpRuleSet::Compile(rules).ok());
}

TEST(IpRulesAccess, EveryAppChainStartsWithIt) {
  config::v1::Backend b;
  b.set_kind("redirect");
  b.mutable_redirect_opts()->set_to("https://example.com/");
  absl::StatusOr<pipeline::Chain> chain = CompileAppChain("app1", b);
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_EQ(chain->Describe(), "ip_rules -> redirect");

  pipeline::FakeExchange allowed;  // no rules: no filtering
  chain->Run(allowed, "/");
  EXPECT_EQ(allowed.status, 302);

  auto rules = Rules({{"127.0.0.2/32", {"other"}}});
  pipeline::FakeExchange denied;
  denied.rules = rules.get();
  denied.client = "127.0.0.2";
  chain->Run(denied, "/");
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(denied.body, "your IP (127.0.0.2) is not allowed (explicit deny)\n");
}

}  // namespace
}  // namespace edgerouter::backends
