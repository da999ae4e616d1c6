// End to end through the real binaries: what a hostile client sends must not come back as
// markup, reach origins as trusted facts, or leak secrets through the dumps.
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/test_util.h"
#include "dataplane/test/e2e_fixture.h"
#include "dataplane/test/tls_test_util.h"

namespace edgerouter::testing {
namespace {

class DataplaneSecurity : public DataplaneE2E {
 protected:
  std::string AppsJson() override {
    std::string json = DataplaneE2E::AppsJson();
    const std::string extra = R"(,
 {"id":"relredir","frontends":[{"kind":"hostname","hostname":"relredir.test","path_prefix":"/","allow_insecure_http":true}],
  "backend":{"kind":"redirect","redirect_opts":{"to":"landing"}}}
]})";
    json.replace(json.rfind("\n]}"), 3, extra);
    return json;
  }
  std::vector<std::string> DataplaneFlags() override { return {"--h2c"}; }

  // One request over prior-knowledge HTTP/2 (h2_request.py): ":status: N", fields, "body: …".
  std::string H2Request(const std::string& method, const std::string& authority, const std::string& path,
                        const std::vector<std::string>& fields = {}) {
    std::string cmd = absl::StrCat("/usr/bin/python3 ", RunfilePath("dataplane/test/h2_request.py"), " ",
                                   http_port_, " ", method, " ", authority, " '", path, "'");
    for (const std::string& f : fields) absl::StrAppend(&cmd, " '", f, "'");
    return Shell(cmd + " 2>&1");
  }
};

// The request target comes back in Location and in a text/html body: no markup may survive.
TEST_F(DataplaneSecurity, RedirectBodiesEscapeTheTarget) {
  WaitForApplied(1);
  const std::string attack = "/\"><script>alert(1)</script>";
  // 307 to HTTPS (secure.test has no allow_insecure_http).
  HttpResponse r = Get(http_port_, "secure.test", attack);
  ASSERT_EQ(r.status, 307) << r.head;
  EXPECT_EQ(r.headers["location"], "https://secure.test/%22%3E%3Cscript%3Ealert(1)%3C/script%3E");
  EXPECT_FALSE(absl::StrContains(r.body, "<script")) << r.body;
  EXPECT_EQ(r.body, "<a href=\"https://secure.test/%22%3E%3Cscript%3Ealert(1)%3C/script%3E\">Temporary Redirect</a>.\n\n");
  // A relative redirect backend resolves against the request path.
  r = Get(http_port_, "relredir.test", "/x'y/\"<b>/z");
  ASSERT_EQ(r.status, 302) << r.head;
  EXPECT_EQ(r.headers["location"], "/x'y/%22%3Cb%3E/landing");
  EXPECT_EQ(r.body, "<a href=\"/x&#39;y/%22%3Cb%3E/landing\">Found</a>.\n\n");
  // A valid target is not changed.
  r = Get(http_port_, "secure.test", "/a%2Fb?x=%20y&z=1");
  EXPECT_EQ(r.headers["location"], "https://secure.test/a%2Fb?x=%20y&z=1");
  EXPECT_EQ(r.body, "<a href=\"https://secure.test/a%2Fb?x=%20y&amp;z=1\">Temporary Redirect</a>.\n\n");
}

// As nginx: TRACE is refused (it would echo credentials back to a script), and a raw backslash
// in the path (which some origins read as '/') is a bad request. Neither reaches an origin.
TEST_F(DataplaneSecurity, TraceAndBackslashPathsAreRefused) {
  WaitForApplied(1);
  TestConnection trace(http_port_);
  trace.Send("TRACE /trace-h1 HTTP/1.1\r\nHost: site.test\r\nCookie: c=1\r\n\r\n");
  HttpResponse r = trace.Read();
  EXPECT_EQ(r.status, 405) << r.head << r.body;
  EXPECT_FALSE(absl::StrContains(r.body, "c=1")) << r.body;
  r = Get(http_port_, "site.test", "/back\\slash-h1");
  EXPECT_EQ(r.status, 400) << r.head << r.body;
  r = Get(http_port_, "site.test", "/ok\\?q=1");
  EXPECT_EQ(r.status, 400) << r.head << r.body;
  // The same over HTTP/2.
  std::string out = H2Request("TRACE", "site.test", "/trace-h2");
  EXPECT_TRUE(absl::StrContains(out, ":status: 405")) << out;
  out = H2Request("GET", "site.test", "/back\\slash-h2");
  EXPECT_TRUE(absl::StrContains(out, ":status: 400")) << out;
  // A backslash that is percent-encoded, or in the query, is data like any other.
  EXPECT_EQ(Get(http_port_, "site.test", "/enc%5Cslash?q=a\\b").status, 200);
  out = H2Request("GET", "site.test", "/marker-h2");
  EXPECT_TRUE(absl::StrContains(out, ":status: 200")) << out;
  ASSERT_TRUE(a_->WaitForLine("request GET /marker-h2", absl::Seconds(5)).ok()) << a_->Output();
  EXPECT_FALSE(absl::StrContains(a_->Output(), "trace-h")) << a_->Output();
  EXPECT_FALSE(absl::StrContains(a_->Output(), "slash-h")) << a_->Output();
}

}  // namespace
}  // namespace edgerouter::testing
