#include "controlplane/docker/labels.h"

#include <string>
#include <vector>

#include "common/app_config.h"
#include "gtest/gtest.h"

namespace edgerouter::controlplane::docker {
namespace {

const std::vector<std::string> kOne = {"10.0.0.5"};

Labels Public(Labels extra) {
  extra.emplace("edgerouter.auth", "public");
  return extra;
}

config::v1::Application Build(const Labels& labels,
                          const std::vector<std::string>& addrs = kOne) {
  auto app = ApplicationFromLabels("svc", labels, addrs);
  EXPECT_TRUE(app.ok()) << app.status();
  if (!app.ok() || !app->has_value()) {
    ADD_FAILURE() << "no app";
    return {};
  }
  EXPECT_TRUE(config::ValidateApplication(**app).empty());
  return **app;
}

std::string ErrorOf(const Labels& labels) {
  auto app = ApplicationFromLabels("svc", labels, kOne);
  EXPECT_FALSE(app.ok());
  return app.ok() ? "" : std::string(app.status().message());
}

// One frontend as "kind value path strip".
std::string Fe(const config::v1::Frontend& f) {
  return f.kind() + " " + (f.kind() == "hostname" ? f.hostname() : f.hostname_regexp()) + " " +
         f.path_prefix() + (f.strip_path_prefix() ? " strip" : "");
}

std::vector<std::string> Fronts(const config::v1::Application& app) {
  std::vector<std::string> out;
  for (const auto& f : app.frontends()) out.push_back(Fe(f));
  return out;
}

using V = std::vector<std::string>;

TEST(LabelsTest, MinimalV1AppMatchesEdgerouter) {
  config::v1::Application app =
      Build(Public({{"traefik.frontend.rule", "Host:a.example.com"}}), {"10.0.0.5", "10.0.0.6"});
  EXPECT_EQ(app.id(), "svc");
  EXPECT_EQ(Fronts(app), V{"hostname a.example.com /"});
  ASSERT_EQ(app.backend().kind(), "reverse_proxy");
  const auto& rp = app.backend().reverse_proxy_opts();
  EXPECT_EQ(V(rp.origins().begin(), rp.origins().end()),
            (V{"http://10.0.0.5:80", "http://10.0.0.6:80"}));
  EXPECT_TRUE(rp.pass_host_header());
  EXPECT_FALSE(rp.has_tls_config());
}

TEST(LabelsTest, NotOptedIn) {
  EXPECT_FALSE(ApplicationFromLabels("svc", Public({}), kOne)->has_value());
  EXPECT_FALSE(ApplicationFromLabels("svc", Public({{"traefik.frontend.rule", ""}}), kOne)
                   ->has_value());
  // traefik.enable=false wins even over a broken rule (no error for an ignored service).
  EXPECT_FALSE(ApplicationFromLabels(
                   "svc", {{"traefik.enable", "false"}, {"traefik.frontend.rule", "Bad"}}, kOne)
                   ->has_value());
  EXPECT_TRUE(ApplicationFromLabels(
                  "svc", Public({{"traefik.enable", "true"}, {"traefik.frontend.rule", "Host:a"}}),
                  kOne)
                  ->has_value());
}

TEST(LabelsTest, V1Rules) {
  struct Case {
    std::string rule;
    V fronts;
  };
  const std::vector<Case> cases = {
      {"Host:a.com", {"hostname a.com /"}},
      {"Host:a.com;PathPrefix:/api/", {"hostname a.com /api/"}},
      {"PathPrefix:/api;Host:a.com", {"hostname a.com /api"}},
      {"HostRegexp:{sub:[a-z]+}.a.com", {"hostname_regexp {sub:[a-z]+}.a.com /"}},
      {"Host:a.com,b.com", {"hostname a.com /", "hostname b.com /"}},
      {"Host:a.com, b.com;PathPrefix:/x", {"hostname a.com /x", "hostname b.com /x"}},
      {"Host:a.com;PathPrefixStrip:/api", {"hostname a.com /api strip"}},
      // Later sub-rule of the same type overwrites; Host beats HostRegexp.
      {"Host:a.com;Host:b.com", {"hostname b.com /"}},
      {"HostRegexp:x.{y}.com;Host:a.com", {"hostname a.com /"}},
      {"Host:a.com;PathPrefixStrip:/s;PathPrefix:/p", {"hostname a.com /p"}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Fronts(Build(Public({{"traefik.frontend.rule", c.rule}}))), c.fronts) << c.rule;
  }
}

TEST(LabelsTest, V1RuleErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"Path:/x;Host:a.com", "unsupported rule: 'Path:/x'"},
      {"Host:a.com;", "unsupported rule: ''"},
      {"Method:GET", "unsupported rule: 'Method:GET'"},
      {"Headers:X-A,b", "unsupported rule: 'Headers:X-A,b'"},
      {"host:a.com", "unsupported rule: 'host:a.com'"},
      {"Host(`a.com`)", "unsupported rule: 'Host(`a.com`)'"},
      {"Host:a.com,", "unsupported rule: 'Host:a.com,'"},
      {"PathPrefix:/x", "unsupported frontend rule: PathPrefix:/x"},
  };
  for (const auto& [rule, error] : cases) {
    EXPECT_EQ(ErrorOf(Public({{"traefik.frontend.rule", rule}})), error) << rule;
  }
}

TEST(LabelsTest, V2Rules) {
  struct Case {
    std::string rule;
    V fronts;
  };
  const std::vector<Case> cases = {
      {"Host(`a.com`)", {"hostname a.com /"}},
      {"Host(\"a.com\")", {"hostname a.com /"}},
      {"Host(`a.com`) || Host(`b.com`)", {"hostname a.com /", "hostname b.com /"}},
      {"Host(`a.com`,`b.com`)", {"hostname a.com /", "hostname b.com /"}},
      {"Host(`a.com`) && PathPrefix(`/api`)", {"hostname a.com /api"}},
      {"PathPrefix(`/api`) && Host(`a.com`)", {"hostname a.com /api"}},
      {"(Host(`a.com`) || Host(`b.com`)) && PathPrefix(`/p`)",
       {"hostname a.com /p", "hostname b.com /p"}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Fronts(Build(Public({{"traefik.http.routers.web.rule", c.rule}}))), c.fronts)
        << c.rule;
  }
}

TEST(LabelsTest, V2RuleErrorsNameTheMatcher) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"Host(`a.com`) && Headers(`x`,`y`)",
       "unsupported matcher: Headers in rule: 'Host(`a.com`) && Headers(`x`,`y`)'"},
      {"Host(`a.com`) && Method(`GET`)",
       "unsupported matcher: Method in rule: 'Host(`a.com`) && Method(`GET`)'"},
      {"Path(`/x`)", "unsupported matcher: Path in rule: 'Path(`/x`)'"},
      {"HostRegexp(`{a:.*}`)", "unsupported matcher: HostRegexp in rule: 'HostRegexp(`{a:.*}`)'"},
      {"PathPrefix(`/p`)", "unsupported frontend rule: PathPrefix(`/p`)"},
      {"Host(`a.com`) || PathPrefix(`/p`)", "unsupported rule: 'Host(`a.com`) || PathPrefix(`/p`)'"},
      {"!Host(`a.com`)", "unsupported rule: '!Host(`a.com`)'"},
      {"Host(`a.com`) && Host(`b.com`)", "unsupported rule: 'Host(`a.com`) && Host(`b.com`)'"},
      {"Host(`a.com`", "unsupported rule: 'Host(`a.com`'"},
      {"Host(`a.com`) &", "unsupported rule: 'Host(`a.com`) &'"},
  };
  for (const auto& [rule, error] : cases) {
    EXPECT_EQ(ErrorOf(Public({{"traefik.http.routers.web.rule", rule}})), error) << rule;
  }
}

TEST(LabelsTest, SeveralRoutersAreFrontendsOfOneApp) {
  config::v1::Application app = Build(Public({{"traefik.http.routers.b.rule", "Host(`b.com`)"},
                                          {"traefik.http.routers.a.rule", "Host(`a.com`)"},
                                          {"traefik.http.routers.a.entrypoints", "web"}}));
  EXPECT_EQ(Fronts(app), (V{"hostname a.com /", "hostname b.com /"}));
}

TEST(LabelsTest, V1RuleWinsOverV2) {
  config::v1::Application app = Build(Public({{"traefik.frontend.rule", "Host:v1.com"},
                                          {"traefik.http.routers.r.rule", "Headers(`x`,`y`)"}}));
  EXPECT_EQ(Fronts(app), V{"hostname v1.com /"});
}

TEST(LabelsTest, PortAndProtocol) {
  struct Case {
    Labels labels;
    std::string origin;
  };
  const Labels rule = {{"traefik.frontend.rule", "Host:a"}};
  auto with = [&](Labels extra) {
    extra.insert(rule.begin(), rule.end());
    return Public(extra);
  };
  const std::vector<Case> cases = {
      {with({}), "http://10.0.0.5:80"},
      {with({{"traefik.protocol", "https"}}), "https://10.0.0.5:443"},
      {with({{"traefik.port", "8080"}}), "http://10.0.0.5:8080"},
      {with({{"traefik.protocol", "https"}, {"traefik.port", "8443"}}), "https://10.0.0.5:8443"},
      {with({{"traefik.http.services.s.loadbalancer.server.port", "9000"}}),
       "http://10.0.0.5:9000"},
      {with({{"traefik.http.services.s.loadbalancer.server.scheme", "https"}}),
       "https://10.0.0.5:443"},
      // v1 labels take precedence over v2 ones.
      {with({{"traefik.port", "81"}, {"traefik.http.services.s.loadbalancer.server.port", "82"},
             {"traefik.protocol", "http"},
             {"traefik.http.services.s.loadbalancer.server.scheme", "https"}}),
       "http://10.0.0.5:81"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Build(c.labels).backend().reverse_proxy_opts().origins(0), c.origin);
  }
  EXPECT_EQ(Build(with({}), {"fd00::5"}).backend().reverse_proxy_opts().origins(0),
            "http://[fd00::5]:80");
}

TEST(LabelsTest, ProtocolAndTlsErrors) {
  const Labels base = Public({{"traefik.frontend.rule", "Host:a"}});
  auto with = [&](Labels extra) {
    extra.insert(base.begin(), base.end());
    return extra;
  };
  EXPECT_EQ(ErrorOf(with({{"traefik.protocol", "h2c"}})), "unsupported protocol: h2c");
  EXPECT_EQ(ErrorOf(with({{"traefik.http.services.s.loadbalancer.server.scheme", "ftp"}})),
            "unsupported protocol: ftp");
  EXPECT_EQ(ErrorOf(with({{"traefik.protocol", "https"},
                          {"traefik.backend.tls.insecureSkipVerify", "yes"}})),
            "unsupported value for insecureSkipVerify: yes");
  EXPECT_EQ(ErrorOf(with({{"traefik.backend.tls.insecureSkipVerify", "true"}})),
            "insecureSkipVerify specified but not using https");
  EXPECT_EQ(ErrorOf(with({{"traefik.http.services.a.loadbalancer.server.port", "1"},
                          {"traefik.http.services.b.loadbalancer.server.port", "2"}})),
            "more than one traefik.http.services entry not supported: a, b");
}

TEST(LabelsTest, TlsConfig) {
  config::v1::Application app = Build(Public({{"traefik.frontend.rule", "Host:a"},
                                          {"traefik.protocol", "https"},
                                          {"traefik.backend.tls.insecureSkipVerify", "true"},
                                          {"traefik.backend.tls.serverName", "origin.internal"}}));
  const auto& tls = app.backend().reverse_proxy_opts().tls_config();
  EXPECT_TRUE(tls.insecure_skip_verify());
  EXPECT_EQ(tls.server_name(), "origin.internal");
  config::v1::Application sni_only = Build(Public(
      {{"traefik.frontend.rule", "Host:a"}, {"traefik.backend.tls.serverName", "o.internal"}}));
  EXPECT_FALSE(sni_only.backend().reverse_proxy_opts().tls_config().insecure_skip_verify());
  EXPECT_EQ(sni_only.backend().reverse_proxy_opts().tls_config().server_name(), "o.internal");
}

TEST(LabelsTest, AuthIsMandatory) {
  const Labels rule = {{"traefik.frontend.rule", "Host:a"}};
  EXPECT_EQ(ErrorOf(rule), "unsupported auth mode: ");
  Labels bad = rule;
  bad["edgerouter.auth"] = "none";
  EXPECT_EQ(ErrorOf(bad), "unsupported auth mode: none");
  bad["edgerouter.auth"] = "bearer_token";
  EXPECT_EQ(ErrorOf(bad), "empty bearer token not supported");
  bad["edgerouter.auth"] = "sso";
  EXPECT_EQ(ErrorOf(bad), "edgerouter.auth_sso.tenant empty");
}

TEST(LabelsTest, BearerTokenWrapsInAuthV0) {
  config::v1::Application app = Build({{"traefik.frontend.rule", "Host:a"},
                                   {"edgerouter.auth", "bearer_token"},
                                   {"edgerouter.auth_bearer_token", "s3cret"}});
  ASSERT_EQ(app.backend().kind(), "auth_v0");
  EXPECT_EQ(app.backend().auth_v0_opts().bearer_token(), "s3cret");
  const auto& inner = app.backend().auth_v0_opts().authorized_backend();
  EXPECT_EQ(inner.kind(), "reverse_proxy");
  EXPECT_EQ(inner.reverse_proxy_opts().origins(0), "http://10.0.0.5:80");
}

TEST(LabelsTest, SsoWrapsInAuthSso) {
  config::v1::Application app = Build({{"traefik.frontend.rule", "Host:a"},
                                   {"edgerouter.auth", "sso"},
                                   {"edgerouter.auth_sso.tenant", "t-2"},
                                   {"edgerouter.auth_sso.users", "u1, u2"}});
  ASSERT_EQ(app.backend().kind(), "auth_sso");
  const auto& sso = app.backend().auth_sso_opts();
  EXPECT_EQ(sso.audience(), "t-2/svc");
  EXPECT_EQ(V(sso.allowed_user_ids().begin(), sso.allowed_user_ids().end()), (V{"u1", " u2"}));
  EXPECT_EQ(sso.authorized_backend().reverse_proxy_opts().origins(0), "http://10.0.0.5:80");
  config::v1::Application nobody = Build({{"traefik.frontend.rule", "Host:a"},
                                      {"edgerouter.auth", "sso"},
                                      {"edgerouter.auth_sso.tenant", "t-2"}});
  EXPECT_EQ(V(nobody.backend().auth_sso_opts().allowed_user_ids().begin(),
              nobody.backend().auth_sso_opts().allowed_user_ids().end()),
            V{""});
}

TEST(LabelsTest, NoInstancesIsAnError) {
  auto app = ApplicationFromLabels("svc", Public({{"traefik.frontend.rule", "Host:a"}}), {});
  EXPECT_EQ(app.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(LabelsTest, HelperLabels) {
  EXPECT_EQ(NetworkLabel({{"traefik.docker.network", "lbnet"}}), "lbnet");
  EXPECT_EQ(NetworkLabel({}), "");
  EXPECT_TRUE(WantsSwarmVip({{"traefik.docker.lbswarm", "true"}}));
  EXPECT_TRUE(WantsSwarmVip({{"traefik.swarm.lbswarm", "true"}}));
  EXPECT_FALSE(WantsSwarmVip({{"traefik.swarm.lbswarm", "false"}}));
}

TEST(LabelsTest, CertResolverHostsPerRouter) {
  const Labels labels = {
      {"traefik.http.routers.web.rule", "Host(`b.example.com`) || Host(`a.example.com`)"},
      {"traefik.http.routers.web.tls.certresolver", "le"},
      {"traefik.http.routers.api.rule", "Host(`api.example.com`) && PathPrefix(`/v1`)"},
      {"traefik.http.routers.wild.rule", "HostRegexp(`{sub:[a-z]+}.example.com`)"},
      {"traefik.http.routers.wild.tls.certresolver", "le"},
      {"traefik.http.routers.bad.rule", "Host(`x.example.com`"},
      {"traefik.http.routers.bad.tls.certresolver", "le"},
  };
  std::vector<CertResolverHost> hosts = CertResolverHosts(labels);
  ASSERT_EQ(hosts.size(), 2u);
  EXPECT_EQ(hosts[0].host, "a.example.com");
  EXPECT_EQ(hosts[0].resolver, "le");
  EXPECT_FALSE(hosts[0].regexp);
  EXPECT_EQ(hosts[1].host, "b.example.com");
  // api.example.com has no resolver; v2 HostRegexp is unsupported and the bad rule unparseable:
  // both left out (ApplicationFromLabels reports them).
  EXPECT_TRUE(CertResolverHosts({{"traefik.http.routers.web.rule", "Host(`a.test`)"}}).empty());
}

}  // namespace
}  // namespace edgerouter::controlplane::docker
