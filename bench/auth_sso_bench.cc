// auth_sso's cost per request with a valid token, against auth_v0's, in the same process: each
// app's compiled chain (ip_rules -> auth_* -> redirect) run over an in-memory exchange. The
// difference is what a valid-token request pays for SSO (target: at most 2 µs, i.e. the
// signature verified once per token, not per request).
#include <cstdio>
#include <ctime>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "dataplane/backends/auth_sso/auth_sso.h"
#include "dataplane/backends/auth_sso/jwt.h"
#include "dataplane/backends/auth_sso/jwt_test_util.h"
#include "dataplane/backends/builtin.h"
#include "dataplane/backends/ip_rules/ip_rules.h"
#include "dataplane/pipeline/fake_exchange.h"

namespace edgerouter {
namespace {

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

config::v1::Backend Inner() {
  config::v1::Backend b;
  b.set_kind("redirect");
  b.mutable_redirect_opts()->set_to("https://example.com/");
  return b;
}

// Median over rounds of the mean ns per request.
double Measure(const pipeline::Chain& chain, pipeline::FakeExchange& ex, int expected_status) {
  constexpr int kRounds = 15, kPerRound = 20000;
  std::vector<double> means;
  for (int r = 0; r < kRounds; ++r) {
    const int64_t start = NowNs();
    for (int i = 0; i < kPerRound; ++i) chain.Run(ex, "/");
    means.push_back(static_cast<double>(NowNs() - start) / kPerRound);
    if (ex.status != expected_status) {
      std::fprintf(stderr, "unexpected status %d\n", ex.status);
      std::exit(1);
    }
  }
  return bench::Percentile(means, 0.5);
}

}  // namespace
}  // namespace edgerouter

int main() {
  using namespace edgerouter;
  backends::sso::TestSigner signer("k1");
  const std::string token = signer.Token("alice", "app1", 3600);
  auto keys = std::make_shared<const backends::sso::KeySet>(*backends::sso::ParseJwks(backends::sso::JwksJson({&signer})));

  config::v1::Backend v0;
  v0.set_kind("auth_v0");
  v0.mutable_auth_v0_opts()->set_bearer_token("0123456789abcdef0123456789abcdef");
  *v0.mutable_auth_v0_opts()->mutable_authorized_backend() = Inner();
  absl::StatusOr<pipeline::Chain> v0_chain = backends::CompileAppChain("v0", v0);

  // The SSO chain as CompileAuthSso builds it, with the key set in memory instead of fetched.
  pipeline::ChainBuilder sso_builder;
  sso_builder.AddAccess(backends::MakeIpRulesAccess("sso"));
  sso_builder.AddAccess(backends::MakeAuthSso({"http://127.0.0.1:1/id", "app1", {"alice"}}, [&] { return keys; }, [] {}));
  absl::StatusOr<pipeline::Chain> sso_chain =
      backends::BuiltinBackends().CompileChain("sso", Inner(), std::move(sso_builder));
  if (!v0_chain.ok() || !sso_chain.ok()) return 1;

  pipeline::FakeExchange v0_ex;
  v0_ex.headers["authorization"] = "Bearer 0123456789abcdef0123456789abcdef";
  pipeline::FakeExchange sso_ex;
  sso_ex.headers["authorization"] = "Bearer " + token;
  pipeline::FakeExchange cookie_ex;
  cookie_ex.headers["cookie"] = "theme=dark; auth=" + token;

  // One verification, as the first request with a token pays it.
  int64_t start = NowNs();
  sso_chain->Run(sso_ex, "/");
  const double first_us = (NowNs() - start) / 1000.0;

  const double v0_ns = Measure(*v0_chain, v0_ex, 302);
  const double sso_ns = Measure(*sso_chain, sso_ex, 302);
  const double cookie_ns = Measure(*sso_chain, cookie_ex, 302);
  std::printf("first request with a token (signature verified): %.1f us\n", first_us);
  std::printf("auth_v0 valid token:            %.0f ns/request\n", v0_ns);
  std::printf("auth_sso valid token (bearer):  %.0f ns/request (%+.0f ns over auth_v0)\n", sso_ns, sso_ns - v0_ns);
  std::printf("auth_sso valid token (cookie):  %.0f ns/request (%+.0f ns over auth_v0)\n", cookie_ns, cookie_ns - v0_ns);
  return sso_ns - v0_ns <= 2000 && cookie_ns - v0_ns <= 2000 ? 0 : 3;
}
