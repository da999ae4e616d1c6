#include "controlplane/acme/acme_stream.h"

#include "controlplane/acme/acme_service.h"

#include "gtest/gtest.h"

namespace edgerouter::acme {
namespace {

controlplane::LogEntry Entry(uint64_t version, std::vector<events::v1::Event> events) {
  return {version, std::move(events)};
}

events::v1::Event Published(const std::string& token, const std::string& domain) {
  events::v1::AcmeChallengesPublished p;
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

  events::v1::AcmeChallengesWithdrawn w;
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
  events::v1::Event junk;
  junk.set_type("AcmeOrderStarted");
  junk.set_payload_json("{not json");
  events::v1::Event unknown;
  unknown.set_type("SomethingElse");
  unknown.set_payload_json("{}");
  state.Apply(Entry(2, {junk, unknown}));
  EXPECT_EQ(state.skipped(), 2u);
  EXPECT_TRUE(state.open_orders().empty());
}

TEST(AcmeStreamState, FirstAccountKeyWinsAndOrdersOpenAndClose) {
  AcmeStreamState state;
  events::v1::AcmeAccountKeyCreated k1, k2;
  k1.set_key_pem("PEM-1");
  k2.set_key_pem("PEM-2");
  state.Apply(Entry(1, {MakeAcmeEvent("AcmeAccountKeyCreated", k1)}));
  state.Apply(Entry(2, {MakeAcmeEvent("AcmeAccountKeyCreated", k2)}));
  EXPECT_EQ(state.account_key_pem(), "PEM-1");

  events::v1::AcmeOrderStarted started;
  started.set_domain("a.example.test");
  started.set_order_url("https://ca/order/1");
  state.Apply(Entry(3, {MakeAcmeEvent("AcmeOrderStarted", started)}));
  ASSERT_EQ(state.open_orders().count("a.example.test"), 1u);
  EXPECT_EQ(state.open_orders().at("a.example.test"), "https://ca/order/1");
  events::v1::AcmeOrderEnded ended;
  ended.set_domain("a.example.test");
  ended.set_outcome("issued");
  state.Apply(Entry(4, {MakeAcmeEvent("AcmeOrderEnded", ended)}));
  EXPECT_TRUE(state.open_orders().empty());
}

TEST(WantedNames, HostnameFrontendsRegexpsAndCertResolvers) {
  config::v1::Application app;
  app.set_id("blog");
  auto* f1 = app.add_frontends();
  f1->set_kind("hostname");
  f1->set_hostname("blog.example.test");
  auto* f2 = app.add_frontends();
  f2->set_kind("hostname_regexp");
  f2->set_hostname_regexp("{x:[a-z]+}.example.test");
  auto* f3 = app.add_frontends();
  f3->set_kind("path_prefix");
  f3->set_path_prefix("/.well-known/");
  auto prepared = std::make_shared<controlplane::PreparedApp>();
  prepared->id = "blog";
  auto resource = std::make_shared<snapshot::v1::Resource>();
  *resource->mutable_app() = app;
  prepared->resource = resource;
  prepared->cert_resolvers.push_back({"blog.example.test", "le", false});
  controlplane::BuiltSnapshot built;
  built.apps = controlplane::AppSet({prepared});
  std::vector<NameRequest> names = WantedNamesOf(built);
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[0].name, "blog.example.test");
  EXPECT_EQ(names[0].source, "app:blog");
  EXPECT_TRUE(names[1].regexp);
  EXPECT_EQ(names[2].source, "certresolver:le");
  // The tracker merges the two sources of blog.example.test and skips the regexp.
  NameTracker tracker({}, {});
  tracker.SetWanted(names);
  std::vector<NameStatus> states = tracker.States(absl::Now());
  ASSERT_EQ(states.size(), 2u);
  EXPECT_EQ(states[0].name, "blog.example.test");
  EXPECT_EQ(states[0].sources, (std::vector<std::string>{"app:blog", "certresolver:le"}));
  EXPECT_EQ(states[1].state, NameState::kSkipped);
}

}  // namespace
}  // namespace edgerouter::acme
