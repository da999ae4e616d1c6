#include "common/aws/sigv4.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/test_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace edgerouter::aws {
namespace {

using ::edgerouter::testing::ReadFileOrDie;
using ::edgerouter::testing::RunfilePath;

std::string PercentDecode(absl::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && absl::ascii_isxdigit(in[i + 1]) &&
        absl::ascii_isxdigit(in[i + 2])) {
      auto val = [](char c) { return absl::ascii_isdigit(c) ? c - '0' : (c | 0x20) - 'a' + 10; };
      out.push_back(static_cast<char>(val(in[i + 1]) * 16 + val(in[i + 2])));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

NameValues ParseQuery(absl::string_view q) {
  NameValues out;
  if (q.empty()) return out;
  for (absl::string_view part : absl::StrSplit(q, '&')) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(part, absl::MaxSplits('=', 1));
    out.emplace_back(PercentDecode(kv.first), PercentDecode(kv.second));
  }
  return out;
}

// An HTTP/1.1 message from the suite: request line "METHOD TARGET HTTP/1.1" (the target may
// contain raw spaces), "Name:value" headers with folded continuation lines, blank line, body.
struct ParsedRequest {
  std::string method, path, raw_query, body;
  NameValues headers;
};

ParsedRequest ParseHttp(const std::string& text) {
  ParsedRequest r;
  size_t head_end = text.find("\n\n");
  std::string head = text.substr(0, head_end);
  if (head_end != std::string::npos) r.body = text.substr(head_end + 2);
  std::vector<std::string> lines = absl::StrSplit(head, '\n');
  const std::string& line = lines[0];
  size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  r.method = line.substr(0, sp1);
  std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  size_t q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string::npos) r.raw_query = target.substr(q + 1);
  for (size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    if (absl::ascii_isspace(lines[i][0]) && !r.headers.empty()) {
      r.headers.back().second += "\n" + lines[i];
      continue;
    }
    size_t colon = lines[i].find(':');
    r.headers.emplace_back(lines[i].substr(0, colon), lines[i].substr(colon + 1));
  }
  return r;
}

NameValues Sorted(NameValues v) {
  for (auto& [name, value] : v) name = absl::AsciiStrToLower(name);
  std::sort(v.begin(), v.end());
  return v;
}

// Runs one suite case; returns the number of failed comparisons.
int RunCase(const std::filesystem::path& dir) {
  SCOPED_TRACE(dir.filename().string());
  auto file = [&](const char* name) { return ReadFileOrDie((dir / name).string()); };
  nlohmann::json ctx = nlohmann::json::parse(file("context.json"));
  ParsedRequest http = ParseHttp(file("request.txt"));

  Credentials creds{ctx["credentials"]["access_key_id"], ctx["credentials"]["secret_access_key"],
                    ctx["credentials"].value("token", "")};
  SigningConfig config;
  config.region = ctx["region"];
  config.service = ctx["service"];
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, ctx["timestamp"].get<std::string>(),
                              &config.time, &err)) << err;
  config.normalize_path = ctx["normalize"];
  config.add_content_sha256_header = ctx["sign_body"];
  config.sign_session_token = !ctx.value("omit_session_token", false);
  config.expires = absl::Seconds(ctx["expiration_in_seconds"].get<int>());

  SigningRequest req{http.method, http.path, ParseQuery(http.raw_query), http.headers,
                     Sha256Hex(http.body)};
  auto failures = [] {
    return ::testing::UnitTest::GetInstance()->current_test_info()->result()->total_part_count();
  };
  const int before = failures();

  HeaderSignature h = SignHeaders(req, creds, config);
  EXPECT_EQ(h.canonical_request, file("header-canonical-request.txt"));
  EXPECT_EQ(h.string_to_sign, file("header-string-to-sign.txt"));
  EXPECT_EQ(h.signature, file("header-signature.txt"));
  ParsedRequest signed_http = ParseHttp(file("header-signed-request.txt"));
  NameValues expected_headers = http.headers;
  expected_headers.insert(expected_headers.end(), h.headers_to_add.begin(),
                          h.headers_to_add.end());
  EXPECT_EQ(Sorted(expected_headers), Sorted(signed_http.headers));

  QuerySignature q = SignQuery(req, creds, config);
  EXPECT_EQ(q.canonical_request, file("query-canonical-request.txt"));
  EXPECT_EQ(q.string_to_sign, file("query-string-to-sign.txt"));
  EXPECT_EQ(q.signature, file("query-signature.txt"));
  ParsedRequest presigned = ParseHttp(file("query-signed-request.txt"));
  EXPECT_EQ(Sorted(ParseQuery(q.query_string)), Sorted(ParseQuery(presigned.raw_query)));
  EXPECT_EQ(Sorted(http.headers), Sorted(presigned.headers));

  return failures() - before;
}

TEST(SigV4Suite, EveryCaseMatchesByteForByte) {
  std::filesystem::path root = RunfilePath("testdata/sigv4/v4");
  std::vector<std::filesystem::path> cases;
  for (const auto& entry : std::filesystem::directory_iterator(root)) {
    if (entry.is_directory()) cases.push_back(entry.path());
  }
  std::sort(cases.begin(), cases.end());
  int passed = 0;
  for (const auto& dir : cases) passed += RunCase(dir) == 0 ? 1 : 0;
  std::printf("sigv4 suite: %d/%zu cases pass\n", passed, cases.size());
  EXPECT_EQ(cases.size(), 38u);
  EXPECT_EQ(passed, static_cast<int>(cases.size()));
}

SigningConfig Config(absl::string_view service) {
  SigningConfig c;
  c.region = "us-east-1";
  c.service = std::string(service);
  c.time = absl::FromUnixSeconds(1440938160);  // 2015-08-30T12:36:00Z
  return c;
}

TEST(SigV4, UriEncode) {
  EXPECT_EQ(UriEncode("a b/c~d+e=f%", true), "a%20b/c~d%2Be%3Df%25");
  EXPECT_EQ(UriEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(UriEncode("\xe1\x88\xb4", false), "%E1%88%B4");
}

TEST(SigV4, PathRulesDifferForS3) {
  SigningConfig lambda = Config("lambda");
  EXPECT_EQ(CanonicalPath("/a//b/./c/../d%20e", lambda), "/a/b/d%2520e");
  EXPECT_EQ(CanonicalPath("", lambda), "/");
  SigningConfig s3 = Config("s3");
  s3.normalize_path = false;
  s3.double_encode_path = false;
  EXPECT_EQ(CanonicalPath("/bucket/a//b/../d%20e", s3), "/bucket/a//b/../d%20e");
}

TEST(SigV4, CanonicalQuerySortsEncodedNamesThenValues) {
  EXPECT_EQ(CanonicalQuery({{"b", "2"}, {"a", "z"}, {"a", "y"}, {"c d", ""}}),
            "a=y&a=z&b=2&c%20d=");
}

TEST(SigV4, HeaderSigningReplacesSignerHeaders) {
  SigningRequest req;
  req.method = "GET";
  req.path = "/";
  req.headers = {{"Host", "example.amazonaws.com"},
                 {"X-Amz-Date", "19990101T000000Z"},
                 {"Authorization", "stale"}};
  SigningConfig config = Config("service");
  config.add_content_sha256_header = true;
  req.payload_hash = kUnsignedPayload;
  HeaderSignature h = SignHeaders(req, Credentials{"AKID", "secret", "tok"}, config);
  EXPECT_EQ(h.signed_headers, "host;x-amz-content-sha256;x-amz-date;x-amz-security-token");
  EXPECT_TRUE(absl::EndsWith(h.canonical_request, "\nUNSIGNED-PAYLOAD"));
  ASSERT_EQ(h.headers_to_add.size(), 4u);
  EXPECT_EQ(h.headers_to_add[0].first, "X-Amz-Security-Token");
  EXPECT_EQ(h.headers_to_add[1].second, "20150830T123600Z");
  EXPECT_EQ(h.headers_to_add[2].second, "UNSIGNED-PAYLOAD");
  EXPECT_EQ(h.headers_to_add[3].second, h.authorization);
  EXPECT_FALSE(absl::StrContains(h.canonical_request, "19990101"));
}

TEST(SigV4, PresignWithUnsignedTokenAppendsItAfterSigning) {
  SigningRequest req;
  req.method = "GET";
  req.path = "/bucket/key";
  req.query = {{"versionId", "a b"}};
  req.headers = {{"Host", "s3.amazonaws.com"}};
  req.payload_hash = kUnsignedPayload;
  SigningConfig config = Config("s3");
  config.sign_session_token = false;
  config.expires = absl::Seconds(60);
  QuerySignature q = SignQuery(req, Credentials{"AKID", "secret", "t/k"}, config);
  EXPECT_FALSE(absl::StrContains(q.canonical_request, "Security-Token"));
  EXPECT_TRUE(absl::StartsWith(q.query_string,
                               "versionId=a%20b&X-Amz-Algorithm=AWS4-HMAC-SHA256&"));
  EXPECT_TRUE(absl::StrContains(q.query_string, "&X-Amz-Expires=60&"));
  EXPECT_TRUE(absl::EndsWith(q.query_string,
                             "&X-Amz-Security-Token=t%2Fk&X-Amz-Signature=" + q.signature));
}

// The HMAC context and the last derived signing key are kept per thread: alternating secrets,
// days, regions and services, and several threads signing at once, must give exactly the
// signatures of a fresh derivation.
TEST(SigV4, ReusedHmacContextsAndSigningKeysNeverCarryOver) {
  SigningRequest req;
  req.method = "GET";
  req.path = "/bucket/key";
  req.headers = {{"Host", "s3.amazonaws.com"}};
  const SigningConfig config = Config("s3");
  const std::vector<Credentials> creds = {{"AKID", "secret-one", ""}, {"AKID", "secret-two", ""}};
  std::vector<std::string> want;
  for (const auto& c : creds) want.push_back(SignHeaders(req, c, config).signature);
  ASSERT_NE(want[0], want[1]);
  EXPECT_EQ(SignHeaders(req, creds[0], config).signature, want[0]);

  // Each scope part changes the key; signing in the first scope again gives the first result.
  std::vector<SigningConfig> scopes(4, config);
  scopes[1].time += absl::Hours(24);
  scopes[2].region = "eu-west-1";
  scopes[3].service = "s3-object-lambda";
  std::vector<std::string> per_scope;
  for (const auto& c : scopes) per_scope.push_back(SignHeaders(req, creds[0], c).signature);
  for (size_t i = 1; i < per_scope.size(); ++i) EXPECT_NE(per_scope[i], per_scope[0]) << i;
  EXPECT_EQ(per_scope[0], want[0]);
  EXPECT_EQ(SignHeaders(req, creds[0], scopes[2]).signature, per_scope[2]);

  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const size_t k = (i + t) % 2;
        if (SignHeaders(req, creds[k], config).signature != want[k]) ++mismatches;
        if (Sha256Hex("") != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") {
          ++mismatches;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace edgerouter::aws
