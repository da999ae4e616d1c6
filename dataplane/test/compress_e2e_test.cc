// policies.compress end to end: a real data plane (HTTP/1.1 and prior-knowledge HTTP/2) in
// front of a real origin, real clients (curl) and real decoders (gzip, Debian's python3-brotli,
// zstd) checking every encoding byte-exact against the origin's identity body; negotiation with
// q-values; the responses that must stay as they are; and a 100 MB compressed stream through
// the data plane in bounded memory. The same policy on S3 static-website and Lambda responses
// (the real emulators), HTTP/1.1 and HTTP/2.
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/subprocess.h"
#include "common/test_util.h"
#include "dataplane/test/e2e_fixture.h"
#include "dataplane/test/tls_test_util.h"
#include "testenv/aws/aws_emulators.h"

namespace edgerouter::testing {
namespace {

class Compress : public DataplaneE2E {
 protected:
  std::string AppsJson() override {
    const std::string a = absl::StrCat("http://127.0.0.1:", origin_a_);
    return absl::StrReplaceAll(R"({"apps":[
 {"id":"zip","frontends":[{"kind":"hostname","hostname":"zip.test","path_prefix":"/","allow_insecure_http":true}],
  "backend":{"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["A"]}},
  "policies":{"compress":{}}},
 {"id":"gz","frontends":[{"kind":"hostname","hostname":"gz.test","path_prefix":"/","allow_insecure_http":true}],
  "backend":{"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["A"]}},
  "policies":{"compress":{"encodings":["gzip"],"min_response_body_bytes":100,"excluded_content_types":["text/csv"]}}},
 {"id":"plain","frontends":[{"kind":"hostname","hostname":"plain.test","path_prefix":"/","allow_insecure_http":true}],
  "backend":{"kind":"reverse_proxy","reverse_proxy_opts":{"origins":["A"]}}}
]})",
                               {{"\"A\"", "\"" + a + "\""}});
  }
  std::vector<std::string> DataplaneFlags() override { return {"--h2c"}; }

  // curl through the data plane; the response head (lower-cased names) is returned, the body
  // (content-coded as sent unless `decode`) saved to dir_/`file`.
  std::string Fetch(const std::string& host, const std::string& path, const std::string& accept, bool h2,
                    const std::string& file, const std::string& extra = "") {
    const std::string out = Shell(absl::StrCat(
        "cd ", dir_, " && curl -sS ", h2 ? "--http2-prior-knowledge " : "", extra, " -H 'Host: ", host, "' ",
        accept.empty() ? "" : absl::StrCat("-H 'Accept-Encoding: ", accept, "' "), "-D - -o ", file,
        " 'http://127.0.0.1:", http_port_, path, "' | tr 'A-Z' 'a-z' | tr -d '\\r'"));
    return out;
  }
  // The origin's own (identity) body for `path`, saved to dir_/`file`.
  void Expected(const std::string& path, const std::string& file) {
    const std::string out = Shell(
        absl::StrCat("cd ", dir_, " && curl -sS -o ", file, " 'http://127.0.0.1:", origin_a_, path, "'"));
    ASSERT_TRUE(absl::StrContains(out, "EXIT=0")) << out;
  }
  // Decodes dir_/`file` with the coding's own tool and compares it with dir_/`expected`.
  std::string DecodeAndCompare(const std::string& coding, const std::string& file, const std::string& expected) {
    std::string decoder;
    if (coding == "gzip") decoder = absl::StrCat("gzip -dc ", file);
    if (coding == "br") {
      decoder = absl::StrCat("/usr/bin/python3 -c 'import brotli,sys; sys.stdout.buffer.write(brotli.decompress("
                             "open(sys.argv[1],\"rb\").read()))' ", file);
    }
    if (coding == "zstd") decoder = absl::StrCat("zstd -dcq ", file);
    return Shell(absl::StrCat("cd ", dir_, " && ", decoder, " > ", file, ".decoded && cmp ", file, ".decoded ",
                              expected, " && echo SAME"));
  }
};

TEST_F(Compress, EveryEncodingEveryFramingBothProtocolsDecodesByteExact) {
  Expected("/text/cl/300000", "expected");
  for (const bool h2 : {false, true}) {
    for (const std::string coding : {"gzip", "br", "zstd"}) {
      for (const std::string framing : {"cl", "chunked", "close"}) {
        SCOPED_TRACE(absl::StrCat(h2 ? "h2 " : "h1 ", coding, " ", framing));
        const std::string head = Fetch("zip.test", absl::StrCat("/text/", framing, "/300000"), coding, h2, "body");
        EXPECT_TRUE(absl::StrContains(head, absl::StrCat("content-encoding: ", coding, "\n"))) << head;
        EXPECT_TRUE(absl::StrContains(head, "vary: accept-encoding\n")) << head;
        EXPECT_TRUE(absl::StrContains(head, "etag: w/\"text-300000\"\n")) << head;  // weakened
        EXPECT_FALSE(absl::StrContains(head, "content-length:")) << head;
        EXPECT_TRUE(absl::StrContains(head, "content-type: text/plain; charset=utf-8\n")) << head;
        if (!h2) EXPECT_TRUE(absl::StrContains(head, "transfer-encoding: chunked\n")) << head;
        const std::string size = Shell(absl::StrCat("stat -c %s ", dir_, "/body"));
        EXPECT_LT(std::stol(size), 300000 / 5) << size;  // compressed, not relayed
        EXPECT_TRUE(absl::StrContains(DecodeAndCompare(coding, "body", "expected"), "SAME"));
        // curl's own decoder agrees (--compressed asks for every coding curl has).
        Fetch("zip.test", absl::StrCat("/text/", framing, "/300000"), "", h2, "curl.out",
              absl::StrCat("--compressed -H 'Accept-Encoding: ", coding, "'"));
        EXPECT_TRUE(absl::StrContains(Shell(absl::StrCat("cmp ", dir_, "/curl.out ", dir_, "/expected && echo SAME")),
                                      "SAME"));
      }
    }
  }
}

TEST_F(Compress, NegotiatesWithQValuesAndThePolicyOrder) {
  struct Case {
    std::string host, accept, want;  // want: "" = identity
  };
  for (const Case& c : std::vector<Case>{
           {"zip.test", "gzip, deflate, br, zstd", "zstd"},  // all equal: the policy's order
           {"zip.test", "gzip, br", "br"},
           {"zip.test", "br;q=0.5, gzip;q=0.9", "gzip"},  // the client's q wins
           {"zip.test", "zstd;q=0, br;q=0, *", "gzip"},
           {"zip.test", "identity", ""},
           {"zip.test", "gzip;q=0", ""},
           {"gz.test", "br, zstd", ""},  // this app offers gzip only
           {"gz.test", "br, gzip;q=0.1", "gzip"},
       }) {
    for (const bool h2 : {false, true}) {
      SCOPED_TRACE(absl::StrCat(c.host, " ", c.accept, h2 ? " h2" : " h1"));
      const std::string head = Fetch(c.host, "/text/cl/5000", c.accept, h2, "body");
      if (c.want.empty()) {
        EXPECT_FALSE(absl::StrContains(head, "content-encoding:")) << head;
        EXPECT_TRUE(absl::StrContains(head, "content-length: 5000\n")) << head;
      } else {
        EXPECT_TRUE(absl::StrContains(head, absl::StrCat("content-encoding: ", c.want, "\n"))) << head;
      }
    }
  }
}

TEST_F(Compress, IneligibleResponsesAreRelayedAsTheyAre) {
  Expected("/text/cl/5000", "expected");
  struct Case {
    std::string what, host, path, extra;
  };
  for (const Case& c : std::vector<Case>{
           {"no policy", "plain.test", "/text/cl/5000", ""},
           {"under min_response_body_bytes", "zip.test", "/text/cl/1000", ""},
           {"already encoded", "zip.test", "/text/cl/5000?h=Content-Encoding:gzip", ""},
           {"no-transform", "zip.test", "/text/cl/5000?h=Cache-Control:public,no-transform", ""},
           {"content type", "zip.test", "/text/cl/5000?h=Content-Type:image/png", ""},
           {"excluded content type", "gz.test", "/text/cl/5000?h=Content-Type:text/csv", ""},
           {"event stream", "zip.test", "/text/chunked/5000?h=Content-Type:text/event-stream", ""},
           {"range request", "zip.test", "/text/cl/5000", "-H 'Range: bytes=0-99'"},
           {"HEAD", "zip.test", "/text/cl/5000", "-I"},
       }) {
    for (const bool h2 : {false, true}) {
      SCOPED_TRACE(absl::StrCat(c.what, h2 ? " h2" : " h1"));
      const std::string head = Fetch(c.host, c.path, "gzip, br, zstd", h2, "body", c.extra);
      EXPECT_TRUE(absl::StrContains(head, " 200")) << head;
      EXPECT_FALSE(absl::StrContains(head, "vary:")) << head;
      if (c.what != "already encoded") EXPECT_FALSE(absl::StrContains(head, "content-encoding:")) << head;
      if (c.what != "event stream") EXPECT_TRUE(absl::StrContains(head, "etag: \"text-")) << head;  // still strong
    }
  }
  // The small body is the origin's, byte for byte.
  Fetch("gz.test", "/text/cl/5000", "", false, "body");
  EXPECT_TRUE(absl::StrContains(Shell(absl::StrCat("cmp ", dir_, "/body ", dir_, "/expected && echo SAME")), "SAME"));
  // A lower min applies per app: 1000 bytes are compressed on gz.test (min 100).
  EXPECT_TRUE(absl::StrContains(Fetch("gz.test", "/text/cl/1000", "gzip", false, "body"), "content-encoding: gzip"));
}

// S3 static-website and Lambda apps with the compress policy: the one decision and encoder of
// proxied responses applies to their (whole, in-memory) bodies too.
class CompressAws : public Compress {
 protected:
  // The emulators are shared by the suite (serverless-offline needs seconds to start).
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/er-compress-aws-XXXXXX";
    emulator_dir_ = new std::string(mkdtemp(tmpl));
    auto lambda = AwsEmulator::StartLambda(*emulator_dir_ + "/lambda");
    ASSERT_TRUE(lambda.ok()) << lambda.status();
    lambda_ = lambda->release();
    auto s3 = AwsEmulator::StartS3(*emulator_dir_ + "/s3", {"sites"});
    ASSERT_TRUE(s3.ok()) << s3.status();
    s3_ = s3->release();
    setenv("AWS_ENDPOINT_URL_LAMBDA", lambda_->endpoint().c_str(), 1);
    s3_->ExportS3Environment();
  }
  static void TearDownTestSuite() {
    delete lambda_;
    delete s3_;
    std::filesystem::remove_all(*emulator_dir_);
    delete emulator_dir_;
  }
  std::string AppsJson() override {
    return R"({"apps":[
 {"id":"fn","frontends":[{"kind":"hostname","hostname":"fn.test","path_prefix":"/","allow_insecure_http":true}],
  "backend":{"kind":"aws_lambda","aws_lambda_opts":{"function_name":"ertest-dev-text","region_id":"us-east-1","payload_format_version":"2.0"}},
  "policies":{"compress":{}}}
]})";
  }
  std::vector<std::string> DataplaneFlags() override { return {"--h2c", "--aws_timeout_ms=10000"}; }

  // Adds the S3 app through the event stream (apps of the file cannot be deployed to) and
  // deploys a site whose files are written from `files` (name -> content) as version v1.
  void DeploySite(const std::vector<std::pair<std::string, std::string>>& files) {
    grpc::Status added = AppendApp(R"({"id":"site","frontends":[{"kind":"hostname","hostname":"site.test",)"
                                   R"("path_prefix":"/","allow_insecure_http":true}],"backend":{"kind":"s3_static_website",)"
                                   R"("s3_static_website_opts":{"bucket_name":"sites","region_id":"us-east-1",)"
                                   R"("deployed_version":""}},"policies":{"compress":{}}})");
    ASSERT_TRUE(added.ok()) << added.error_message();
    WaitForApplied(2);
    const std::string root = dir_ + "/site";
    std::filesystem::create_directories(root);
    for (const auto& [name, content] : files) std::ofstream(root + "/" + name, std::ios::binary) << content;
    const std::string out = Shell(absl::StrCat("/bin/tar -czf ", dir_, "/site.tar.gz -C ", root, " . && ",
                                               RunfilePath("cli/edgerouterctl"), " --controlplane=127.0.0.1:",
                                               cp_grpc_port_, " s3 deploy site v1 ", dir_, "/site.tar.gz"));
    ASSERT_TRUE(absl::StrContains(out, "EXIT=0")) << out;
  }

  static AwsEmulator* lambda_;
  static AwsEmulator* s3_;
  static std::string* emulator_dir_;
};
AwsEmulator* CompressAws::lambda_ = nullptr;
AwsEmulator* CompressAws::s3_ = nullptr;
std::string* CompressAws::emulator_dir_ = nullptr;

std::string TextBody(size_t size) {
  std::string body;
  for (int i = 0; body.size() < size; ++i) absl::StrAppend(&body, "<p>paragraph ", i, " of a static page</p>\n");
  body.resize(size);
  return body;
}

TEST_F(CompressAws, S3AndLambdaResponsesAreCompressedByteExact) {
  WaitForApplied(1);
  const std::string page = TextBody(200000);
  DeploySite({{"page.html", page}, {"data.json", "[" + std::string(5000, '1') + "]"},
              {"image.png", TextBody(5000)}, {"tiny.txt", "small"}});
  WaitForApplied(3);
  std::ofstream(dir_ + "/page.expected", std::ios::binary) << page;
  // The Lambda's identity body, as the data plane relays it without Accept-Encoding.
  std::string head = Fetch("fn.test", "/t?size=100000", "", false, "fn.expected");
  ASSERT_TRUE(absl::StrContains(head, "content-length: 100000\n")) << head;
  struct Case {
    std::string host, path, expected;
  };
  for (const Case& c : std::vector<Case>{{"site.test", "/page.html", "page.expected"},
                                         {"fn.test", "/t?size=100000", "fn.expected"}}) {
    for (const bool h2 : {false, true}) {
      for (const std::string coding : {"gzip", "br", "zstd"}) {
        SCOPED_TRACE(absl::StrCat(c.host, h2 ? " h2 " : " h1 ", coding));
        head = Fetch(c.host, c.path, coding, h2, "body");
        EXPECT_TRUE(absl::StrContains(head, " 200")) << head;
        EXPECT_TRUE(absl::StrContains(head, absl::StrCat("content-encoding: ", coding, "\n"))) << head;
        EXPECT_TRUE(absl::StrContains(head, "vary: accept-encoding\n")) << head;
        EXPECT_TRUE(absl::StrContains(head, "etag: w/\"")) << head;  // weakened
        EXPECT_FALSE(absl::StrContains(head, "content-length:")) << head;
        if (!h2) {
          EXPECT_TRUE(absl::StrContains(head, "transfer-encoding: chunked\n")) << head;
        }
        const std::string size = Shell(absl::StrCat("stat -c %s ", dir_, "/body"));
        EXPECT_LT(std::stol(size), 100000 / 5) << size;
        EXPECT_TRUE(absl::StrContains(DecodeAndCompare(coding, "body", c.expected), "SAME"));
      }
    }
  }
  // JSON is in the default list.
  head = Fetch("site.test", "/data.json", "gzip", false, "body");
  EXPECT_TRUE(absl::StrContains(head, "content-encoding: gzip\n")) << head;
  EXPECT_TRUE(absl::StrContains(Shell(absl::StrCat("cd ", dir_, " && gzip -dc body | wc -c")), "5002")) << head;
}

TEST_F(CompressAws, IneligibleS3AndLambdaResponsesStayIdentity) {
  WaitForApplied(1);
  DeploySite({{"page.html", TextBody(5000)}, {"image.png", TextBody(5000)}, {"tiny.txt", "small"}});
  WaitForApplied(3);
  struct Case {
    std::string what, host, path, extra, length;
  };
  for (const Case& c : std::vector<Case>{
           {"S3 image/png", "site.test", "/image.png", "", "5000"},
           {"S3 under the minimum", "site.test", "/tiny.txt", "", "5"},
           {"S3 range", "site.test", "/page.html", "-H 'Range: bytes=0-99'", "100"},
           {"Lambda image/png", "fn.test", "/t?size=5000&type=image/png", "", "5000"},
           {"Lambda under the minimum", "fn.test", "/t?size=500", "", "500"},
           {"Lambda no-transform", "fn.test", "/t?size=5000&cc=no-transform", "", "5000"},
       }) {
    for (const bool h2 : {false, true}) {
      SCOPED_TRACE(absl::StrCat(c.what, h2 ? " h2" : " h1"));
      const std::string head = Fetch(c.host, c.path, "gzip, br, zstd", h2, "body", c.extra);
      EXPECT_TRUE(absl::StrContains(head, " 20")) << head;
      EXPECT_FALSE(absl::StrContains(head, "content-encoding:")) << head;
      EXPECT_FALSE(absl::StrContains(head, "vary:")) << head;
      EXPECT_TRUE(absl::StrContains(head, absl::StrCat("content-length: ", c.length, "\n"))) << head;
      EXPECT_EQ(Shell(absl::StrCat("stat -c %s ", dir_, "/body")), c.length + "\nEXIT=0");
    }
  }
  // A HEAD of a compressible object: identity head with the object's length.
  const std::string head = Fetch("site.test", "/page.html", "gzip", false, "body", "-I");
  EXPECT_FALSE(absl::StrContains(head, "content-encoding:")) << head;
  EXPECT_TRUE(absl::StrContains(head, "content-length: 5000\n")) << head;
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif

long StatusKb(pid_t pid, const std::string& field) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

TEST_F(Compress, HundredMegabytesStreamInBoundedMemory) {
  constexpr uint64_t kSize = 100ull << 20;
  const std::string path = absl::StrCat("/text/chunked/", kSize);
  const std::string want = Shell(absl::StrCat("curl -sS 'http://127.0.0.1:", origin_a_, path, "' | sha256sum"));
  ASSERT_TRUE(absl::StrContains(want, "EXIT=0")) << want;
  for (const std::string coding : {"gzip", "br", "zstd"}) {
    SCOPED_TRACE(coding);
    const long hwm_before = StatusKb(dp_->pid(), "VmHWM");
    auto curl = Subprocess::Start(
        {"/bin/bash", "-c",
         absl::StrCat("set -o pipefail; curl -sS --compressed -D ", dir_, "/head.txt -H 'Host: zip.test' ",
                      "-H 'Accept-Encoding: ", coding, "' 'http://127.0.0.1:", http_port_, path, "' | sha256sum")});
    ASSERT_TRUE(curl.ok());
    auto done = (*curl)->Wait(absl::Seconds(120));
    ASSERT_TRUE(done.ok()) << done.status();
    EXPECT_EQ(*done, 0) << (*curl)->Output();
    const std::string out = (*curl)->Output();
    const long hwm_after = StatusKb(dp_->pid(), "VmHWM");
    // The data plane's peak resident memory grew by far less than the body: it streamed. (Not
    // under ASan: its quarantine keeps freed blocks resident, so the peak shows nothing there.)
    if (!kAddressSanitizer) {
      EXPECT_LT(hwm_after - hwm_before, 32 * 1024) << "VmHWM " << hwm_before << " -> " << hwm_after << " kB";
    }
    std::printf("%s: 100 MB streamed; data plane VmHWM %ld -> %ld kB\n", coding.c_str(), hwm_before, hwm_after);
    EXPECT_TRUE(absl::StrContains(out, want.substr(0, 64))) << out << " vs " << want;
    const std::string head = Shell(absl::StrCat("tr 'A-Z' 'a-z' < ", dir_, "/head.txt"));
    EXPECT_TRUE(absl::StrContains(head, absl::StrCat("content-encoding: ", coding))) << head;
  }
}

}  // namespace
}  // namespace edgerouter::testing
