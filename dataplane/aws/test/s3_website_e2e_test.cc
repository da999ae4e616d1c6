// s3_static_website end to end with real processes: the S3 emulator (verifies SigV4), a
// control plane, a data plane, and `edgerouterctl s3 mk|deploy|versions|rollback`.
#include <openssl/evp.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "dataplane/test/e2e_fixture.h"
#include "testenv/aws/aws_emulators.h"

namespace edgerouter::testing {
namespace {

constexpr char kBucket[] = "er-sites";

class S3WebsiteE2E : public DataplaneE2E {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/er-s3-e2e-XXXXXX";
    s3_dir_ = mkdtemp(tmpl);
    auto s3 = AwsEmulator::StartS3(s3_dir_ + "/data", {kBucket});
    ASSERT_TRUE(s3.ok()) << s3.status();
    s3_ = *std::move(s3);
    s3_->ExportS3Environment();  // the data plane and edgerouterctl inherit it
    DataplaneE2E::SetUp();
  }
  void TearDown() override {
    DataplaneE2E::TearDown();
    s3_.reset();
    std::filesystem::remove_all(s3_dir_);
  }
  std::string AppsJson() override { return R"({"apps":[]})"; }
  // One worker, so which requests find the cache warm is deterministic.
  std::vector<std::string> DataplaneFlags() override { return {"--plain_is_https", "--workers=1"}; }

  // Runs edgerouterctl; returns its exit status, output in *output.
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

  // A site archive: every file's content names its version, so any mix would show.
  std::string MakeSite(const std::string& version, int extra_pages = 0) {
    const std::string root = absl::StrCat(s3_dir_, "/site-", version);
    std::filesystem::create_directories(root + "/docs");
    std::ofstream(root + "/index.html") << "<h1>home " << version << "</h1>";
    std::ofstream(root + "/docs/index.html") << "docs " << version;
    std::ofstream(root + "/404.html") << "<p>custom not found " << version << "</p>";
    std::ofstream(root + "/app.js") << "console.log('" << version << "');";
    std::ofstream(root + "/robots.txt") << "User-agent: *";
    for (int i = 0; i < extra_pages; ++i) std::ofstream(absl::StrCat(root, "/p", i, ".html")) << version << ":p" << i;
    const std::string archive = absl::StrCat(s3_dir_, "/site-", version, ".tar.gz");
    const std::string cmd = absl::StrCat("/bin/tar -czf ", archive, " -C ", root, " .");
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    return archive;
  }

  // One config change each way (so WaitForApplied can count snapshots): `s3 mk`, or an
  // `app put --new` that also sets a 404 page, which deploys must keep (edgerouter's quirk 10).
  void MakeApp(bool with_404_page) {
    if (!with_404_page) {
      ASSERT_EQ(Ctl({"s3", "mk", "site", "site.test", "/", kBucket, "us-east-1"}), 0);
      return;
    }
    const std::string file = s3_dir_ + "/app.json";
    std::ofstream(file) << R"({"id":"site","frontends":[{"kind":"hostname","hostname":"site.test","path_prefix":"/"}],)"
                        << R"("backend":{"kind":"s3_static_website","s3_static_website_opts":{"bucket_name":")"
                        << kBucket << R"(","region_id":"us-east-1","deployed_version":"","404_page":"404.html"}}})";
    ASSERT_EQ(Ctl({"app", "put", "--new", file}), 0);
  }

  std::unique_ptr<AwsEmulator> s3_;
  std::string s3_dir_;
  int applied_ = 1;
};

TEST_F(S3WebsiteE2E, DeployServeConditionalRangeRollback) {
  WaitForApplied(applied_);
  MakeApp(/*with_404_page=*/true);
  WaitForApplied(++applied_);
  HttpResponse r = Get(http_port_, "site.test", "/");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "no deployed version for site\n");

  ASSERT_EQ(Ctl({"s3", "deploy", "site", "v1", MakeSite("v1")}), 0);
  WaitForApplied(++applied_);
  r = Get(http_port_, "site.test", "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "<h1>home v1</h1>");
  EXPECT_EQ(r.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_EQ(r.headers["cache-control"], "no-cache");
  const std::string etag = r.headers["etag"];
  const std::string last_modified = r.headers["last-modified"];
  EXPECT_FALSE(etag.empty());
  EXPECT_FALSE(last_modified.empty());
  // Nested index, redirect to the slash (query kept), custom 404 page with status 404.
  r = Get(http_port_, "site.test", "/docs/");
  EXPECT_EQ(r.body, "docs v1");
  r = Get(http_port_, "site.test", "/docs?x=1");
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(r.headers["location"], "/docs/?x=1");
  r = Get(http_port_, "site.test", "/nope.html");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "<p>custom not found v1</p>");
  EXPECT_EQ(r.headers["content-type"], "text/html; charset=utf-8");
  // Other files keep the stored Cache-Control; the second read comes from the cache.
  r = Get(http_port_, "site.test", "/app.js");
  const std::string etag_js = r.headers["etag"];
  EXPECT_EQ(r.headers["content-type"], "text/javascript; charset=utf-8");
  EXPECT_EQ(r.headers["cache-control"], "public, max-age=31536000");
  TestConnection conn(http_port_);
  conn.Send("GET /app.js HTTP/1.1\r\nHost: site.test\r\n\r\nGET /app.js HTTP/1.1\r\nHost: site.test\r\n\r\n");
  conn.Read();
  r = conn.Read();  // same connection, hence same worker: a cache hit now
  EXPECT_EQ(r.headers["x-cache"], "HIT");
  EXPECT_EQ(r.body, "console.log('v1');");
  const std::string metrics = Metrics();
  EXPECT_TRUE(absl::StrContains(metrics, "\ner_dp_s3_cache_hits_total ")) << metrics;
  EXPECT_FALSE(absl::StrContains(metrics, "\ner_dp_s3_cache_hits_total 0\n")) << metrics;
  EXPECT_FALSE(absl::StrContains(metrics, "\ner_dp_aws_calls_total 0\n")) << metrics;
  // Conditional requests.
  r = Get(http_port_, "site.test", "/", "If-None-Match: " + etag + "\r\n");
  EXPECT_EQ(r.status, 304);
  EXPECT_EQ(r.headers["etag"], etag);
  EXPECT_TRUE(r.body.empty());
  r = Get(http_port_, "site.test", "/", "If-Modified-Since: " + last_modified + "\r\n");
  EXPECT_EQ(r.status, 304);
  r = Get(http_port_, "site.test", "/", "If-None-Match: \"other\"\r\n");
  EXPECT_EQ(r.status, 200);
  // Range: passed to S3 when the object is not cached (robots.txt was never read whole)...
  r = Get(http_port_, "site.test", "/robots.txt", "Range: bytes=0-9\r\n");
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.body, "User-agent");
  EXPECT_EQ(r.headers["content-range"], "bytes 0-9/13");
  EXPECT_EQ(r.headers["x-cache"], "MISS");
  // ... and answered from the cache when it is (app.js was read whole above).
  r = Get(http_port_, "site.test", "/app.js", "Range: bytes=0-6\r\n");
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.body, "console");
  EXPECT_EQ(r.headers["content-range"], "bytes 0-6/18");
  EXPECT_EQ(r.headers["x-cache"], "HIT");
  EXPECT_EQ(r.headers["etag"], etag_js);
  EXPECT_EQ(Get(http_port_, "site.test", "/app.js", "Range: bytes=10-\r\n").body, "g('v1');");
  EXPECT_EQ(Get(http_port_, "site.test", "/app.js", "Range: bytes=-4\r\n").body, "1');");
  r = Get(http_port_, "site.test", "/app.js", "Range: bytes=99-\r\n");
  EXPECT_EQ(r.status, 416);
  EXPECT_EQ(r.headers["content-range"], "bytes */18");
  // An encoded slash cannot climb out of the site's prefix.
  EXPECT_EQ(Get(http_port_, "site.test", "/docs%2F..%2F..%2Fother%2Findex.html").status, 404);
  // HEAD: headers only.
  TestConnection head(http_port_);
  head.Send("HEAD / HTTP/1.1\r\nHost: site.test\r\n\r\n");
  r = head.Read(true);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-length"], "16");

  ASSERT_EQ(Ctl({"s3", "deploy", "site", "v2", MakeSite("v2")}), 0);
  WaitForApplied(++applied_);
  EXPECT_EQ(Get(http_port_, "site.test", "/").body, "<h1>home v2</h1>");
  EXPECT_EQ(Get(http_port_, "site.test", "/missing").body, "<p>custom not found v2</p>");  // 404_page kept
  std::string versions;
  ASSERT_EQ(Ctl({"s3", "versions", "site"}, &versions), 0);
  EXPECT_TRUE(absl::StrContains(versions, "  v1\t")) << versions;
  EXPECT_TRUE(absl::StrContains(versions, "* v2\t")) << versions;

  ASSERT_EQ(Ctl({"s3", "rollback", "site", "v1"}), 0);
  WaitForApplied(++applied_);
  EXPECT_EQ(Get(http_port_, "site.test", "/").body, "<h1>home v1</h1>");
  std::string out;
  EXPECT_EQ(Ctl({"s3", "rollback", "site", "v9"}, &out), 1);
  EXPECT_TRUE(absl::StrContains(out, "never deployed")) << out;
}

// Two workers: every worker must switch.
class S3AtomicDeployE2E : public S3WebsiteE2E {
 protected:
  std::vector<std::string> DataplaneFlags() override { return {"--plain_is_https"}; }
};

TEST_F(S3AtomicDeployE2E, DeployIsAtomicUnderLoad) {
  WaitForApplied(applied_);
  MakeApp(/*with_404_page=*/false);
  WaitForApplied(++applied_);
  constexpr int kPages = 40;
  ASSERT_EQ(Ctl({"s3", "deploy", "site", "v1", MakeSite("v1", kPages)}), 0);
  WaitForApplied(++applied_);
  const std::string v2 = MakeSite("v2", kPages);

  // Clients read pages while v2 is uploaded and switched to. Every answer must be a 200 whose
  // body is one version's page and whose ETag is that body's MD5 (S3's ETag): wholly v1 or v2.
  std::atomic<bool> stop{false};
  std::atomic<int> requests{0};
  std::vector<std::string> problems;
  std::mutex mu;
  auto client = [&](int seed) {
    TestConnection conn(http_port_);
    for (int i = seed; !stop; ++i) {
      const std::string page = absl::StrCat("p", i % kPages);
      conn.Send(absl::StrCat("GET /", page, ".html HTTP/1.1\r\nHost: site.test\r\n\r\n"));
      HttpResponse r = conn.Read();
      ++requests;
      unsigned char md5[EVP_MAX_MD_SIZE];
      unsigned int md5_len = 0;
      EVP_Digest(r.body.data(), r.body.size(), md5, &md5_len, EVP_md5(), nullptr);
      const std::string expect_etag =
          absl::StrCat("\"", absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(md5), md5_len)), "\"");
      const bool ok = r.status == 200 && (r.body == "v1:" + page || r.body == "v2:" + page) &&
                      r.headers["etag"] == expect_etag;
      if (!ok) {
        std::lock_guard<std::mutex> lock(mu);
        problems.push_back(absl::StrCat(r.status, " ", page, " ", r.body, " ", r.headers["etag"]));
      }
    }
  };
  std::vector<std::thread> clients;
  for (int i = 0; i < 4; ++i) clients.emplace_back(client, i * 7);
  ASSERT_EQ(Ctl({"s3", "deploy", "site", "v2", v2}), 0);
  WaitForApplied(++applied_);
  // Workers pick the new config up at their next loop iteration (a request that started on v1
  // finishes on v1); from here on, every request must see v2 only.
  stop = true;
  for (std::thread& t : clients) t.join();
  EXPECT_TRUE(problems.empty()) << problems.size() << " bad responses, first: " << problems[0];
  EXPECT_GT(requests, 50);
  for (int i = 0; i < 2 * kPages; ++i) {
    HttpResponse r = Get(http_port_, "site.test", absl::StrCat("/p", i % kPages, ".html"));
    EXPECT_EQ(r.body, absl::StrCat("v2:p", i % kPages));
  }
}

// A data plane whose secret is wrong: the emulator refuses the signature -> 502 and a log line.
class S3WrongSecretE2E : public S3WebsiteE2E {
 protected:
  std::vector<std::string> DataplaneFlags() override {
    const std::string file = s3_dir_ + "/bad-credentials";
    std::ofstream(file) << "[default]\naws_access_key_id = S3RVER\naws_secret_access_key = wrong\n";
    return {"--plain_is_https", "--aws_credentials_file=" + file};
  }
};

TEST_F(S3WrongSecretE2E, RefusedSignatureIsA502WithALogLine) {
  WaitForApplied(applied_);
  MakeApp(/*with_404_page=*/false);
  WaitForApplied(++applied_);
  ASSERT_EQ(Ctl({"s3", "deploy", "site", "v1", MakeSite("v1")}), 0);  // edgerouterctl has the right one
  WaitForApplied(++applied_);
  HttpResponse r = Get(http_port_, "site.test", "/");
  EXPECT_EQ(r.status, 502);
  EXPECT_TRUE(absl::StrContains(r.body, "SignatureDoesNotMatch")) << r.body;
  absl::StatusOr<std::string> line = dp_->WaitForLine("s3_static_website backend failed", absl::Seconds(5));
  ASSERT_TRUE(line.ok());
  EXPECT_TRUE(absl::StrContains(*line, "app=site")) << *line;
  EXPECT_TRUE(absl::StrContains(*line, "SignatureDoesNotMatch")) << *line;
}

}  // namespace
}  // namespace edgerouter::testing
