#include "controlplane/snapshot_builder.h"

#include <map>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
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
  ASSERT_EQ(state.resources().size(), 1u);
  EXPECT_EQ(state.resources().at("c")->certificate().domains(0), "b");
  EXPECT_EQ(state.TakeChangedIds(), std::set<std::string>{"c"});
  state.Apply(Entry(4, {{"CertificateRemoved", R"({"Id":"c"})"}}));
  EXPECT_TRUE(state.resources().empty());
  EXPECT_EQ(state.TakeChangedIds(), std::set<std::string>{"c"});
  EXPECT_TRUE(state.TakeChangedIds().empty());
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

// The builder re-resolves only changed ids and shares unchanged chunks; after any sequence of
// changes its snapshot must equal a build from scratch byte for byte (replicas that started at
// different times, or batched differently, serve the same version).
TEST(SnapshotBuilder, ChangeByChangeEqualsAFullBuildByteForByte) {
  std::mt19937 rng(7);
  std::map<std::string, PreparedAppPtr> stream;
  std::vector<config::v1::Application> file_apps;
  for (int i = 0; i < 3000; i += 7) file_apps.push_back(App(absl::StrFormat("a-%05d", i), "https://file/"));
  const AppSource file = Source("file", file_apps);
  std::map<std::string, std::vector<PreparedAppPtr>> file_by_id;
  for (const auto& app : file.apps) file_by_id[app->id].push_back(app);
  std::map<std::string, ResourcePtr> certs;  // by resource name
  std::set<std::string> changed_certs;

  SnapshotBuilder incremental;
  std::set<std::string> ids;
  for (const auto& [id, apps] : file_by_id) ids.insert(id);
  for (int step = 0; step < 200; ++step) {
    const int batch = step == 0 ? 2000 : step % 10 == 0 ? 300 : 1 + static_cast<int>(rng() % 3);
    for (int b = 0; b < batch; ++b) {
      const std::string id = absl::StrFormat("a-%05d", static_cast<int>(rng() % 3000));
      ids.insert(id);
      if (rng() % 4 == 0) {
        stream.erase(id);
        continue;
      }
      config::v1::Application app = App(id, absl::StrCat("https://x/", step));
      if (rng() % 50 == 0) app.mutable_backend()->mutable_redirect_opts()->clear_to();  // rejected
      stream[id] = std::make_shared<const PreparedApp>(PrepareApp(std::move(app), absl::StrCat("stream@", step)));
    }
    for (int b = 0; b < (step == 0 ? 40 : static_cast<int>(rng() % 3)); ++b) {  // certificates come and go too
      events::v1::CertificateObtained cert;
      cert.set_id(absl::StrCat("c", rng() % 60));
      cert.add_domains(absl::StrCat(cert.id(), ".example.com"));
      cert.set_expires(absl::StrCat("2030-01-0", 1 + step % 9, "T00:00:00Z"));
      const std::string name = "cert/" + cert.id();
      changed_certs.insert(name);
      if (rng() % 3 == 0) {
        certs.erase(name);
      } else {
        certs[name] = PrepareCertificate(cert);
      }
    }
    std::vector<ResourceSet::Change> cert_changes;
    for (const std::string& name : changed_certs) {
      auto it = certs.find(name);
      cert_changes.emplace_back(name, it != certs.end() ? it->second : nullptr);
    }
    changed_certs.clear();
    std::vector<ResourcePtr> all_certs;
    for (const auto& [name, cert] : certs) all_certs.push_back(cert);
    std::vector<AppCandidates> changed;
    for (const std::string& id : ids) {
      AppCandidates& c = changed.emplace_back();
      c.id = id;
      if (auto it = stream.find(id); it != stream.end()) c.apps.push_back(it->second);
      if (auto it = file_by_id.find(id); it != file_by_id.end()) c.apps.insert(c.apps.end(), it->second.begin(), it->second.end());
    }
    ids.clear();
    auto inc = incremental.Build(changed, std::move(cert_changes), {}, {});

    AppSource stream_source;
    stream_source.name = "stream";
    for (const auto& [id, app] : stream) stream_source.apps.push_back(app);
    auto full = BuildSnapshot({&stream_source, &file}, all_certs);
    ASSERT_EQ(inc->version, full->version) << "step " << step;
    size_t served_certs = 0;
    for (const ResourcePtr& r : inc->resources) served_certs += absl::StartsWith(r->name(), "cert/");
    ASSERT_EQ(served_certs, certs.size()) << "step " << step;
    ASSERT_EQ(inc->resources.size(), full->resources.size());
    ASSERT_EQ(inc->resources.chunks().size(), full->resources.chunks().size());
    for (size_t i = 0; i < inc->resources.chunks().size(); ++i) {
      ASSERT_EQ(inc->resources.chunks()[i]->digest, full->resources.chunks()[i]->digest) << "chunk " << i;
    }
    std::vector<std::string> inc_apps, full_apps;
    for (const auto& app : inc->apps) inc_apps.push_back(app->origin + "/" + app->id);
    for (const auto& app : full->apps) full_apps.push_back(app->origin + "/" + app->id);
    ASSERT_EQ(inc_apps, full_apps);
    ASSERT_EQ(inc->rejected.size(), full->rejected.size());
    for (size_t i = 0; i < inc->rejected.size(); ++i) {
      ASSERT_EQ(inc->rejected[i].SerializeAsString(), full->rejected[i].SerializeAsString());
    }
    if (step % 20 == 0) {
      ASSERT_EQ(inc->ToProto().SerializeAsString(), full->ToProto().SerializeAsString());
    }
  }
  EXPECT_GT(stream.size(), 1000u);
}

TEST(ChunkedSet, FindLowerBoundAndRemovalOfEverything) {
  std::vector<ResourcePtr> items;
  for (int i = 0; i < 500; ++i) {
    auto r = std::make_shared<snapshot::v1::Resource>();
    r->set_name(absl::StrFormat("app/%04d", i));
    items.push_back(r);
  }
  ResourceSet set(items);
  EXPECT_EQ(set.size(), 500u);
  EXPECT_GT(set.chunks().size(), 1u);
  ASSERT_NE(set.Find("app/0123"), nullptr);
  EXPECT_EQ((*set.Find("app/0123"))->name(), "app/0123");
  EXPECT_EQ(set.Find("app/0123x"), nullptr);
  EXPECT_EQ((*set.LowerBound("app/0123x"))->name(), "app/0124");
  EXPECT_EQ(set.LowerBound("b"), set.end());
  size_t n = 0;
  for (const ResourcePtr& r : set) EXPECT_EQ(r->name(), items[n++]->name());
  EXPECT_EQ(n, 500u);
  std::vector<ResourceSet::Change> removals;
  for (const ResourcePtr& r : items) removals.emplace_back(r->name(), nullptr);
  ResourceSet emptied = set.With(std::move(removals));
  EXPECT_TRUE(emptied.empty());
  EXPECT_TRUE(emptied.chunks().empty());
  EXPECT_EQ(emptied.begin(), emptied.end());
  EXPECT_EQ(set.size(), 500u);  // the old version is unchanged
}

}  // namespace
}  // namespace edgerouter::controlplane
