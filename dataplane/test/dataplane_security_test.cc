// End to end through the real binaries: what a hostile client sends must not come back as
// markup, reach origins as trusted facts, or leak secrets through the dumps.
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/test_util.h"
#include "dataplane/test/e2e_fixture.h"

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

}  // namespace
}  // namespace edgerouter::testing
