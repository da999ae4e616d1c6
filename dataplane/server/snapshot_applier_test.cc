// The apply step between the xDS client and the workers: a state that does not compile (or has
// too many apps) is rejected and the served config stays; a delta applies on top of it.
#include "dataplane/server/snapshot_applier.h"

#include <functional>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "dataplane/pipeline/fake_exchange.h"
#include "gtest/gtest.h"

namespace edgerouter::dataplane {
namespace {

std::shared_ptr<const snapshot::v1::Resource> RedirectApp(const std::string& id, const std::string& host,
                                                      const std::string& to, bool host_is_regexp = false) {
  auto r = std::make_shared<snapshot::v1::Resource>();
  r->set_name("app/" + id);
  config::v1::Application* app = r->mutable_app();
  app->set_id(id);
  config::v1::Frontend* f = app->add_frontends();
  f->set_kind(host_is_regexp ? "hostname_regexp" : "hostname");
  if (host_is_regexp) {
    f->set_hostname_regexp(host);
  } else {
    f->set_hostname(host);
  }
  f->set_path_prefix("/");
  app->mutable_backend()->set_kind("redirect");
  app->mutable_backend()->mutable_redirect_opts()->set_to(to);
  r->set_version(absl::StrCat(std::hash<std::string>()(app->SerializeAsString())));
  return r;
}

// Where `host`/ goes in the served config: the redirect target, or "404" / "no config".
std::string Served(const proxy::ConfigSource& configs, const std::string& host) {
  std::shared_ptr<const proxy::RuntimeConfig> config = configs.Load();
  if (config == nullptr) return "no config";
  const routing::Mount* m = config->routes->Match(host, "/", 0);
  if (m == nullptr) return "404";
  pipeline::FakeExchange exchange;
  static_cast<const proxy::AppRuntime&>(*m->target).chain.Run(exchange, "/");
  return exchange.location;
}

class SnapshotApplierTest : public ::testing::Test {
 protected:
  SnapshotApplierTest() : applier_(Options(), &configs_) {}
  static SnapshotApplierOptions Options() {
    SnapshotApplierOptions o;
    o.workers = 1;
    o.max_apps = 3;
    return o;
  }
  // The view the xDS client hands over after putting `put` and dropping `drop`.
  absl::Status Delta(const std::string& version, std::vector<std::shared_ptr<const snapshot::v1::Resource>> put,
                     std::vector<std::string> drop = {}) {
    xds::SnapshotView view;
    view.version = version;
    view.resources = &resources_;
    for (auto& r : put) {
      resources_.Set(r->name(), r);
      view.changed.push_back(r->name());
    }
    for (auto& name : drop) {
      if (resources_.Erase(name)) view.removed.push_back(name);
    }
    return applier_.Apply(view);
  }
  absl::Status Full(const std::string& version) {
    xds::SnapshotView view;
    view.version = version;
    view.resources = &resources_;
    view.full_state = true;
    return applier_.Apply(view);
  }

  proxy::ConfigSource configs_;
  SnapshotApplier applier_;
  xds::ResourceMap resources_;  // the xDS client's state (it keeps a rejected delta out of it)
};

TEST_F(SnapshotApplierTest, AFullStateThenADeltaAreServed) {
  resources_.Set("app/a", RedirectApp("a", "a.test", "https://to/a1"));
  ASSERT_TRUE(Full("v1").ok());
  EXPECT_EQ(configs_.Load()->version, "v1");
  EXPECT_EQ(Served(configs_, "a.test"), "https://to/a1");
  EXPECT_EQ(applier_.app_count(), 1u);

  ASSERT_TRUE(Delta("v2", {RedirectApp("a", "a.test", "https://to/a2"), RedirectApp("b", "b.test", "https://to/b")}).ok());
  EXPECT_EQ(configs_.Load()->version, "v2");
  EXPECT_EQ(Served(configs_, "a.test"), "https://to/a2");
  EXPECT_EQ(Served(configs_, "b.test"), "https://to/b");
  EXPECT_EQ(applier_.app_count(), 2u);

  ASSERT_TRUE(Delta("v3", {}, {"app/a"}).ok());
  EXPECT_EQ(Served(configs_, "a.test"), "404");
  EXPECT_EQ(Served(configs_, "b.test"), "https://to/b");
  EXPECT_EQ(applier_.app_count(), 1u);
}

TEST_F(SnapshotApplierTest, AStateThatDoesNotCompileIsRejectedAndThePreviousConfigKeepsServing) {
  resources_.Set("app/a", RedirectApp("a", "a.test", "https://to/a"));
  ASSERT_TRUE(Full("v1").ok());
  std::shared_ptr<const proxy::RuntimeConfig> served = configs_.Load();

  xds::ResourceMap before = resources_;
  absl::Status s = Delta("v2", {RedirectApp("bad", "{(}.test", "https://to/bad", /*host_is_regexp=*/true)});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("app bad"), absl::string_view::npos) << s;
  EXPECT_EQ(configs_.Load(), served);  // the same object: nothing was published
  EXPECT_EQ(Served(configs_, "a.test"), "https://to/a");

  // The client keeps its accepted state after a NACK; the next good delta applies on it.
  resources_ = before;
  ASSERT_TRUE(Delta("v3", {RedirectApp("c", "c.test", "https://to/c")}).ok());
  EXPECT_EQ(Served(configs_, "c.test"), "https://to/c");
  EXPECT_EQ(Served(configs_, "a.test"), "https://to/a");
  EXPECT_EQ(applier_.app_count(), 2u);
}

TEST_F(SnapshotApplierTest, MoreAppsThanTheBudgetAreRejectedWithoutCompiling) {
  resources_.Set("app/a", RedirectApp("a", "a.test", "https://to/a"));
  ASSERT_TRUE(Full("v1").ok());
  xds::ResourceMap before = resources_;
  absl::Status s = Delta("v2", {RedirectApp("b", "b.test", "https://to/b"), RedirectApp("c", "c.test", "https://to/c"),
                                RedirectApp("d", "d.test", "https://to/d")});
  ASSERT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_NE(s.message().find("4 apps, more than --max_apps=3"), absl::string_view::npos) << s;
  EXPECT_EQ(configs_.Load()->version, "v1");
  EXPECT_EQ(Served(configs_, "b.test"), "404");
  EXPECT_EQ(applier_.app_count(), 1u);

  // Replacing an app does not count it twice.
  resources_ = before;
  ASSERT_TRUE(Delta("v3", {RedirectApp("a", "a.test", "https://to/a2"), RedirectApp("b", "b.test", "https://to/b")}).ok());
  EXPECT_EQ(applier_.app_count(), 2u);
}

}  // namespace
}  // namespace edgerouter::dataplane
