// The turbocharger backend end to end with real processes: the S3 emulator as the store,
// `edgerouterctl turbocharger tar-deploy-to-store | deploy-site-from-store`, a control plane and
// a data plane with a disk cache that outlives it and is pruned at its bound; the middleware on
// reverse_proxy (the test origin) and aws_lambda (serverless-offline) attaching, re-validating
// with HEAD while the store keeps serving, and detaching.
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/turbocharger/manifest.h"
#include "dataplane/test/e2e_fixture.h"
#include "dataplane/turbocharger/gzip.h"
#include "testenv/aws/aws_emulators.h"

namespace edgerouter::testing {
namespace {

constexpr char kBucket[] = "er-turbo";
constexpr int kBlob = 4000;            // bytes of each incompressible file
constexpr int kCacheBound = 3 * kBlob - 1;  // the data plane's --turbocharger_cache_bytes: not 3 blobs
constexpr absl::Duration kTrust = absl::Seconds(2);  // the data plane's --turbocharger_trust_ms

std::string RandomBytes(int n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(gen());
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class TurbochargerE2E : public DataplaneE2E {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/er-tc-e2e-XXXXXX";
    tc_dir_ = mkdtemp(tmpl);
    auto s3 = AwsEmulator::StartS3(tc_dir_ + "/data", {kBucket});
    ASSERT_TRUE(s3.ok()) << s3.status();
    s3_ = *std::move(s3);
    s3_->ExportS3Environment();
    setenv("TURBOCHARGER_STORE", absl::StrCat("s3://us-east-1/", kBucket).c_str(), 1);
    DataplaneE2E::SetUp();
  }
  void TearDown() override {
    DataplaneE2E::TearDown();
    s3_.reset();
    std::filesystem::remove_all(tc_dir_);
  }
  std::string AppsJson() override { return R"({"apps":[]})"; }
  std::vector<std::string> DataplaneFlags() override {
    return {"--plain_is_https", "--workers=1", "--turbocharger_cache_dir=" + tc_dir_ + "/cache",
            absl::StrCat("--turbocharger_cache_bytes=", kCacheBound),
            absl::StrCat("--turbocharger_trust_ms=", absl::ToInt64Milliseconds(kTrust))};
  }

  int Ctl(const std::vector<std::string>& args, std::string* output = nullptr) {
    std::vector<std::string> argv = {RunfilePath("cli/edgerouterctl"),
                                     absl::StrCat("--controlplane=127.0.0.1:", cp_grpc_port_)};
    argv.insert(argv.end(), args.begin(), args.end());
    auto p = Subprocess::Start(argv);
    EXPECT_TRUE(p.ok());
    absl::StatusOr<int> status = (*p)->Wait(absl::Seconds(60));
    EXPECT_TRUE(status.ok());
    if (output != nullptr) *output = (*p)->Output();
    const int code = status.ok() && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
    if (code != 0) std::cerr << "edgerouterctl " << absl::StrJoin(args, " ") << ": " << (*p)->Output() << "\n";
    return code;
  }

  // Writes a site and deploys it with `tar -cf - NAMES | edgerouterctl turbocharger
  // tar-deploy-to-store`; returns the manifest id it printed (its only stdout line).
  std::string DeploySite(const std::string& version) {
    const std::string root = absl::StrCat(tc_dir_, "/site-", version);
    std::filesystem::create_directories(root + "/docs");
    std::ofstream(root + "/index.html") << "<h1>home " << version << "</h1>";
    std::ofstream(root + "/docs/index.html") << "docs " << version;
    std::ofstream(root + "/docs/my page.txt") << "spaced " << version;
    std::ofstream(root + "/404.html") << "<p>not found " << version << "</p>";
    std::ofstream(root + "/app.js") << "console.log('" << version << "');" << std::string(2000, ' ');
    for (int i = 1; i <= 3; ++i) std::ofstream(absl::StrCat(root, "/b", i, ".bin")) << RandomBytes(kBlob, i);
    const std::string out = tc_dir_ + "/deploy.out";
    const std::string cmd = absl::StrCat("/bin/tar -C ", root, " -cf - index.html docs 404.html app.js b1.bin b2.bin b3.bin | ",
                                         RunfilePath("cli/edgerouterctl"),
                                         " turbocharger tar-deploy-to-store site >", out);
    auto p = Subprocess::Start({"/bin/sh", "-c", cmd});
    EXPECT_TRUE(p.ok());
    absl::StatusOr<int> status = (*p)->Wait(absl::Seconds(60));
    EXPECT_TRUE(status.ok() && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << (*p)->Output();
    return std::string(absl::StripSuffix(ReadFile(out), "\n"));
  }

  void MakeApp(const std::string& manifest_id) {
    const std::string file = tc_dir_ + "/app.json";
    std::ofstream(file) << R"({"id":"site","frontends":[{"kind":"hostname","hostname":"site.test","path_prefix":"/"}],)"
                        << R"("backend":{"kind":"turbocharger","turbocharger_opts":{"manifest":")" << manifest_id
                        << R"("}}})";
    ASSERT_EQ(Ctl({"app", "put", "--new", file}), 0);
  }

  void RestartDataplane() {
    kill(dp_->pid(), SIGTERM);
    ASSERT_TRUE(dp_->Wait(absl::Seconds(20)).ok());
    StartDataplane(DataplaneFlags());
  }

  uint64_t CacheBytes() {
    uint64_t total = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(tc_dir_ + "/cache")) {
      if (e.is_regular_file()) total += e.file_size();
    }
    return total;
  }
  bool Cached(const std::string& sub, const std::string& content) {
    return std::filesystem::exists(absl::StrCat(tc_dir_, "/cache/", sub, "/", ObjectIdOf(content)));
  }
  static std::string ObjectIdOf(const std::string& content) {
    return turbocharger::ObjectId::ForContent(content).ToString();
  }

  std::unique_ptr<AwsEmulator> s3_;
  std::string tc_dir_;
};

TEST_F(TurbochargerE2E, DeployServeConditionalCodingsNotFoundAndRestart) {
  WaitForApplied(1);
  const std::string v1 = DeploySite("v1");
  ASSERT_EQ(v1.size(), 43u) << v1;
  MakeApp(v1);
  WaitForApplied(2);

  // gzip when accepted: the stored gzip bytes, ETag "<id>-gz", Vary, no-cache for HTML.
  const std::string home = "<h1>home v1</h1>";
  HttpResponse r = Get(http_port_, "site.test", "/", "Accept-Encoding: br, gzip;q=0.8\r\n");
  ASSERT_EQ(r.status, 200) << r.head << r.body;
  EXPECT_EQ(r.headers["content-encoding"], "gzip");
  EXPECT_EQ(r.headers["etag"], absl::StrCat("\"", ObjectIdOf(home), "-gz\""));
  EXPECT_EQ(r.headers["vary"], "Accept-Encoding");
  EXPECT_EQ(r.headers["cache-control"], "no-cache");
  EXPECT_EQ(r.headers["content-type"], "text/html; charset=utf-8");
  std::string plain;
  ASSERT_TRUE(turbocharger::GzipDecompress(r.body, 1 << 20, &plain).ok());
  EXPECT_EQ(plain, home);
  // Not accepted (absent, or q=0): inflated on the fly, ETag "<id>".
  for (const std::string& ae : {std::string(), std::string("Accept-Encoding: gzip;q=0, identity\r\n")}) {
    r = Get(http_port_, "site.test", "/", ae);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, home);
    EXPECT_EQ(r.headers.count("content-encoding"), 0u);
    EXPECT_EQ(r.headers["etag"], absl::StrCat("\"", ObjectIdOf(home), "\""));
  }
  r = Get(http_port_, "site.test", "/docs/");
  EXPECT_EQ(r.body, "docs v1");
  r = Get(http_port_, "site.test", "/docs/my%20page.txt");  // manifest paths are raw names
  EXPECT_EQ(r.body, "spaced v1");
  EXPECT_EQ(r.headers["content-type"], "text/plain; charset=utf-8");

  // Assets: immutable; incompressible files are stored and served raw, without Vary.
  const std::string b1 = RandomBytes(kBlob, 1);
  r = Get(http_port_, "site.test", "/b1.bin", "Accept-Encoding: gzip\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, b1);
  EXPECT_EQ(r.headers["cache-control"], "public, max-age=31536000, immutable");
  EXPECT_EQ(r.headers["content-type"], "application/octet-stream");
  EXPECT_EQ(r.headers.count("vary"), 0u);
  EXPECT_TRUE(Cached("uncompressed", b1));
  EXPECT_TRUE(Cached("gzipped", home));
  EXPECT_TRUE(std::filesystem::exists(absl::StrCat(tc_dir_, "/cache/uncompressed/", v1)));  // the manifest

  // If-None-Match with either tag (or a list, or W/) -> 304 with the validators.
  r = Get(http_port_, "site.test", "/b1.bin", absl::StrCat("If-None-Match: \"x\", W/\"", ObjectIdOf(b1), "\"\r\n"));
  EXPECT_EQ(r.status, 304);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.headers["etag"], absl::StrCat("\"", ObjectIdOf(b1), "\""));
  r = Get(http_port_, "site.test", "/", absl::StrCat("Accept-Encoding: gzip\r\nIf-None-Match: \"", ObjectIdOf(home), "-gz\"\r\n"));
  EXPECT_EQ(r.status, 304);

  // Missing paths: /404.html with status 404; exact, case-sensitive lookup.
  for (const std::string& path : {"/nope", "/INDEX.html", "/docs"}) {
    r = Get(http_port_, "site.test", path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.body, "<p>not found v1</p>") << path;
  }

  // Counted: every request above under the app, the store GETs, the first read of each file a
  // miss and the later ones memory hits.
  std::string metrics = Metrics();
  EXPECT_GE(MetricSum(metrics, "er_dp_turbocharger_requests_total{app=\"site\"}"), 11) << metrics;
  EXPECT_GE(MetricSum(metrics, "er_dp_turbocharger_downloads_total{result=\"ok\"}"), 6) << metrics;
  EXPECT_TRUE(absl::StrContains(metrics, "er_dp_turbocharger_downloads_total{result=\"error\"} 0\n")) << metrics;
  EXPECT_GE(MetricSum(metrics, "er_dp_turbocharger_cache_misses_total"), 5) << metrics;
  EXPECT_GE(MetricSum(metrics, "er_dp_turbocharger_cache_hits_total{tier=\"memory\"}"), 3) << metrics;
  EXPECT_GT(MetricSum(metrics, "er_dp_turbocharger_disk_cache_bytes"), 0) << metrics;

  // A second deploy and the switch through deploy-site-from-store; a bad id is refused.
  const std::string v2 = DeploySite("v2");
  ASSERT_NE(v2, v1);
  EXPECT_NE(Ctl({"turbocharger", "deploy-site-from-store", "site", "not-an-id"}), 0);
  ASSERT_EQ(Ctl({"turbocharger", "deploy-site-from-store", "site", v2}), 0);
  WaitForApplied(3);
  EXPECT_EQ(Get(http_port_, "site.test", "/").body, "<h1>home v2</h1>");

  // The cache outlives the process: with the store gone, a new data plane still serves.
  s3_.reset();
  RestartDataplane();
  WaitForApplied(1);
  r = Get(http_port_, "site.test", "/");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "<h1>home v2</h1>");
  r = Get(http_port_, "site.test", "/b1.bin");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, b1);
  // What was never downloaded is a clear 502 naming the store's failure.
  r = Get(http_port_, "site.test", "/b3.bin");
  EXPECT_EQ(r.status, 502);
  EXPECT_TRUE(absl::StartsWith(r.body, "turbocharger: file ")) << r.body;
}

// Without the workers' memory cache, every request reads the disk cache (or the store).
class TurbochargerDiskOnlyE2E : public TurbochargerE2E {
 protected:
  std::vector<std::string> DataplaneFlags() override {
    std::vector<std::string> flags = TurbochargerE2E::DataplaneFlags();
    flags.push_back("--s3_cache_bytes=0");
    return flags;
  }
};

TEST_F(TurbochargerDiskOnlyE2E, DiskCacheIsPrunedAtItsBoundLeastRecentlyUsedFirst) {
  WaitForApplied(1);
  const std::string v1 = DeploySite("v1");
  MakeApp(v1);
  WaitForApplied(2);
  std::string blobs[4];
  for (int i = 1; i <= 3; ++i) {
    blobs[i] = RandomBytes(kBlob, i);
    HttpResponse r = Get(http_port_, "site.test", absl::StrCat("/b", i, ".bin"));
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.body, blobs[i]);
    EXPECT_LE(CacheBytes(), static_cast<uint64_t>(kCacheBound));
  }
  // manifest + 3 blobs exceeded the bound: the manifest and then b1 (least recent) went.
  EXPECT_FALSE(Cached("uncompressed", blobs[1]));
  EXPECT_TRUE(Cached("uncompressed", blobs[2]));
  EXPECT_TRUE(Cached("uncompressed", blobs[3]));
  // b1 comes back from the store (and b2, now the least recent, goes).
  HttpResponse r = Get(http_port_, "site.test", "/b1.bin");
  EXPECT_EQ(r.body, blobs[1]);
  EXPECT_TRUE(Cached("uncompressed", blobs[1]));
  EXPECT_FALSE(Cached("uncompressed", blobs[2]));
  EXPECT_LE(CacheBytes(), static_cast<uint64_t>(kCacheBound));
  // Pruned: the manifest, b1, b2; without a memory cache every hit is a disk read.
  const std::string metrics = Metrics();
  EXPECT_EQ(MetricSum(metrics, "er_dp_turbocharger_disk_cache_prunes_total"), 3) << metrics;
  EXPECT_TRUE(absl::StrContains(metrics, "er_dp_turbocharger_cache_hits_total{tier=\"memory\"} 0\n")) << metrics;
  EXPECT_EQ(MetricSum(metrics, "er_dp_turbocharger_cache_misses_total"), 4) << metrics;
  EXPECT_EQ(MetricSum(metrics, "er_dp_turbocharger_disk_cache_entries"), 2) << metrics;
}

// What the middleware tests share: an app whose origin (`origin_log` says what reached it,
// one "<METHOD> <path>" per request, as counted by `seen`) advertises "/static <manifest>" on
// demand (`advertise`, "" stops).
struct AdvertisingOrigin {
  std::string app;                                      // the app's id
  std::string host;                                     // the app's hostname
  std::string body_prefix;                              // its /static answers: "<body_prefix><path>"
  std::function<void(const std::string&)> advertise;
  std::function<int(const std::string&)> seen;          // requests whose line contains the text
  // Until `seen(what)` reaches n (false if it does not in time): an origin may log a request
  // after its response is on the way, so counts are read once the lines are there.
  std::function<bool(const std::string&, int)> wait_seen;
};

// The flow of edgerouter §9.6, with real processes: not advertised → the origin answers; the
// first advertised answer attaches; under the prefix the store answers and the origin sees no
// GET; after the trust window the store still answers while one HEAD <prefix> re-validates;
// the origin stops advertising → the next HEAD detaches and the origin answers again.
void MiddlewareFlow(int http_port, const std::string& v1, const AdvertisingOrigin& origin,
                    const std::function<std::string()>& metrics) {
  const std::string app_js = "console.log('v1');" + std::string(2000, ' ');
  const std::string from_origin = origin.body_prefix + "/static/app.js";
  HttpResponse r = Get(http_port, origin.host, "/static/app.js");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, from_origin);
  origin.advertise(v1);
  // The first advertised response comes from the origin (with the header passed on) and attaches.
  const absl::Time attached = absl::Now();  // no later than the attachment itself
  r = Get(http_port, origin.host, "/static/app.js");
  EXPECT_EQ(r.body, from_origin);
  EXPECT_EQ(r.headers["turbocharger"], "/static " + v1);
  ASSERT_TRUE(origin.wait_seen("GET /static", 2)) << "the origin did not log its two GETs";  // both answered it
  const int gets = origin.seen("GET /static");
  r = Get(http_port, origin.host, "/static/app.js");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, app_js);
  EXPECT_EQ(r.headers["cache-control"], "public, max-age=31536000, immutable");
  EXPECT_EQ(Get(http_port, origin.host, "/static/").body, "<h1>home v1</h1>");  // prefix stripped
  r = Get(http_port, origin.host, "/static/nope");  // the manifest answers for the whole prefix
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "<p>not found v1</p>");
  EXPECT_EQ(Get(http_port, origin.host, "/other").status, 200);
  origin.wait_seen("GET /other", 1);
  EXPECT_EQ(origin.seen("GET /other"), 1);  // outside the prefix: the origin
  EXPECT_EQ(origin.seen("HEAD "), 0);  // trusted: no re-validation yet

  // After the window: still served from the store while one HEAD /static re-validates (the
  // origin still advertises: re-attached). Polled with a deadline: the HEAD is asynchronous.
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (origin.seen("HEAD /static") == 0 && absl::Now() < deadline) {
    r = Get(http_port, origin.host, "/static/app.js");
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.body, app_js);
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_EQ(origin.seen("HEAD /static"), 1) << "no single HEAD re-validation";
  EXPECT_GE(absl::Now() - attached, kTrust);
  EXPECT_EQ(origin.seen("GET /static"), gets);  // no GET under the prefix reached the origin

  // The origin stops advertising: the store serves until the next HEAD finds no header.
  origin.advertise("");
  absl::Time detached = absl::InfiniteFuture();
  deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    r = Get(http_port, origin.host, "/static/app.js");
    ASSERT_EQ(r.status, 200);
    if (r.body == from_origin) {
      detached = absl::Now();
      break;
    }
    ASSERT_EQ(r.body, app_js);
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_NE(detached, absl::InfiniteFuture()) << "never detached";
  origin.wait_seen("HEAD /static", 2);
  EXPECT_GE(origin.seen("HEAD /static"), 2);
  EXPECT_GE(detached - attached, 2 * kTrust);  // two windows: renewed once, then detached
  EXPECT_EQ(r.headers.count("turbocharger"), 0u);
  EXPECT_EQ(Get(http_port, origin.host, "/static/app.js").body, from_origin);  // stays detached
  origin.wait_seen("GET /static", gets + 2);
  EXPECT_EQ(origin.seen("GET /static"), gets + 2);
  // In /metrics: the answers from the manifest and the two re-validations' outcomes.
  const std::string text = metrics();
  const std::string app = absl::StrCat("{app=\"", origin.app, "\"");
  EXPECT_GE(MetricSum(text, absl::StrCat("er_dp_turbocharger_requests_total", app, "}")), 4) << text;
  EXPECT_EQ(MetricSum(text, absl::StrCat("er_dp_turbocharger_revalidations_total", app, ",result=\"renewed\"}")), 1) << text;
  EXPECT_EQ(MetricSum(text, absl::StrCat("er_dp_turbocharger_revalidations_total", app, ",result=\"detached\"}")), 1) << text;
}

TEST_F(TurbochargerE2E, MiddlewareOnReverseProxyRevalidatesWithHeadAndDetaches) {
  WaitForApplied(1);
  const std::string v1 = DeploySite("v1");
  ASSERT_EQ(v1.size(), 43u) << v1;
  const std::string file = tc_dir_ + "/dyn.json";
  std::ofstream(file) << R"({"id":"dyn","frontends":[{"kind":"hostname","hostname":"dyn.test","path_prefix":"/"}],)"
                      << R"("backend":{"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["http://127.0.0.1:)"
                      << origin_a_ << R"("]}}})";
  ASSERT_EQ(Ctl({"app", "put", "--new", file}), 0);
  WaitForApplied(2);
  AdvertisingOrigin origin;
  origin.app = "dyn";
  origin.host = "dyn.test";
  origin.body_prefix = "origin ";
  origin.advertise = [this](const std::string& id) { ASSERT_EQ(Get(origin_a_, "o", "/advertise?m=" + id).status, 200); };
  origin.seen = [this](const std::string& what) { return a_->LineCount("request " + what); };
  origin.wait_seen = [this](const std::string& what, int n) {
    return a_->WaitForNthLine("request " + what, n, absl::Seconds(10)).ok();
  };
  MiddlewareFlow(http_port_, v1, origin, [this] { return Metrics(); });
}

// The same flow on aws_lambda: the function (testenv/aws/lambda `turbo`) advertises while a file
// says so, and the re-validation is an invocation with httpMethod HEAD.
class TurbochargerLambdaE2E : public TurbochargerE2E {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/er-tc-lambda-XXXXXX";
    lambda_dir_ = mkdtemp(tmpl);
    auto lambda = AwsEmulator::StartLambda(lambda_dir_ + "/fn");
    ASSERT_TRUE(lambda.ok()) << lambda.status();
    lambda_ = *std::move(lambda);
    setenv("AWS_ENDPOINT_URL_LAMBDA", lambda_->endpoint().c_str(), 1);
    TurbochargerE2E::SetUp();
  }
  void TearDown() override {
    TurbochargerE2E::TearDown();
    lambda_.reset();
    unsetenv("AWS_ENDPOINT_URL_LAMBDA");
    std::filesystem::remove_all(lambda_dir_);
  }
  std::unique_ptr<AwsEmulator> lambda_;
  std::string lambda_dir_;
};

TEST_F(TurbochargerLambdaE2E, MiddlewareOnAwsLambdaRevalidatesWithHeadInvocationAndDetaches) {
  WaitForApplied(1);
  const std::string v1 = DeploySite("v1");
  ASSERT_EQ(v1.size(), 43u) << v1;
  const std::string file = tc_dir_ + "/fn.json";
  std::ofstream(file) << R"({"id":"fn","frontends":[{"kind":"hostname","hostname":"fn.test","path_prefix":"/"}],)"
                      << R"("backend":{"kind":"aws_lambda","aws_lambda_opts":{"function_name":"ertest-dev-turbo",)"
                      << R"("region_id":"us-east-1"}}})";
  ASSERT_EQ(Ctl({"app", "put", "--new", file}), 0);
  WaitForApplied(2);
  const std::string fn_dir = lambda_dir_ + "/fn";
  AdvertisingOrigin origin;
  origin.app = "fn";
  origin.host = "fn.test";
  origin.body_prefix = "function ";
  origin.advertise = [fn_dir](const std::string& id) {
    const std::string tmp = fn_dir + "/turbo-advertise.tmp";
    std::ofstream(tmp) << id;
    std::filesystem::rename(tmp, fn_dir + "/turbo-advertise");  // the function never reads half a file
  };
  origin.seen = [fn_dir](const std::string& what) {
    int n = 0;
    std::istringstream lines(ReadFile(fn_dir + "/turbo-requests.log"));
    for (std::string line; std::getline(lines, line);) n += absl::StrContains(line, what);
    return n;
  };
  // The function appends its line before it returns, so the log is never behind a response.
  origin.wait_seen = [seen = origin.seen](const std::string& what, int n) { return seen(what) >= n; };
  MiddlewareFlow(http_port_, v1, origin, [this] { return Metrics(); });
}

}  // namespace
}  // namespace edgerouter::testing
