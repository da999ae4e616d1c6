#include "dataplane/routing/route_table.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/app_config.h"
#include "gtest/gtest.h"
#include "proto/config.pb.h"

namespace edgerouter::routing {
namespace {

config::v1::Frontend Host(absl::string_view hostname, absl::string_view prefix) {
  config::v1::Frontend f;
  f.set_kind("hostname");
  f.set_hostname(std::string(hostname));
  f.set_path_prefix(std::string(prefix));
  return f;
}

config::v1::Frontend HostRegexp(absl::string_view pattern, absl::string_view prefix) {
  config::v1::Frontend f;
  f.set_kind("hostname_regexp");
  f.set_hostname_regexp(std::string(pattern));
  f.set_path_prefix(std::string(prefix));
  return f;
}

config::v1::Frontend Global(absl::string_view prefix) {
  config::v1::Frontend f;
  f.set_kind("path_prefix");
  f.set_path_prefix(std::string(prefix));
  return f;
}

config::v1::Application App(absl::string_view id, std::vector<config::v1::Frontend> frontends) {
  config::v1::Application app;
  app.set_id(std::string(id));
  for (config::v1::Frontend& f : frontends) *app.add_frontends() = std::move(f);
  app.mutable_backend()->set_kind("redirect");
  app.mutable_backend()->mutable_redirect_opts()->set_to("https://example.net/");
  return app;
}

// Owns the apps (in the given order, which need not be sorted) and the table built from them.
class Routes {
 public:
  explicit Routes(std::vector<config::v1::Application> apps) : apps_(std::move(apps)) {
    std::vector<const config::v1::Application*> ptrs;
    for (const config::v1::Application& app : apps_) {
      // The fixtures must be configs the control plane would accept.
      EXPECT_TRUE(config::ValidateApplication(app).empty()) << app.id();
      ptrs.push_back(&app);
    }
    absl::StatusOr<std::unique_ptr<RouteTable>> table = RouteTable::Build(ptrs);
    EXPECT_TRUE(table.ok()) << table.status();
    if (table.ok()) table_ = *std::move(table);
  }

  const RouteTable& table() const { return *table_; }

  // Runs a request's Host header and raw path through the same steps as the proxy and names
  // the winner as "<app id>#<frontend index>", or "404" / "400".
  std::string Route(absl::string_view host_header, absl::string_view raw_path) const {
    std::string host;
    if (!NormalizeHost(host_header, &host)) return "400";
    absl::StatusOr<std::string> path = NormalizePath(raw_path);
    if (!path.ok()) return "400";
    const Mount* m = table_->Match(host, *path);
    if (m == nullptr) return "404";
    return absl::StrCat(m->app_id, "#", m->frontend_index);
  }

 private:
  std::vector<config::v1::Application> apps_;
  std::unique_ptr<RouteTable> table_;
};

TEST(RouteTable, GlobalBeatsExactHostBeatsRegexp) {
  Routes r({
      App("acme", {Global("/.well-known/acme-challenge/")}),
      App("site", {Host("example.com", "/")}),
      App("wild", {HostRegexp("{.*}example.com", "/")}),
  });
  EXPECT_EQ(r.Route("example.com", "/.well-known/acme-challenge/tok"), "acme#0");
  EXPECT_EQ(r.Route("other.org", "/.well-known/acme-challenge/tok"), "acme#0");
  EXPECT_EQ(r.Route("example.com", "/"), "site#0");  // the regexp matches too
  EXPECT_EQ(r.Route("www.example.com", "/x"), "wild#0");
  EXPECT_EQ(r.Route("other.org", "/"), "404");
  EXPECT_EQ(r.table().mount_count(), 3u);
}

TEST(RouteTable, LongestPrefixFirst) {
  Routes r({
      App("a", {Host("example.com", "/")}),
      App("b", {Host("example.com", "/api")}),
      App("c", {Host("example.com", "/api/v1/")}),
  });
  EXPECT_EQ(r.Route("example.com", "/api/v1/users"), "c#0");
  EXPECT_EQ(r.Route("example.com", "/api/v1"), "c#0");  // trailing '/' of the prefix trimmed
  EXPECT_EQ(r.Route("example.com", "/api/v2"), "b#0");
  EXPECT_EQ(r.Route("example.com", "/api"), "b#0");
  EXPECT_EQ(r.Route("example.com", "/apix"), "a#0");
  EXPECT_EQ(r.Route("example.com", "/"), "a#0");
}

TEST(RouteTable, GlobalPrefixesAreLongestFirstToo) {
  Routes r({App("metrics", {Global("/metrics")}), App("acme", {Global("/metrics/acme")})});
  EXPECT_EQ(r.Route("any.host", "/metrics/acme/1"), "acme#0");
  EXPECT_EQ(r.Route("any.host", "/metrics"), "metrics#0");
  EXPECT_EQ(r.Route("any.host", "/metricsx"), "404");
}

TEST(PathMatches, PrefixBoundaries) {
  struct Case {
    const char* prefix;
    const char* path;
    bool want;
  } cases[] = {
      {"/foo", "/foo", true},    {"/foo", "/foo/", true},   {"/foo", "/foo/x", true},
      {"/foo", "/foobar", false}, {"/foo", "/fo", false},    {"/foo", "/", false},
      {"/foo/", "/foo", true},   {"/foo/", "/foo/x", true}, {"/foo/", "/foobar", false},
      {"/", "/", true},          {"/", "/anything", true},  {"", "/", true},
      {"", "/x/y", true},        {"/a/b", "/a", false},     {"/a/b", "/a/b/c", true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(PathMatches(c.prefix, c.path), c.want) << c.prefix << " vs " << c.path;
  }
}

TEST(RouteTable, EmptyPrefixMatchesEverythingButSortsLast) {
  Routes r({App("a-catchall", {Host("example.com", "")}), App("z", {Host("example.com", "/z")})});
  EXPECT_EQ(r.Route("example.com", "/z/1"), "z#0");
  EXPECT_EQ(r.Route("example.com", "/other"), "a-catchall#0");
  EXPECT_EQ(r.Route("example.com", "/"), "a-catchall#0");
}

TEST(RouteTable, HostWithoutMatchingPrefixFallsThroughToRegexps) {
  Routes r({
      App("api", {Host("example.com", "/api")}),
      App("wild", {HostRegexp("{.*}example.com", "/")}),
  });
  EXPECT_EQ(r.Route("example.com", "/api/x"), "api#0");
  EXPECT_EQ(r.Route("example.com", "/web"), "wild#0");
}

TEST(RouteTable, RegexpMatchingHostButNotPathLetsTheNextOneTry) {
  Routes r({
      App("a", {HostRegexp("{[^.]+}.example.com", "/admin")}),
      App("b", {HostRegexp("{.+}.example.com", "/")}),
  });
  EXPECT_EQ(r.Route("x.example.com", "/admin/users"), "a#0");
  EXPECT_EQ(r.Route("x.example.com", "/shop"), "b#0");
  EXPECT_EQ(r.Route("example.com", "/shop"), "404");
}

TEST(RouteTable, RegexpsAreTriedInAppIdOrderWhateverTheInputOrder) {
  // Both match everything; "alpha" comes first by id although it is given last.
  Routes r({
      App("zulu", {HostRegexp("{.*}", "/")}),
      App("alpha", {HostRegexp("{[a-z.]+}", "/"), HostRegexp("{.*}", "/")}),
  });
  EXPECT_EQ(r.Route("example.com", "/"), "alpha#0");
  EXPECT_EQ(r.Route("10.0.0.1", "/"), "alpha#1");
}

TEST(RouteTable, EdgerouterUpstreamRegexpExample) {
  EXPECT_EQ(config::HostnameRegexpToRe2("hellohttp.{[^.]+}.fn61.net"),
            "^hellohttp\\.[^.]+\\.fn61\\.net$");
  Routes r({App("hello", {HostRegexp("hellohttp.{[^.]+}.fn61.net", "/")})});
  EXPECT_EQ(r.Route("hellohttp.dev.fn61.net", "/"), "hello#0");
  EXPECT_EQ(r.Route("xhellohttp.dev.fn61.net", "/"), "404");
  EXPECT_EQ(r.Route("hellohttp.dev.fn61.net.evil.com", "/"), "404");
  EXPECT_EQ(r.Route("hellohttp.a.b.fn61.net", "/"), "404");
  EXPECT_EQ(r.Route("hellohttpxdev.fn61xnet", "/"), "404");  // '.' outside {…} is literal
}

TEST(RouteTable, HostsAreCaseInsensitiveAndIgnoreTrailingDot) {
  Routes r({
      App("exact", {Host("Example.COM.", "/")}),
      App("re", {HostRegexp("API.{[^.]+}.Example.com", "/")}),
  });
  EXPECT_EQ(r.Route("example.com", "/"), "exact#0");
  EXPECT_EQ(r.Route("EXAMPLE.com.:8443", "/"), "exact#0");
  EXPECT_EQ(r.Route("api.eu.example.com", "/"), "re#0");
  EXPECT_EQ(r.Route("Api.EU.example.com.", "/"), "re#0");
}

TEST(RouteTable, EqualLengthPrefixesTieByAppIdThenFrontendIndex) {
  Routes r({
      App("zeta", {Host("example.com", "/api"), Global("/acme")}),
      App("alpha", {Host("example.com", "/api"), Global("/acme")}),
      App("solo", {Host("solo.example", "/p"), Host("solo.example", "/p")}),
  });
  EXPECT_EQ(r.Route("example.com", "/api/x"), "alpha#0");
  EXPECT_EQ(r.Route("example.com", "/acme"), "alpha#1");
  EXPECT_EQ(r.Route("solo.example", "/p"), "solo#0");
}

TEST(RouteTable, MountCarriesFrontendSettingsAndAppIndex) {
  config::v1::Frontend f = Host("example.com", "/files/");
  f.set_strip_path_prefix(true);
  f.set_allow_insecure_http(true);
  Routes r({App("first", {Host("first.example", "/")}), App("files", {Host("x.example", "/"), f})});
  std::string host;
  ASSERT_TRUE(NormalizeHost("example.com", &host));
  const Mount* m = r.table().Match(host, "/files/foobar.txt");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->app_id, "files");
  EXPECT_EQ(m->app_index, 1);
  EXPECT_EQ(m->frontend_index, 1);
  EXPECT_EQ(m->prefix, "/files/");
  EXPECT_TRUE(m->strip_path_prefix);
  EXPECT_TRUE(m->allow_insecure_http);
  EXPECT_EQ(StripPrefix(m->prefix, "/files/foobar.txt"), "/foobar.txt");
  EXPECT_EQ(r.table().mount_count(), 3u);
}

TEST(RouteTable, EmptyTableMatchesNothing) {
  Routes r({});
  EXPECT_EQ(r.table().Match("example.com", "/"), nullptr);
  EXPECT_EQ(r.table().mount_count(), 0u);
}

TEST(RouteTable, InvalidRegexpIsAnErrorNamingTheApp) {
  // "^(\.example\.com$" does not compile. ValidateApplication rejects it too, but the data
  // plane must not trust its input blindly.
  config::v1::Application good = App("good", {Host("example.com", "/")});
  config::v1::Application bad = App("broken-app", {Host("b.example", "/"), HostRegexp("{(}.example.com", "/")});
  absl::StatusOr<std::unique_ptr<RouteTable>> table = RouteTable::Build({&good, &bad});
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(table.status().message().find("app broken-app: frontends[1].hostname_regexp"),
            absl::string_view::npos)
      << table.status();
}

TEST(RouteTable, EveryWorkerSearchesRegexpsWithItsOwnCopy) {
  config::v1::Application app = App("wild", {HostRegexp("{[a-z]+}.example.com", "/")});
  absl::StatusOr<std::unique_ptr<RouteTable>> table = RouteTable::Build({&app}, 3);
  ASSERT_TRUE(table.ok()) << table.status();
  for (size_t worker = 0; worker < 3; ++worker) {
    const Mount* m = (*table)->Match("api.example.com", "/x", worker);
    ASSERT_NE(m, nullptr) << worker;
    EXPECT_EQ(m->app_id, "wild");
    EXPECT_EQ((*table)->Match("api.example.org", "/x", worker), nullptr);
  }
  // Distinct objects: RE2's DFA cache (and its lock) is per object.
  EXPECT_NE((*table)->regexp_for(0, 0), (*table)->regexp_for(0, 1));
  EXPECT_NE((*table)->regexp_for(0, 1), (*table)->regexp_for(0, 2));
  EXPECT_EQ((*table)->regexp_for(0, 3), (*table)->regexp_for(0, 0));  // more callers than copies: shared
}

TEST(RouteTable, UnknownFrontendKindIsAnError) {
  config::v1::Application app = App("odd", {Host("example.com", "/")});
  app.mutable_frontends(0)->set_kind("sni");
  absl::StatusOr<std::unique_ptr<RouteTable>> table = RouteTable::Build({&app});
  ASSERT_FALSE(table.ok());
  EXPECT_NE(table.status().message().find("app odd: frontends[0].kind"), absl::string_view::npos)
      << table.status();
}

// Incremental updates: what a change does not touch is shared with the previous table, which
// keeps routing as before; the result routes like a table built from scratch.
struct Target : RouteTarget {
  explicit Target(std::string n) : name(std::move(n)) {}
  std::string name;
};

TEST(RouteTable, UpdateSharesUntouchedHostsAndRegexpsAndLeavesThePreviousTableAlone) {
  std::vector<config::v1::Application> apps;
  for (int i = 0; i < 200; ++i) apps.push_back(App(absl::StrCat("app", i), {Host(absl::StrCat("h", i, ".example"), "/")}));
  apps.push_back(App("wild", {HostRegexp("{[a-z]+}.wild.example", "/")}));
  apps.push_back(App("acme", {Global("/.well-known/acme-challenge/")}));
  std::vector<RouteTable::AppRoutes> added;
  std::vector<std::shared_ptr<const Target>> targets;
  for (const config::v1::Application& app : apps) {
    targets.push_back(std::make_shared<const Target>(app.id()));
    added.push_back({&app, targets.back()});
  }
  absl::StatusOr<std::unique_ptr<RouteTable>> first = RouteTable::Update(nullptr, {}, added, 2);
  ASSERT_TRUE(first.ok()) << first.status();

  // app7 moves to another host and gets a second frontend on an existing host.
  config::v1::Application moved = App("app7", {Host("moved.example", "/"), Host("h8.example", "/only")});
  auto moved_target = std::make_shared<const Target>("app7-v2");
  absl::StatusOr<std::unique_ptr<RouteTable>> second =
      RouteTable::Update(first->get(), {{&apps[7], targets[7]}}, {{&moved, moved_target}}, 2);
  ASSERT_TRUE(second.ok()) << second.status();
  const RouteTable& before = **first;
  const RouteTable& after = **second;
  EXPECT_TRUE(after.SharesHostWith(before, "h1.example"));
  EXPECT_TRUE(after.SharesHostWith(before, "h150.example"));
  EXPECT_FALSE(after.SharesHostWith(before, "h8.example"));  // touched
  EXPECT_EQ(after.regexp_for(0, 1), before.regexp_for(0, 1));  // the same compiled RE2
  EXPECT_EQ(after.Match("h7.example", "/"), nullptr);
  EXPECT_EQ(after.Match("moved.example", "/x")->target, moved_target);
  EXPECT_EQ(after.Match("h8.example", "/only/x")->target, moved_target);
  EXPECT_EQ(after.Match("h8.example", "/other")->app_id, "app8");
  EXPECT_EQ(after.Match("a.wild.example", "/", 1)->app_id, "wild");
  EXPECT_EQ(after.mount_count(), before.mount_count() + 1);
  // The previous table is unchanged.
  EXPECT_EQ(before.Match("h7.example", "/")->target, targets[7]);
  EXPECT_EQ(before.Match("moved.example", "/"), nullptr);
  EXPECT_EQ(before.Match("h8.example", "/only/x")->app_id, "app8");

  // Removing the regexp app and the global one.
  absl::StatusOr<std::unique_ptr<RouteTable>> third = RouteTable::Update(
      second->get(), {{&apps[200], targets[200]}, {&apps[201], targets[201]}}, {}, 2);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ((*third)->Match("a.wild.example", "/"), nullptr);
  EXPECT_EQ((*third)->Match("h1.example", "/.well-known/acme-challenge/x")->app_id, "app1");
  EXPECT_EQ(after.Match("h1.example", "/.well-known/acme-challenge/x")->app_id, "acme");
  EXPECT_TRUE((*third)->SharesHostWith(after, "h8.example"));

  // A bad regexp in an update fails it without touching the table it started from.
  config::v1::Application bad = App("bad", {HostRegexp("{(}.example.com", "/")});
  EXPECT_FALSE(RouteTable::Update(third->get(), {}, {{&bad, nullptr}}, 2).ok());
  EXPECT_EQ((*third)->Match("h8.example", "/")->app_id, "app8");
}

TEST(StripPrefix, Cases) {
  struct Case {
    const char* prefix;
    const char* path;
    const char* want;
  } cases[] = {
      {"/files/", "/files/foobar.txt", "/foobar.txt"},
      {"/x/", "/x", "/"},  // edgerouter panics here
      {"/x/", "/x/", "/"},
      {"/api", "/api", "/"},
      {"/api", "/api/", "/"},
      {"/api", "/api/v1/users", "/v1/users"},
      {"/", "/a/b", "/a/b"},
      {"", "/a/b", "/a/b"},
      {"/x//", "/x//y", "/y"},   // the raw prefix, as edgerouter cuts it
      {"/x//", "/x/yz", "/yz"},  // edgerouter would cut into the segment ("/z")
  };
  for (const Case& c : cases) {
    EXPECT_EQ(StripPrefix(c.prefix, c.path), c.want) << c.prefix << " from " << c.path;
  }
}

TEST(NormalizeHost, Table) {
  struct Case {
    const char* header;
    const char* want;  // nullptr: malformed
  } cases[] = {
      {"example.com", "example.com"},
      {"Example.COM:8080", "example.com"},
      {"example.com.", "example.com"},
      {"example.com.:443", "example.com"},
      {"10.0.0.1:80", "10.0.0.1"},
      {"[::1]:443", "::1"},
      {"[::1]", "::1"},
      {"[2001:DB8::1]:8443", "2001:db8::1"},
      {"localhost:65535", "localhost"},
      {"A.:80", "a"},  // name:port in one pass, trailing dot dropped as without the port
      {"::1", nullptr},            // unbracketed IPv6: host or host:port?
      {"2001:db8::1:80", nullptr},
      {"", nullptr},
      {":80", nullptr},
      {".", nullptr},
      {"..", nullptr},             // empty labels (found by route_normalize_fuzz: "*.." gave "*.")
      {"*..", nullptr},
      {"a..b", nullptr},
      {".example.com", nullptr},
      {"example.com..:80", nullptr},
      {"[]:80", nullptr},
      {"example.com:", nullptr},   // empty port
      {"example.com:http", nullptr},
      {"example.com:65536", nullptr},
      {"example.com:123456", nullptr},
      {"[::1", nullptr},
      {"[::1]x", nullptr},
      {"[::1]]:80", nullptr},
      {"[[::1]:80", nullptr},
      {"a]b:80", nullptr},
      {"exa mple.com", nullptr},
      {"example.com/evil", nullptr},
      {"user@example.com", nullptr},
      {"WWW.Example.Com", "www.example.com"},  // lower-cased by the one-pass path
      {"example.com:8\x01", nullptr},          // a bad byte after the ':' (general path)
      {"exa\x80mple.com", nullptr},
  };
  for (const Case& c : cases) {
    std::string out = "stale";
    const bool ok = NormalizeHost(c.header, &out);
    if (c.want == nullptr) {
      EXPECT_FALSE(ok) << '"' << c.header << "\" gave " << out;
    } else {
      EXPECT_TRUE(ok) << c.header;
      EXPECT_EQ(out, c.want) << c.header;
    }
  }
}

TEST(NormalizePath, Table) {
  struct Case {
    const char* raw;
    const char* want;  // nullptr: error
  } cases[] = {
      {"/", "/"},
      {"/a/b", "/a/b"},
      {"/a/b/", "/a/b/"},  // trailing slash preserved
      {"/a//b", "/a//b"},
      {"/a/b.c/d..e/f.", "/a/b.c/d..e/f."},  // dots inside segments: already normal
      {"/.well-known/x", "/.well-known/x"},  // a segment starting with '.' that is no dot segment
      {"/a/.", "/a/"},
      {"/a/..", "/"},
      {"/a/./b", "/a/b"},
      {"/a/../b", "/b"},
      {"/%2e%2E/x", "/x"},
      {"/a/%2e/b", "/a/b"},
      {"/a/b/%2E%2e", "/a/"},
      {"/..", "/"},
      {"/../..", "/"},
      {"/../a", "/a"},
      {"/a/..", "/"},  // RFC 3986 §5.2.4: "/a" dropped, then "/.." becomes "/"
      {"/a/b/..", "/a/"},
      {"/a/.", "/a/"},
      {"/.", "/"},
      {"/./", "/"},
      {"/a//../b", "/a/b"},  // ".." drops the empty segment only
      {"/...", "/..."},
      {"/.a/..b", "/.a/..b"},
      {"/a%2Fb", "/a%2Fb"},
      {"/a%2fb", "/a%2Fb"},
      {"/a%2F..%2Fb", "/a%2F..%2Fb"},  // not a separator, so not a dot-segment
      {"/%7Euser", "/~user"},
      {"/%41", "/A"},
      {"/%2d%5f%30", "/-_0"},
      {"/%20%3f%c3%a9", "/%20%3F%C3%A9"},
      {"/%zz", nullptr},
      {"/%4", nullptr},
      {"/%", nullptr},
      {"/a%", nullptr},
      {"/%00", nullptr},
      {"/a\\b", nullptr},
      {"/static\\..\\admin", nullptr},
      {"/a%5Cb", "/a%5Cb"},  // encoded, it is data
      {"", nullptr},
      {"a/b", nullptr},
      {"*", nullptr},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::string> got = NormalizePath(c.raw);
    if (c.want == nullptr) {
      EXPECT_FALSE(got.ok()) << '"' << c.raw << "\" gave " << *got;
      if (!got.ok()) {
        EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
      }
    } else if (got.ok()) {
      EXPECT_EQ(*got, c.want) << c.raw;
    } else {
      ADD_FAILURE() << c.raw << ": " << got.status();
    }
  }
}

TEST(RouteTable, EncodedPathRoutesLikeItsNormalForm) {
  Routes r({App("admin", {Host("example.com", "/admin")}), App("site", {Host("example.com", "/")})});
  EXPECT_EQ(r.Route("example.com", "/%61dmin/x"), "admin#0");
  EXPECT_EQ(r.Route("example.com", "/public/../admin"), "admin#0");
  EXPECT_EQ(r.Route("example.com", "/admin%2Fx"), "site#0");  // "%2F" never separates
  EXPECT_EQ(r.Route("example.com", "/%zz"), "400");
  EXPECT_EQ(r.Route("::1", "/"), "400");
}

}  // namespace
}  // namespace edgerouter::routing
