// Incremental compile: a delta reuses every unchanged app (the same object), recompiles the
// changed ones, drops the routes of removed ones, and ends where a compile from scratch of the
// same state ends, over random sequences of changes.
#include "dataplane/proxy/runtime_config.h"

#include <functional>
#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "dataplane/pipeline/fake_exchange.h"
#include "gtest/gtest.h"

namespace edgerouter::proxy {
namespace {

config::v1::Application RedirectApp(const std::string& id, const std::string& kind, const std::string& where,
                                const std::string& prefix, const std::string& to) {
  config::v1::Application app;
  app.set_id(id);
  config::v1::Frontend* f = app.add_frontends();
  f->set_kind(kind);
  if (kind == "hostname") f->set_hostname(where);
  if (kind == "hostname_regexp") f->set_hostname_regexp(where);
  f->set_path_prefix(prefix);
  app.mutable_backend()->set_kind("redirect");
  app.mutable_backend()->mutable_redirect_opts()->set_to(to);
  return app;
}

std::shared_ptr<const snapshot::v1::Resource> Resource(const config::v1::Application& app) {
  auto r = std::make_shared<snapshot::v1::Resource>();
  r->set_name("app/" + app.id());
  *r->mutable_app() = app;
  r->set_version(absl::StrCat(std::hash<std::string>()(app.SerializeAsString())));
  return r;
}

// The state the xDS client would hold, applied as deltas.
class State {
 public:
  void Put(const config::v1::Application& app) {
    auto r = Resource(app);
    resources_.Set(r->name(), r);
    changed_.push_back(r->name());
  }
  void Remove(const std::string& id) {
    if (resources_.Erase("app/" + id)) removed_.push_back("app/" + id);
  }
  // Compiles the pending changes as a delta against `previous` (null: full state).
  std::shared_ptr<const RuntimeConfig> Compile(const RuntimeConfig* previous) {
    xds::SnapshotView view;
    view.version = absl::StrCat("v", ++version_);
    view.resources = &resources_;
    view.full_state = previous == nullptr;
    if (!view.full_state) {
      view.changed = std::move(changed_);
      view.removed = std::move(removed_);
    }
    changed_.clear();
    removed_.clear();
    absl::StatusOr<std::shared_ptr<const RuntimeConfig>> rc = CompileUpdate(view, previous, Options());
    EXPECT_TRUE(rc.ok()) << rc.status();
    return rc.ok() ? *rc : nullptr;
  }
  std::shared_ptr<const RuntimeConfig> FromScratch() const {
    absl::StatusOr<std::shared_ptr<const RuntimeConfig>> rc =
        CompileSnapshot(xds::ToSnapshot(absl::StrCat("v", version_), resources_), Options());
    EXPECT_TRUE(rc.ok()) << rc.status();
    return rc.ok() ? *rc : nullptr;
  }
  static CompileOptions Options() {
    CompileOptions o;
    o.workers = 2;
    return o;
  }

 private:
  xds::ResourceMap resources_;
  std::vector<std::string> changed_, removed_;
  int version_ = 0;
};

const AppRuntime* App(const RuntimeConfig& rc, const std::string& id) {
  const std::shared_ptr<const AppRuntime>* app = rc.apps.Find("app/" + id);
  return app != nullptr ? app->get() : nullptr;
}

// Where a request goes: "<app>#<frontend> -> <redirect target>", or "404".
std::string Route(const RuntimeConfig& rc, const std::string& host, const std::string& path, size_t worker = 0) {
  const routing::Mount* m = rc.routes->Match(host, path, worker);
  if (m == nullptr) return "404";
  pipeline::FakeExchange exchange;
  static_cast<const AppRuntime&>(*m->target).chain.Run(exchange, path);
  return absl::StrCat(m->app_id, "#", m->frontend_index, " -> ", exchange.location);
}

TEST(IncrementalCompile, ReusesUnchangedAppsRecompilesChangedOnesAndUnroutesRemovedOnes) {
  State state;
  for (int i = 0; i < 100; ++i) {
    state.Put(RedirectApp(absl::StrCat("a", i), "hostname", absl::StrCat("a", i, ".example"), "/",
                          absl::StrCat("https://to/", i)));
  }
  std::shared_ptr<const RuntimeConfig> v1 = state.Compile(nullptr);
  ASSERT_NE(v1, nullptr);
  EXPECT_EQ(v1->apps.size(), 100u);

  state.Put(RedirectApp("a5", "hostname", "a5.example", "/", "https://to/changed"));
  state.Remove("a6");
  state.Put(RedirectApp("new", "hostname", "new.example", "/", "https://to/new"));
  std::shared_ptr<const RuntimeConfig> v2 = state.Compile(v1.get());
  ASSERT_NE(v2, nullptr);
  EXPECT_EQ(v2->apps.size(), 100u);
  EXPECT_EQ(App(*v2, "a1"), App(*v1, "a1"));  // the same compiled object
  EXPECT_EQ(App(*v2, "a99"), App(*v1, "a99"));
  EXPECT_NE(App(*v2, "a5"), App(*v1, "a5"));
  EXPECT_EQ(App(*v2, "a6"), nullptr);
  EXPECT_EQ(Route(*v2, "a5.example", "/"), "a5#0 -> https://to/changed");
  EXPECT_EQ(Route(*v2, "a6.example", "/"), "404");
  EXPECT_EQ(Route(*v2, "new.example", "/"), "new#0 -> https://to/new");
  EXPECT_EQ(Route(*v2, "a1.example", "/"), "a1#0 -> https://to/1");
  // The previous config is what it was.
  EXPECT_EQ(Route(*v1, "a5.example", "/"), "a5#0 -> https://to/5");
  EXPECT_EQ(Route(*v1, "a6.example", "/"), "a6#0 -> https://to/6");
  EXPECT_EQ(Route(*v1, "new.example", "/"), "404");
  // Certificates did not change: the same store.
  EXPECT_EQ(v2->certs, v1->certs);

  // A full state with the same versions recompiles nothing.
  xds::ResourceMap same = v2->resources;
  xds::SnapshotView full;
  full.version = "full";
  full.resources = &same;
  full.full_state = true;
  absl::StatusOr<std::shared_ptr<const RuntimeConfig>> v3 = CompileUpdate(full, v2.get(), State::Options());
  ASSERT_TRUE(v3.ok()) << v3.status();
  EXPECT_EQ(App(**v3, "a5"), App(*v2, "a5"));
  EXPECT_EQ(App(**v3, "new"), App(*v2, "new"));
}

TEST(IncrementalCompile, AnInvalidChangedAppRejectsTheDeltaAndLeavesThePreviousConfig) {
  State state;
  state.Put(RedirectApp("ok", "hostname", "ok.example", "/", "https://to/ok"));
  std::shared_ptr<const RuntimeConfig> v1 = state.Compile(nullptr);
  ASSERT_NE(v1, nullptr);
  config::v1::Application bad = RedirectApp("bad", "hostname_regexp", "{(}.example", "/", "https://to/bad");
  xds::ResourceMap resources = v1->resources;
  auto r = Resource(bad);
  resources.Set(r->name(), r);
  xds::SnapshotView view;
  view.version = "v2";
  view.resources = &resources;
  view.changed = {r->name()};
  absl::StatusOr<std::shared_ptr<const RuntimeConfig>> v2 = CompileUpdate(view, v1.get(), State::Options());
  ASSERT_FALSE(v2.ok());
  EXPECT_NE(v2.status().message().find("app bad"), absl::string_view::npos) << v2.status();
  EXPECT_EQ(Route(*v1, "ok.example", "/"), "ok#0 -> https://to/ok");
}

TEST(IncrementalCompile, RandomChangesEndWhereACompileFromScratchEnds) {
  std::mt19937 rng(1234);
  State state;
  std::shared_ptr<const RuntimeConfig> current = state.Compile(nullptr);
  const std::vector<std::string> hosts = {"a.example", "b.example", "c.example", "x.wild.example", "d.example"};
  const std::vector<std::string> paths = {"/", "/api", "/api/v1", "/static/x", "/.well-known/acme-challenge/t"};
  for (int round = 0; round < 60; ++round) {
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::string id = absl::StrCat("app", rng() % 12);
      const int shape = static_cast<int>(rng() % 6);
      const std::string prefix = std::vector<std::string>{"/", "/api", "/api/v1", "/static/"}[rng() % 4];
      const std::string to = absl::StrCat("https://to/", id, "/", round, "/", e);
      if (shape == 0) {
        state.Remove(id);
      } else if (shape == 1) {
        state.Put(RedirectApp(id, "path_prefix", "", "/.well-known/acme-challenge/", to));
      } else if (shape == 2) {
        state.Put(RedirectApp(id, "hostname_regexp", "{[a-z]+}.wild.example", prefix, to));
      } else {
        state.Put(RedirectApp(id, "hostname", hosts[rng() % 4], prefix, to));
      }
    }
    std::shared_ptr<const RuntimeConfig> next = state.Compile(current.get());
    ASSERT_NE(next, nullptr);
    std::shared_ptr<const RuntimeConfig> scratch = state.FromScratch();
    ASSERT_NE(scratch, nullptr);
    EXPECT_EQ(next->apps.size(), scratch->apps.size());
    EXPECT_EQ(next->routes->mount_count(), scratch->routes->mount_count());
    for (const std::string& host : hosts) {
      for (const std::string& path : paths) {
        for (size_t worker = 0; worker < 2; ++worker) {
          EXPECT_EQ(Route(*next, host, path, worker), Route(*scratch, host, path, worker))
              << "round " << round << " " << host << path;
        }
      }
    }
    current = next;
  }
}

}  // namespace
}  // namespace edgerouter::proxy
