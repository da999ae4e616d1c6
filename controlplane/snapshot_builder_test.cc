#include "controlplane/snapshot_builder.h"

#include "common/app_config.h"
#include "common/event_line.h"
#include "controlplane/stream_state.h"
#include "gtest/gtest.h"

namespace edgerouter::controlplane {
namespace {

config::v1::Application App(const std::string& id, const std::string& to = "https://x/") {
  config::v1::Application app;
  app.set_id(id);
  auto* f = app.add_frontends();
  f->set_kind("hostname");
  f->set_hostname(id + ".example.com");
  f->set_path_prefix("/");
  app.mutable_backend()->set_kind("redirect");
  app.mutable_backend()->mutable_redirect_opts()->set_to(to);
  return app;
}

AppSource Source(const std::string& name, std::vector<config::v1::Application> apps) {
  AppSource source;
  source.name = name;
  for (auto& app : apps) {
    source.apps.push_back(std::make_shared<const PreparedApp>(PrepareApp(std::move(app), name)));
  }
  return source;
}

std::shared_ptr<const BuiltSnapshot> Build(std::vector<AppSource> sources,
                                           std::vector<ResourcePtr> certs = {}) {
  std::vector<const AppSource*> ptrs;
  for (const AppSource& s : sources) ptrs.push_back(&s);
  return BuildSnapshot(ptrs, certs);
}

TEST(SnapshotBuilder, SameInputsGiveByteIdenticalSnapshots) {
  events::v1::CertificateObtained cert;
  cert.set_id("c1");
  cert.add_domains("a.example.com");
  auto a = Build({Source("file", {App("b"), App("a")})}, {PrepareCertificate(cert)});
  auto b = Build({Source("file", {App("a"), App("b")})}, {PrepareCertificate(cert)});
  EXPECT_EQ(a->ToProto().SerializeAsString(), b->ToProto().SerializeAsString());
  ASSERT_EQ(a->resources.size(), 3u);
  EXPECT_EQ(a->resources[0]->name(), "app/a");
  EXPECT_EQ(a->resources[2]->name(), "cert/c1");
  EXPECT_EQ(a->Find("app/b")->app().id(), "b");
  EXPECT_EQ(a->Find("app/zz"), nullptr);
}

TEST(SnapshotBuilder, ResourceVersionsChangeOnlyWithTheirContent) {
  auto before = Build({Source("file", {App("a"), App("b")})});
  auto after = Build({Source("file", {App("a"), App("b", "https://y/")})});
  EXPECT_EQ(before->resources[0]->version(), after->resources[0]->version());
  EXPECT_NE(before->resources[1]->version(), after->resources[1]->version());
  EXPECT_NE(before->version, after->version);
}

TEST(SnapshotBuilder, BadAppIsLeftOutAndReportedWhileOthersServe) {
  config::v1::Application bad = App("bad");
  bad.mutable_backend()->mutable_redirect_opts()->clear_to();
  auto built = Build({Source("/t-1/loadbalancer@3", {App("good"), bad})});
  ASSERT_EQ(built->resources.size(), 1u);
  EXPECT_EQ(built->resources[0]->name(), "app/good");
  ASSERT_EQ(built->rejected.size(), 1u);
  EXPECT_EQ(built->rejected[0].id(), "bad");
  EXPECT_EQ(built->rejected[0].source(), "/t-1/loadbalancer@3");
  EXPECT_EQ(built->rejected[0].reason(), "backend.redirect_opts.to is required");
}

TEST(SnapshotBuilder, DuplicateIdsResolvedBySourcePrecedence) {
  auto built =
      Build({Source("stream", {App("a", "https://stream/")}), Source("file", {App("a", "https://file/")})});
  ASSERT_EQ(built->resources.size(), 1u);
  EXPECT_EQ(built->resources[0]->app().backend().redirect_opts().to(), "https://stream/");
  ASSERT_EQ(built->rejected.size(), 1u);
  EXPECT_EQ(built->rejected[0].source(), "file");
  EXPECT_EQ(built->rejected[0].reason(), "duplicate id; stream wins");
}

LogEntry Entry(uint64_t version, std::vector<std::pair<std::string, std::string>> events) {
  LogEntry entry;
  entry.version = version;
  for (auto& [type, payload] : events) entry.events.push_back(MakeSystemEvent(type, payload));
  return entry;
}

TEST(StreamState, UpsertsDeletesAndSkipsBadEventsWithoutBlocking) {
  LoadBalancerState state("/t-1/loadbalancer");
  const std::string app_a = config::ToEdgerouterJson(App("a"));
  state.Apply(Entry(1, {{"AppUpdated", R"({"Application":)" + app_a + "}"}}));
  state.Apply(Entry(2, {{"SomethingNew", "{}"}}));
  state.Apply(Entry(3, {{"AppUpdated", "{not json"}}));
  state.Apply(Entry(4, {{"AppUpdated", R"({"Application":)" + config::ToEdgerouterJson(App("b")) + "}"},
                        {"AppDeleted", R"({"Id":"a"})"},
                        {"AppDeleted", R"({"Id":"never-existed"})"}}));
  EXPECT_EQ(state.version(), 4u);
  ASSERT_EQ(state.apps().size(), 1u);
  EXPECT_EQ(state.apps().begin()->first, "b");
  EXPECT_EQ(state.apps().begin()->second->origin, "/t-1/loadbalancer@4");
  EXPECT_NE(state.apps().begin()->second->resource, nullptr);
  EXPECT_EQ(state.skipped().total(), 2u);
  EXPECT_EQ(state.skipped().recent()[0].where, "/t-1/loadbalancer@2");
  EXPECT_EQ(state.skipped().recent()[0].reason, "unknown event type");
  EXPECT_EQ(state.skipped().recent()[1].where, "/t-1/loadbalancer@3");
  EXPECT_NE(state.skipped().recent()[1].reason.find("invalid JSON at line 1"), std::string::npos);
}

TEST(StreamState, LatestCertificatePerIdWins) {
  CertBusState state("/t-1/certbus");
  state.Apply(Entry(1, {{"CertificateObtained", R"({"Id":"c","Domains":["a"],"PrivateKeyCiphertext":"AAE="})"}}));
  state.Apply(Entry(2, {{"CertificateObtained", R"({"Id":"c","Domains":["b"],"Future":1})"}}));
  state.Apply(Entry(3, {{"ConfigUpdated", R"({"ConfigCiphertext":"AA=="})"}}));
  ASSERT_EQ(state.certs().size(), 1u);
  EXPECT_EQ(state.certs().at("c").domains(0), "b");
  EXPECT_EQ(state.resources().at("c")->certificate().domains(0), "b");
  state.Apply(Entry(4, {{"CertificateRemoved", R"({"Id":"c"})"}}));
  EXPECT_TRUE(state.certs().empty());
  EXPECT_TRUE(state.resources().empty());
  EXPECT_EQ(state.skipped().total(), 0u);
}

TEST(StreamState, IpRulesUpdatedLatestWinsBadOnesAreSkippedEmptyWithdraws) {
  LoadBalancerState state("/t-1/loadbalancer");
  state.Apply(Entry(1, {{"IpRulesUpdated", R"({"Hcl":"allow_all { prefix = \"10.0.0.0/8\" }\n"})"}}));
  ASSERT_NE(state.ip_rules(), nullptr);
  EXPECT_EQ(state.ip_rules()->name(), "iprules");
  EXPECT_EQ(state.ip_rules()->ip_rules().rules(0).prefix(), "10.0.0.0/8");
  EXPECT_EQ(state.ip_rules()->ip_rules().origin(), "/t-1/loadbalancer@1");
  state.Apply(Entry(2, {{"IpRulesUpdated", R"({"Hcl":"allow_all {\n prefix = \"10.0.0.0/99\" }"})"}}));
  EXPECT_EQ(state.ip_rules()->ip_rules().origin(), "/t-1/loadbalancer@1");  // the bad one is skipped
  ASSERT_EQ(state.skipped().total(), 1u);
  EXPECT_NE(state.skipped().recent()[0].reason.find("Hcl: 2:11: invalid prefix"), std::string::npos)
      << state.skipped().recent()[0].reason;
  EXPECT_FALSE(ValidateEventForAppend(MakeSystemEvent("IpRulesUpdated", R"({"Hcl":"deny_all {}"})")).ok());
  EXPECT_TRUE(ValidateEventForAppend(MakeSystemEvent("IpRulesUpdated", R"({"Hcl":""})")).ok());
  state.Apply(Entry(3, {{"IpRulesUpdated", R"({"Hcl":""})"}}));
  EXPECT_EQ(state.ip_rules(), nullptr);
}

TEST(SnapshotBuilder, IpRulesAreOneResourceIdenticalForEqualInputs) {
  config::v1::IpRules rules;
  rules.add_rules()->set_prefix("127.0.0.0/8");
  auto a = Build({Source("file", {App("a")})});
  std::vector<const AppSource*> none;
  auto with_rules = [&] {
    AppSource s = Source("file", {App("a")});
    return BuildSnapshot({&s}, {}, PrepareIpRules(rules, "file:/etc/edgerouter/ip-rules.hcl"));
  };
  auto b = with_rules(), c = with_rules();
  EXPECT_EQ(b->ToProto().SerializeAsString(), c->ToProto().SerializeAsString());
  EXPECT_NE(a->version, b->version);
  ASSERT_EQ(b->resources.size(), 2u);
  EXPECT_EQ(b->resources[1]->name(), "iprules");
  EXPECT_EQ(b->resources[1]->ip_rules().origin(), "file:/etc/edgerouter/ip-rules.hcl");
}

}  // namespace
}  // namespace edgerouter::controlplane
