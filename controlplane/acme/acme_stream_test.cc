#include "controlplane/acme/acme_stream.h"

#include "gtest/gtest.h"

namespace edgerouter::acme {
namespace {

controlplane::LogEntry Entry(uint64_t version, std::vector<events::Event> events) {
  return {version, std::move(events)};
}

events::Event Published(const std::string& token, const std::string& domain) {
  events::AcmeChallengesPublished p;
  auto* c = p.add_challenges();
  c->set_domain(domain);
  c->set_token(token);
  c->set_key_authorization(token + ".thumb");
  return MakeAcmeEvent("AcmeChallengesPublished", p);
}

TEST(AcmeStreamState, ChallengesBecomeSortedSnapshotResourcesAndAreWithdrawn) {
  AcmeStreamState state;
  state.Apply(Entry(1, {Published("tokB", "b.example.test"), Published("tokA", "a.example.test")}));
  std::vector<controlplane::ResourcePtr> r = state.ChallengeResources();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0]->name(), "acme/tokA");
  EXPECT_EQ(r[0]->acme_challenge().key_authorization(), "tokA.thumb");
  EXPECT_EQ(r[0]->acme_challenge().domain(), "a.example.test");
  EXPECT_FALSE(r[0]->version().empty());
  // Equal inputs, equal resources (every replica builds the same snapshot).
  AcmeStreamState other;
  other.Apply(Entry(1, {Published("tokB", "b.example.test"), Published("tokA", "a.example.test")}));
  EXPECT_EQ(other.ChallengeResources()[1]->SerializeAsString(), r[1]->SerializeAsString());

  events::AcmeChallengesWithdrawn w;
  w.add_tokens("tokA");
  state.Apply(Entry(2, {MakeAcmeEvent("AcmeChallengesWithdrawn", w)}));
  ASSERT_EQ(state.ChallengeResources().size(), 1u);
  EXPECT_EQ(state.ChallengeResources()[0]->name(), "acme/tokB");
  EXPECT_EQ(state.version(), 2u);
}

TEST(AcmeStreamState, BadTokensAndPayloadsAreSkipped) {
  AcmeStreamState state;
  state.Apply(Entry(1, {Published("../etc", "a.example.test"), Published("ok_-1", "a.example.test")}));
  EXPECT_EQ(state.challenges().size(), 1u);
  events::Event junk;
  junk.set_type("AcmeOrderStarted");
  junk.set_payload_json("{not json");
  events::Event unknown;
  unknown.set_type("SomethingElse");
  unknown.set_payload_json("{}");
  state.Apply(Entry(2, {junk, unknown}));
  EXPECT_EQ(state.skipped(), 2u);
  EXPECT_TRUE(state.open_orders().empty());
}

TEST(AcmeStreamState, FirstAccountKeyWinsAndOrdersOpenAndClose) {
  AcmeStreamState state;
  events::AcmeAccountKeyCreated k1, k2;
  k1.set_key_pem("PEM-1");
  k2.set_key_pem("PEM-2");
  state.Apply(Entry(1, {MakeAcmeEvent("AcmeAccountKeyCreated", k1)}));
  state.Apply(Entry(2, {MakeAcmeEvent("AcmeAccountKeyCreated", k2)}));
  EXPECT_EQ(state.account_key_pem(), "PEM-1");

  events::AcmeOrderStarted started;
  started.set_domain("a.example.test");
  started.set_order_url("https://ca/order/1");
  state.Apply(Entry(3, {MakeAcmeEvent("AcmeOrderStarted", started)}));
  ASSERT_EQ(state.open_orders().count("a.example.test"), 1u);
  EXPECT_EQ(state.open_orders().at("a.example.test"), "https://ca/order/1");
  events::AcmeOrderEnded ended;
  ended.set_domain("a.example.test");
  ended.set_outcome("issued");
  state.Apply(Entry(4, {MakeAcmeEvent("AcmeOrderEnded", ended)}));
  EXPECT_TRUE(state.open_orders().empty());
}

}  // namespace
}  // namespace edgerouter::acme
