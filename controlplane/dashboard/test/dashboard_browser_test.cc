// The dashboard in a real browser (headless Debian chromium over the DevTools protocol, see
// cdp_driver.py), against real processes: a control plane, a data plane reporting every 300 ms
// and test origins. What is asserted is what a person sees: an app put through edgerouterctl
// appears without a reload, and its origin, which refuses connections, turns red once traffic
// reaches it. Screenshots are kept in $TEST_UNDECLARED_OUTPUTS_DIR.
#include <cstdlib>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "dataplane/test/e2e_fixture.h"
#include "gtest/gtest.h"

namespace edgerouter::testing {
namespace {

class DashboardBrowser : public DataplaneE2E {
 protected:
  std::vector<std::string> DataplaneFlags() override { return {"--report_interval_ms=300"}; }
};

TEST_F(DashboardBrowser, AnAppPutWithTheCliAppearsLiveAndItsFailingOriginTurnsRed) {
  WaitForApplied(1);
  absl::StatusOr<std::string> ready = cp_->WaitForLine("control plane ready", absl::Seconds(5));
  ASSERT_TRUE(ready.ok()) << ready.status();
  const std::string url = absl::StrCat("http://", LogField(*ready, "http"), "/dashboard/");
  const char* outputs = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  const std::string outdir = outputs != nullptr ? outputs : dir_;
  const int dead_port = PickFreeLoopbackPort();  // nothing listens there
  const std::string dead_origin = absl::StrCat("127.0.0.1:", dead_port);

  auto driver = Subprocess::Start({"/usr/bin/python3", RunfilePath("controlplane/dashboard/test/cdp_driver.py"), url,
                                   outdir, "later", dead_origin},
                                  dir_ + "/driver.log");
  ASSERT_TRUE(driver.ok()) << driver.status();
  Subprocess& browser = **driver;
  ASSERT_TRUE(browser.WaitForLine("page loaded", absl::Seconds(90)).ok()) << browser.Output();

  // The page is open; the app is created only now, through the CLI.
  std::ofstream(dir_ + "/later.json") << R"({"id":"later","frontends":[{"kind":"hostname","hostname":"later.test",)"
                                      << R"("path_prefix":"/","allow_insecure_http":true}],"backend":{"kind":"reverse_proxy",)"
                                      << R"("reverse_proxy_opts":{"origins":["http://)" << dead_origin << R"("]}}})";
  auto ctl = Subprocess::Start({RunfilePath("cli/edgerouterctl"), absl::StrCat("--controlplane=127.0.0.1:", cp_grpc_port_),
                                "app", "put", "--new", dir_ + "/later.json"});
  ASSERT_TRUE(ctl.ok());
  absl::StatusOr<int> put = (*ctl)->Wait(absl::Seconds(20));
  ASSERT_TRUE(put.ok() && *put == 0) << (*ctl)->Output();
  ASSERT_TRUE(browser.WaitForLine("app visible later", absl::Seconds(30)).ok()) << browser.Output();

  // What the page was given: the put is in the recent events; the auth_v0 app's token ("s3cret",
  // in the fixture's applications.json) is not anywhere.
  const std::string http = LogField(*ready, "http");
  const HttpResponse state = Get(std::stoi(http.substr(http.rfind(':') + 1)), "x", "/dashboard/api/state");
  EXPECT_EQ(state.status, 200);
  EXPECT_TRUE(absl::StrContains(state.body, R"("type":"AppUpdated","subject":"later")")) << state.body;
  EXPECT_TRUE(absl::StrContains(state.body, R"("id":"token")")) << state.body;
  EXPECT_FALSE(absl::StrContains(state.body, "s3cret")) << state.body;

  // Requests reach the dead origin until the page shows it red.
  const absl::Time deadline = absl::Now() + absl::Seconds(45);
  while (browser.LineCount("origin red") == 0 && browser.LineCount("FAIL") == 0 && absl::Now() < deadline) {
    Get(http_port_, "later.test", "/");  // 502 once the data plane has the app (404 just before)
    absl::SleepFor(absl::Milliseconds(100));  // a request rate, not synchronisation
  }
  ASSERT_TRUE(browser.WaitForLine("origin red", absl::Seconds(5)).ok()) << browser.Output();
  absl::StatusOr<std::string> overflow = browser.WaitForLine("phone overflow", absl::Seconds(30));
  ASSERT_TRUE(overflow.ok()) << browser.Output();
  EXPECT_EQ(*overflow, "phone overflow 0");  // nothing wider than a phone's screen
  ASSERT_TRUE(browser.WaitForLine("driver done", absl::Seconds(30)).ok()) << browser.Output();
  // The driver removes the browser's profile on its way out: let it finish rather than kill it.
  absl::StatusOr<int> exited = browser.Wait(absl::Seconds(30));
  ASSERT_TRUE(exited.ok()) << exited.status();
  EXPECT_EQ(*exited, 0) << browser.Output();
  EXPECT_EQ(browser.LineCount("FAIL"), 0) << browser.Output();
  for (const char* shot : {"dashboard-before.png", "dashboard-wide.png", "dashboard-phone.png"}) {
    std::ifstream png(outdir + "/" + shot, std::ios::binary);
    char magic[4] = {};
    png.read(magic, 4);
    EXPECT_EQ(std::string(magic + 1, 3), "PNG") << shot;
  }
}

}  // namespace
}  // namespace edgerouter::testing
