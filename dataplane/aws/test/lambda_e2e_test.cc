// aws_lambda end to end: serverless-offline's Invoke API behind a real data plane (payload 1.0
// and 2.0 round trips, function error, unknown function, timeout, body limit), `edgerouterctl
// lambda mk`, the overlay of an S3 site on "/" with a Lambda on "/api" under one host, and
// both over the TLS listener, HTTP/1.1 and HTTP/2 (the frontends `s3 mk` / `lambda mk` make are
// https-only).
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "dataplane/test/e2e_fixture.h"
#include "dataplane/test/tls_test_util.h"
#include "nlohmann/json.hpp"
#include "testenv/aws/aws_emulators.h"

namespace edgerouter::testing {
namespace {

using nlohmann::json;

class LambdaE2E : public DataplaneE2E {
 protected:
  // The emulators are shared by the suite (serverless-offline needs seconds to start).
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/er-lambda-e2e-XXXXXX";
    emulator_dir_ = new std::string(mkdtemp(tmpl));
    auto lambda = AwsEmulator::StartLambda(*emulator_dir_ + "/lambda");
    ASSERT_TRUE(lambda.ok()) << lambda.status();
    lambda_ = lambda->release();
    auto s3 = AwsEmulator::StartS3(*emulator_dir_ + "/s3", {"overlay"});
    ASSERT_TRUE(s3.ok()) << s3.status();
    s3_ = s3->release();
    setenv("AWS_ENDPOINT_URL_LAMBDA", lambda_->endpoint().c_str(), 1);
    s3_->ExportS3Environment();  // serverless-offline accepts any signature
  }
  static void TearDownTestSuite() {
    delete lambda_;
    delete s3_;
    std::filesystem::remove_all(*emulator_dir_);
    delete emulator_dir_;
  }
  void StartOrigins() override {
    DataplaneE2E::StartOrigins();
    const std::string out = Shell(absl::StrCat("set -e; cd ", dir_, "; ", MakeCaScript("ca"),
                                               MakeLeafScript("default", "https.test", "ca", "subjectAltName=DNS:https.test")));
    ASSERT_TRUE(absl::StrContains(out, "EXIT=0")) << out;
  }
  // --plain_is_https: apps made by `s3 mk` / `lambda mk` are https-only, as in edgerouter (the
  // HTTPS test below goes through the TLS listener instead).
  std::vector<std::string> DataplaneFlags() override {
    return {"--aws_timeout_ms=2000", "--plain_is_https", "--default_cert=" + dir_ + "/default.pem"};
  }
  std::string AppsJson() override {
    auto app = [](const std::string& id, const std::string& host, const std::string& prefix,
                  const std::string& function, const std::string& version) {
      return absl::StrCat(R"({"id":")", id, R"(","frontends":[{"kind":"hostname","hostname":")", host,
                          R"(","path_prefix":")", prefix, R"(","strip_path_prefix":true,"allow_insecure_http":true}],)",
                          R"("backend":{"kind":"aws_lambda","aws_lambda_opts":{"function_name":")", function,
                          R"(","region_id":"us-east-1")", version.empty() ? "" : R"(,"payload_format_version":")" + version + "\"",
                          "}}}");
    };
    return absl::StrCat(R"({"apps":[)", app("v1", "v1.test", "/", "ertest-dev-echo", ""), ",",
                        app("raw", "raw.test", "/", "ertest-dev-raw", "2.0"), ",",
                        app("fail", "fail.test", "/", "ertest-dev-fail", "2.0"), ",",
                        app("slow", "slow.test", "/", "ertest-dev-slow", "2.0"), ",",
                        app("missing", "missing.test", "/", "ertest-dev-nope", "2.0"), ",",
                        app("api", "overlay.test", "/api", "ertest-dev-echo", "1.0"), "]}");
  }
  int Ctl(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {RunfilePath("cli/edgerouterctl"),
                                     absl::StrCat("--controlplane=127.0.0.1:", cp_grpc_port_)};
    argv.insert(argv.end(), args.begin(), args.end());
    auto p = Subprocess::Start(argv);
    EXPECT_TRUE(p.ok());
    absl::StatusOr<int> status = (*p)->Wait(absl::Seconds(60));
    const int code = status.ok() && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
    if (code != 0) std::cerr << (*p)->Output() << "\n";
    return code;
  }
  HttpResponse Send(const std::string& request) {
    TestConnection conn(http_port_);
    conn.Send(request);
    return conn.Read();
  }

  static AwsEmulator* lambda_;
  static AwsEmulator* s3_;
  static std::string* emulator_dir_;
};
AwsEmulator* LambdaE2E::lambda_ = nullptr;
AwsEmulator* LambdaE2E::s3_ = nullptr;
std::string* LambdaE2E::emulator_dir_ = nullptr;

TEST_F(LambdaE2E, PayloadV1RoundTrip) {
  WaitForApplied(1);
  HttpResponse r = Send(
      "POST /hello%20world?a=1&a=2&b=x+y HTTP/1.1\r\nHost: v1.test\r\nX-Multi: one\r\nX-Multi: two\r\n"
      "Cookie: c1=v1; c2=v2\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
  ASSERT_EQ(r.status, 200) << r.head << r.body;
  EXPECT_EQ(r.headers["x-fn"], "echo");
  EXPECT_TRUE(absl::StrContains(r.head, "X-Multi: a\r\nX-Multi: b\r\n")) << r.head;  // multiValueHeaders
  json e = json::parse(r.body);
  EXPECT_EQ(e["httpMethod"], "POST");
  EXPECT_EQ(e["path"], "/hello world");
  EXPECT_EQ(e["headers"]["Host"], "v1.test");
  EXPECT_EQ(e["headers"]["X-Forwarded-For"], "127.0.0.1");
  EXPECT_EQ(e["headers"]["X-Forwarded-Proto"], "https");  // --plain_is_https
  EXPECT_EQ(e["multiValueHeaders"]["X-Multi"], json({"one", "two"}));
  EXPECT_EQ(e["headers"]["Cookie"], "c1=v1; c2=v2");
  EXPECT_EQ(e["multiValueQueryStringParameters"]["a"], json({"1", "2"}));
  EXPECT_EQ(e["queryStringParameters"]["b"], "x y");
  EXPECT_EQ(e["requestContext"]["identity"]["sourceIp"], "127.0.0.1");
  EXPECT_EQ(e["requestContext"]["protocol"], "HTTP/1.1");
  EXPECT_EQ(e["requestContext"]["domainName"], "v1.test");
  EXPECT_FALSE(e["requestContext"]["requestId"].get<std::string>().empty());
  EXPECT_EQ(e["body"], "hello");
  EXPECT_EQ(e["isBase64Encoded"], false);
}

TEST_F(LambdaE2E, PayloadV2RoundTripWithBinaryBodyAndCookies) {
  WaitForApplied(1);
  ASSERT_EQ(Ctl({"lambda", "mk", "v2", "v2.test", "/", "ertest-dev-echov2", "us-east-1"}), 0);
  WaitForApplied(2);
  const std::string binary("\x00\x01\x02\xff\xfe\x80", 6);
  HttpResponse r = Send(absl::StrCat(
      "PUT /bin?x=1&x=2 HTTP/1.1\r\nHost: v2.test\r\nX-Multi: one\r\nX-Multi: two\r\nCookie: c1=v1; c2=v2\r\n"
      "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n",
      binary.substr(0, 3), "\r\n3\r\n", binary.substr(3), "\r\n0\r\n\r\n"));
  ASSERT_EQ(r.status, 201) << r.head << r.body;
  EXPECT_TRUE(absl::StartsWith(r.head, "HTTP/1.1 201 Created\r\n")) << r.head;
  EXPECT_EQ(r.body, std::string("\x00\x01\x02\xff\xfe", 5));
  EXPECT_TRUE(absl::StrContains(r.head, "Set-Cookie: a=1; Path=/\r\nSet-Cookie: b=2\r\n")) << r.head;
  std::string event_text;
  ASSERT_TRUE(absl::Base64Unescape(r.headers["x-event"], &event_text));
  json e = json::parse(event_text);
  EXPECT_EQ(e["version"], "2.0");
  EXPECT_EQ(e["rawPath"], "/bin");
  EXPECT_EQ(e["rawQueryString"], "x=1&x=2");
  EXPECT_EQ(e["queryStringParameters"]["x"], "1,2");
  EXPECT_EQ(e["headers"]["x-multi"], "one,two");
  EXPECT_EQ(e["headers"]["host"], "v2.test");
  EXPECT_EQ(e["cookies"], json({"c1=v1", "c2=v2"}));
  EXPECT_EQ(e["requestContext"]["http"]["method"], "PUT");
  EXPECT_EQ(e["isBase64Encoded"], true);
  EXPECT_EQ(e["body"], "AAEC//6A");
}

// The rule every backend shares: fields a Connection field nominates are hop-by-hop and stay
// behind, and the X-Forwarded-* fields are the proxy's, not the client's.
TEST_F(LambdaE2E, HopByHopAndSpoofedForwardingFieldsStayBehind) {
  WaitForApplied(1);
  HttpResponse r = Send(
      "GET /h HTTP/1.1\r\nHost: v1.test\r\nConnection: keep-alive, X-Secret\r\nX-Secret: hush\r\n"
      "X-Kept: yes\r\nX-Forwarded-Host: evil.test\r\nX-Forwarded-Proto: http\r\nKeep-Alive: timeout=5\r\n\r\n");
  ASSERT_EQ(r.status, 200) << r.head << r.body;
  json e = json::parse(r.body);
  EXPECT_FALSE(e["headers"].contains("X-Secret")) << e["headers"].dump();
  EXPECT_FALSE(e["headers"].contains("Connection")) << e["headers"].dump();
  EXPECT_FALSE(e["headers"].contains("Keep-Alive")) << e["headers"].dump();
  EXPECT_EQ(e["headers"]["X-Kept"], "yes");
  EXPECT_EQ(e["headers"]["X-Forwarded-Host"], "v1.test");
  EXPECT_EQ(e["headers"]["X-Forwarded-Proto"], "https");  // --plain_is_https
  EXPECT_EQ(e["headers"]["Host"], "v1.test");
}

TEST_F(LambdaE2E, ExpectContinueIsAnsweredBeforeTheBodyIsRead) {
  WaitForApplied(1);
  TestConnection conn(http_port_);
  conn.Send("POST /up HTTP/1.1\r\nHost: v1.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(conn.Read().status, 100);
  conn.Send("hello");
  HttpResponse r = conn.Read();
  ASSERT_EQ(r.status, 200);
  json e = json::parse(r.body);
  EXPECT_EQ(e["body"], "aGVsbG8=");  // no Content-Type: not known to be text, so padded base64
  EXPECT_EQ(e["isBase64Encoded"], true);
  EXPECT_FALSE(e["headers"].contains("Expect"));
}

TEST_F(LambdaE2E, ResultWithoutStatusCodeIsA200JsonBody) {
  WaitForApplied(1);
  HttpResponse r = Get(http_port_, "raw.test", "/x");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "application/json");
  EXPECT_EQ(json::parse(r.body), json({{"hello", "world"}, {"path", "/x"}}));
}

TEST_F(LambdaE2E, FunctionErrorUnknownFunctionTimeoutAndBodyLimit) {
  WaitForApplied(1);
  HttpResponse r = Get(http_port_, "fail.test", "/");
  EXPECT_EQ(r.status, 502);
  absl::StatusOr<std::string> line = dp_->WaitForLine("app=fail", absl::Seconds(5));
  ASSERT_TRUE(line.ok());
  EXPECT_TRUE(absl::StrContains(*line, "function error Unhandled: Error")) << *line;

  r = Get(http_port_, "missing.test", "/");
  EXPECT_EQ(r.status, 502);
  line = dp_->WaitForLine("app=missing", absl::Seconds(5));
  ASSERT_TRUE(line.ok());
  EXPECT_TRUE(absl::StrContains(*line, "ResourceNotFoundException")) << *line;

  r = Get(http_port_, "slow.test", "/");
  EXPECT_EQ(r.status, 504);

  r = Send("POST / HTTP/1.1\r\nHost: raw.test\r\nContent-Length: 7000000\r\n\r\n");
  EXPECT_EQ(r.status, 413);
  // Chunked bodies are counted as they arrive.
  TestConnection conn(http_port_);
  conn.Send("POST / HTTP/1.1\r\nHost: raw.test\r\nTransfer-Encoding: chunked\r\n\r\n");
  const std::string chunk = absl::StrCat("100000\r\n", std::string(0x100000, 'x'), "\r\n");
  for (int i = 0; i < 7 && conn.Send(chunk); ++i) {
  }
  EXPECT_EQ(conn.Read().status, 413);
}

TEST_F(LambdaE2E, S3SiteWithLambdaApiUnderOneHostname) {
  WaitForApplied(1);
  const std::string root = *emulator_dir_ + "/overlay-site";
  std::filesystem::create_directories(root);
  std::ofstream(root + "/index.html") << "static home";
  const std::string archive = *emulator_dir_ + "/overlay.tar.gz";
  ASSERT_EQ(std::system(absl::StrCat("/bin/tar -czf ", archive, " -C ", root, " .").c_str()), 0);
  ASSERT_EQ(Ctl({"s3", "mk", "site", "overlay.test", "/", "overlay", "us-east-1"}), 0);
  WaitForApplied(2);
  ASSERT_EQ(Ctl({"s3", "deploy", "site", "v1", archive}), 0);
  WaitForApplied(3);
  HttpResponse r = Get(http_port_, "overlay.test", "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "static home");
  r = Get(http_port_, "overlay.test", "/api/hello?q=1");
  ASSERT_EQ(r.status, 200) << r.body;
  json e = json::parse(r.body);
  EXPECT_EQ(e["path"], "/hello");
  EXPECT_EQ(e["queryStringParameters"]["q"], "1");
}

TEST_F(LambdaE2E, SiteAndFunctionOverHttps) {
  WaitForApplied(1);
  const std::string root = *emulator_dir_ + "/https-site";
  std::filesystem::create_directories(root);
  std::ofstream(root + "/index.html") << "secure home";
  const std::string archive = *emulator_dir_ + "/https.tar.gz";
  ASSERT_EQ(std::system(absl::StrCat("/bin/tar -czf ", archive, " -C ", root, " .").c_str()), 0);
  ASSERT_EQ(Ctl({"s3", "mk", "https-site", "https.test", "/", "overlay", "us-east-1"}), 0);
  WaitForApplied(2);
  ASSERT_EQ(Ctl({"lambda", "mk", "--strip-path", "https-api", "https.test", "/api", "ertest-dev-echov2", "us-east-1"}), 0);
  WaitForApplied(3);
  ASSERT_EQ(Ctl({"s3", "deploy", "https-site", "v1", archive}), 0);
  WaitForApplied(4);
  const std::string curl = absl::StrCat("curl -sk --resolve https.test:", https_port_, ":127.0.0.1 ");
  std::string out = Shell(absl::StrCat(curl, "--http1.1 https://https.test:", https_port_, "/"));
  EXPECT_TRUE(absl::StartsWith(out, "secure home")) << out;
  // A body read through TLS while the session waits for the body, then the invoke.
  out = Shell(absl::StrCat(curl, "--http1.1 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/octet-stream' ",
                           "--data-binary @", archive, " https://https.test:", https_port_, "/api/up"));
  EXPECT_TRUE(absl::StartsWith(out, "201")) << out;
  // The same over HTTP/2 (ALPN h2): each stream is its own exchange waiting on AWS.
  out = Shell(absl::StrCat(curl, "--http2 -w ' %{http_version}' https://https.test:", https_port_, "/"));
  EXPECT_TRUE(absl::StartsWith(out, "secure home 2")) << out;
  out = Shell(absl::StrCat(curl, "--http2 -o /dev/null -w '%{http_code} %{http_version}' ",
                           "-H 'Content-Type: application/octet-stream' --data-binary @", archive,
                           " https://https.test:", https_port_, "/api/up"));
  EXPECT_TRUE(absl::StartsWith(out, "201 2")) << out;
}

}  // namespace
}  // namespace edgerouter::testing
