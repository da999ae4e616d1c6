#include "controlplane/acme/acme_schedule.h"

#include <algorithm>
#include <map>
#include <random>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "controlplane/acme/acme_problem.h"
#include "gtest/gtest.h"

namespace edgerouter::acme {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

NameStatus Find(const NameTracker& t, const std::string& name, absl::Time now) {
  for (NameStatus& s : t.States(now)) {
    if (s.name == name) return s;
  }
  ADD_FAILURE() << name << " not in States()";
  return {};
}

KnownCertificate Cert(std::vector<std::string> domains, absl::Time from, absl::Duration life) {
  return {.domains = std::move(domains), .not_before = from, .not_after = from + life};
}

TEST(AcmeScheduleTest, OrdersWantedNamesWithoutCertificateOnceAndMergesSources) {
  NameTracker t({}, {});
  t.SetWanted({{"B.example.com", "app:b"}, {"a.example.com", "app:a"}, {"a.example.com", "certresolver:le"}});
  ASSERT_EQ(t.NextOrder(kT0), "a.example.com");
  EXPECT_EQ(t.NextWakeup(kT0), kT0);
  EXPECT_EQ(Find(t, "a.example.com", kT0).sources, (std::vector<std::string>{"app:a", "certresolver:le"}));
  EXPECT_EQ(Find(t, "b.example.com", kT0).state, NameState::kQueued);  // lowercased
  t.OnOrderStarted("a.example.com");
  EXPECT_EQ(Find(t, "a.example.com", kT0).state, NameState::kPending);
  EXPECT_EQ(t.NextOrder(kT0), "b.example.com");  // never the in-flight name again
  t.OnOrderStarted("b.example.com");
  EXPECT_EQ(t.NextOrder(kT0), std::nullopt);
  EXPECT_EQ(t.NextWakeup(kT0), absl::InfiniteFuture());
}

TEST(AcmeScheduleTest, ValidCertificateCoversUntilTwoThirdsOfItsLifetime) {
  NameTracker t({}, {});
  t.SetWanted({{"a.example.com", "app:a"}, {"x.wild.example.com", "app:w"}, {"b.example.com", "app:b"}});
  t.SetCertificates({Cert({"a.example.com"}, kT0, absl::Hours(90 * 24)),
                     Cert({"*.wild.example.com"}, kT0, absl::Hours(30 * 24)),
                     // expires soon: due at once
                     Cert({"b.example.com"}, kT0 - absl::Hours(80 * 24), absl::Hours(90 * 24))});
  EXPECT_EQ(Find(t, "a.example.com", kT0).state, NameState::kIssued);
  EXPECT_EQ(Find(t, "a.example.com", kT0).renew_at, kT0 + absl::Hours(60 * 24));
  EXPECT_EQ(Find(t, "x.wild.example.com", kT0).state, NameState::kIssued);
  EXPECT_EQ(t.NextOrder(kT0), "b.example.com");
  t.OnOrderStarted("b.example.com");
  EXPECT_EQ(t.NextOrder(kT0), std::nullopt);
  EXPECT_EQ(t.NextWakeup(kT0), kT0 + absl::Hours(20 * 24));  // the wildcard's renewal
  t.OnIssued("b.example.com", Cert({"b.example.com"}, kT0, absl::Hours(90 * 24)));
  EXPECT_EQ(Find(t, "b.example.com", kT0).state, NameState::kIssued);
  // Renewal: just before two thirds nothing, at two thirds the name is ordered again.
  const absl::Time renew = kT0 + absl::Hours(60 * 24);
  t.SetCertificates({});  // the stream may lag; the issuer's own record still covers it
  EXPECT_EQ(Find(t, "b.example.com", renew - absl::Seconds(1)).state, NameState::kIssued);
  t.SetWanted({{"b.example.com", "app:b"}});
  EXPECT_EQ(t.NextOrder(renew - absl::Seconds(1)), std::nullopt);
  EXPECT_EQ(t.NextWakeup(renew - absl::Seconds(1)), renew);
  EXPECT_EQ(t.NextOrder(renew), "b.example.com");
  EXPECT_EQ(Find(t, "b.example.com", renew).not_after, kT0 + absl::Hours(90 * 24));
}

TEST(AcmeScheduleTest, NewNamesBeforeRenewals) {
  NameTracker t({}, {});
  t.SetWanted({{"a.example.com", "s"}, {"z.example.com", "s"}});
  t.SetCertificates({Cert({"a.example.com"}, kT0 - absl::Hours(24 * 89), absl::Hours(90 * 24))});
  EXPECT_EQ(t.NextOrder(kT0), "z.example.com");
}

TEST(AcmeScheduleTest, UnknownNotBeforeAssumesNinetyDays) {
  EXPECT_EQ(RenewalTime({.domains = {"a"}, .not_after = kT0}), kT0 - absl::Hours(30 * 24));
}

TEST(AcmeScheduleTest, FailuresBackOffExponentiallyPerName) {
  NameTracker t({.backoff_initial = absl::Minutes(1), .backoff_max = absl::Minutes(5)}, {});
  t.SetWanted({{"bad.example.com", "app:bad"}, {"good.example.com", "app:good"}});
  absl::Time now = kT0;
  const absl::Status refused = absl::FailedPreconditionError("urn:ietf:params:acme:error:unauthorized: 404");
  const absl::Duration expected[] = {absl::Minutes(1), absl::Minutes(2), absl::Minutes(4), absl::Minutes(5),
                                     absl::Minutes(5)};
  for (absl::Duration d : expected) {
    ASSERT_EQ(t.NextOrder(now), "bad.example.com");
    t.OnOrderStarted("bad.example.com");
    t.OnFailed("bad.example.com", refused, now);
    NameStatus s = Find(t, "bad.example.com", now);
    EXPECT_EQ(s.state, NameState::kFailing);
    EXPECT_EQ(s.detail, refused.message());
    EXPECT_EQ(s.retry_at, now + d);
    // The other name is unaffected and next.
    EXPECT_EQ(t.NextOrder(now), "good.example.com");
    EXPECT_EQ(t.NextOrder(now + d - absl::Seconds(1)), "good.example.com");
    now += d;
  }
  EXPECT_EQ(Find(t, "bad.example.com", now).failures, 5);
  // Success resets the count.
  t.OnIssued("bad.example.com", Cert({"bad.example.com"}, now, absl::Hours(24)));
  EXPECT_EQ(Find(t, "bad.example.com", now).failures, 0);
  EXPECT_EQ(Find(t, "bad.example.com", now).state, NameState::kIssued);
}

TEST(AcmeScheduleTest, RateLimitedAndRetryAfterWin) {
  const SchedulePolicy p{.backoff_initial = absl::Minutes(1), .rate_limited_min = absl::Hours(1)};
  const absl::Status limited = ProblemStatus(
      "newOrder", {.type = "urn:ietf:params:acme:error:rateLimited", .detail = "too many"}, 429, std::nullopt);
  ASSERT_TRUE(IsRateLimited(limited));
  EXPECT_EQ(BackoffDelay(p, 1, limited), absl::Hours(1));
  EXPECT_EQ(BackoffDelay(p, 1, WithRetryAfter(limited, absl::Hours(3))), absl::Hours(3));
  EXPECT_EQ(BackoffDelay(p, 1, WithRetryAfter(absl::UnavailableError("x"), absl::Minutes(7))), absl::Minutes(7));
  EXPECT_EQ(BackoffDelay(p, 2, absl::UnavailableError("x")), absl::Minutes(2));
  EXPECT_EQ(BackoffDelay(p, 200, absl::UnavailableError("x")), p.backoff_max);  // no overflow

  NameTracker t(p, {});
  t.SetWanted({{"a.example.com", "s"}});
  t.OnFailed("a.example.com", WithRetryAfter(limited, absl::Hours(3)), kT0);
  EXPECT_EQ(t.NextOrder(kT0 + absl::Hours(2)), std::nullopt);
  EXPECT_EQ(t.NextWakeup(kT0 + absl::Hours(2)), kT0 + absl::Hours(3));
  EXPECT_EQ(t.NextOrder(kT0 + absl::Hours(3)), "a.example.com");
}

TEST(AcmeScheduleTest, ExcludedAndUnissuableNamesAreReportedNotOrdered) {
  NameTracker t({}, {"*.internal.example.com", "staging-*"});
  t.SetWanted({{"db.internal.example.com", "app:db"},
               {"Staging-Web.example.com", "app:s"},
               {"^api\\d+\\.example\\.com$", "app:re", /*regexp=*/true},
               {"*.example.com", "app:wild"},
               {"10.0.0.1", "app:ip"},
               {"localhost", "app:local"},
               {"bad_name.example.com", "app:bad"}});
  EXPECT_EQ(t.NextOrder(kT0), std::nullopt);
  EXPECT_EQ(t.NextWakeup(kT0), absl::InfiniteFuture());
  EXPECT_EQ(Find(t, "db.internal.example.com", kT0).state, NameState::kExcluded);
  EXPECT_EQ(Find(t, "staging-web.example.com", kT0).state, NameState::kExcluded);
  NameStatus re = Find(t, "^api\\d+\\.example\\.com$", kT0);
  EXPECT_EQ(re.state, NameState::kSkipped);
  EXPECT_NE(re.detail.find("regexp"), std::string::npos) << re.detail;
  EXPECT_NE(Find(t, "*.example.com", kT0).detail.find("DNS-01"), std::string::npos);
  EXPECT_EQ(Find(t, "10.0.0.1", kT0).state, NameState::kSkipped);
  EXPECT_EQ(Find(t, "localhost", kT0).state, NameState::kSkipped);
  EXPECT_EQ(Find(t, "bad_name.example.com", kT0).state, NameState::kSkipped);
  EXPECT_FALSE(MatchesExclude({"*.internal.example.com"}, "internal.example.com"));
}

TEST(AcmeScheduleTest, UnwantedNameDisappearsButKeepsItsBackoff) {
  NameTracker t({.backoff_initial = absl::Minutes(10)}, {});
  t.SetWanted({{"a.example.com", "s"}});
  t.OnFailed("a.example.com", absl::UnavailableError("down"), kT0);
  t.SetWanted({});
  EXPECT_TRUE(t.States(kT0).empty());
  t.SetWanted({{"a.example.com", "s"}});
  EXPECT_EQ(t.NextOrder(kT0 + absl::Minutes(1)), std::nullopt);
  EXPECT_EQ(Find(t, "a.example.com", kT0).detail, "down");
}

}  // namespace
}  // namespace edgerouter::acme

namespace edgerouter::acme {
namespace {

KnownCertificate AriCert(absl::Time from, absl::Duration life) {
  KnownCertificate c = Cert({"a.example.com"}, from, life);
  c.cert_id = "aki.serial";
  return c;
}

TEST(AcmeScheduleAriTest, WindowBeforeTwoThirdsMovesTheRenewalAndIsShown) {
  NameTracker t({}, {});
  t.SetWanted({{"a.example.com", "app:a"}});
  t.SetCertificates({AriCert(kT0, absl::Hours(90 * 24))});
  const absl::Time two_thirds = kT0 + absl::Hours(60 * 24);
  // Not asked yet: due at once; nothing to order.
  EXPECT_EQ(t.NextRenewalInfoFetch(kT0), "aki.serial");
  EXPECT_EQ(t.NextWakeup(kT0), kT0);
  EXPECT_EQ(t.ReplacesFor("a.example.com"), "");  // no renewal info yet: no `replaces`
  const RenewalWindow w{.start = kT0 + absl::Hours(10 * 24), .end = kT0 + absl::Hours(12 * 24),
                        .explanation_url = "https://ca.test/why"};
  t.OnRenewalInfo("aki.serial", w, absl::Hours(2), kT0, 0.5);
  NameStatus s = Find(t, "a.example.com", kT0);
  EXPECT_EQ(s.state, NameState::kIssued);
  EXPECT_EQ(s.renew_at, kT0 + absl::Hours(11 * 24));
  EXPECT_EQ(s.detail, "ARI window 2027-01-25T08:00:00Z to 2027-01-27T08:00:00Z (https://ca.test/why)");
  EXPECT_EQ(t.ReplacesFor("A.example.com"), "aki.serial");
  // Next fetch after the Retry-After; the wake-up is the earlier of that and the renewal.
  EXPECT_EQ(t.NextRenewalInfoFetch(kT0 + absl::Minutes(119)), std::nullopt);
  EXPECT_EQ(t.NextRenewalInfoFetch(kT0 + absl::Hours(2)), "aki.serial");
  EXPECT_EQ(t.NextWakeup(kT0), kT0 + absl::Hours(2));
  // The same window again keeps the chosen time, whatever the random draw.
  t.OnRenewalInfo("aki.serial", w, std::nullopt, kT0 + absl::Hours(2), 0.9);
  EXPECT_EQ(Find(t, "a.example.com", kT0).renew_at, kT0 + absl::Hours(11 * 24));
  EXPECT_EQ(t.NextOrder(kT0 + absl::Hours(11 * 24) - absl::Seconds(1)), std::nullopt);
  EXPECT_EQ(t.NextOrder(kT0 + absl::Hours(11 * 24)), "a.example.com");
  EXPECT_LT(Find(t, "a.example.com", kT0).renew_at, two_thirds);
}

TEST(AcmeScheduleAriTest, WindowAfterTwoThirdsNeverDelaysAndPastWindowRenewsNow) {
  NameTracker t({}, {});
  t.SetWanted({{"a.example.com", "app:a"}});
  t.SetCertificates({AriCert(kT0, absl::Hours(90 * 24))});
  const absl::Time two_thirds = kT0 + absl::Hours(60 * 24);
  t.OnRenewalInfo("aki.serial", RenewalWindow{.start = kT0 + absl::Hours(80 * 24), .end = kT0 + absl::Hours(85 * 24)},
                  std::nullopt, kT0, 0.0);
  EXPECT_EQ(Find(t, "a.example.com", kT0).renew_at, two_thirds);
  // The CA moves the window into the past (e.g. a revocation coming): renew now.
  const absl::Time now = kT0 + absl::Hours(7);
  t.OnRenewalInfo("aki.serial", RenewalWindow{.start = kT0, .end = kT0 + absl::Hours(1)}, std::nullopt, now, 0.3);
  EXPECT_EQ(Find(t, "a.example.com", now).state, NameState::kQueued);
  EXPECT_EQ(t.NextOrder(now), "a.example.com");
  EXPECT_EQ(t.NextWakeup(now), now);
  EXPECT_EQ(t.NextRenewalInfoFetch(now), std::nullopt);  // only issued names are asked about
  // The new certificate (another identifier) replaces the old one; its renewal info is asked for.
  t.OnOrderStarted("a.example.com");
  KnownCertificate renewed = AriCert(now, absl::Hours(90 * 24));
  renewed.cert_id = "aki.serial2";
  t.OnIssued("a.example.com", renewed);
  EXPECT_EQ(Find(t, "a.example.com", now).renew_at, now + absl::Hours(60 * 24));
  EXPECT_EQ(t.NextRenewalInfoFetch(now), "aki.serial2");
}

TEST(AcmeScheduleAriTest, FetchErrorsKeepTheTwoThirdsRuleAndRetryLater) {
  NameTracker t({}, {});
  t.SetWanted({{"a.example.com", "app:a"}});
  t.SetCertificates({AriCert(kT0, absl::Hours(90 * 24))});
  t.OnRenewalInfo("aki.serial", absl::UnavailableError("renewalInfo https://ca.test/ari/x: HTTP 500"), std::nullopt,
                  kT0, 0.5);
  NameStatus s = Find(t, "a.example.com", kT0);
  EXPECT_EQ(s.state, NameState::kIssued);
  EXPECT_EQ(s.renew_at, kT0 + absl::Hours(60 * 24));
  EXPECT_EQ(s.detail, "");
  EXPECT_EQ(t.ReplacesFor("a.example.com"), "");
  EXPECT_EQ(t.NextRenewalInfoFetch(kT0 + absl::Minutes(59)), std::nullopt);
  EXPECT_EQ(t.NextRenewalInfoFetch(kT0 + absl::Hours(1)), "aki.serial");  // error_retry
}

TEST(AcmeScheduleAriTest, NoRenewalInfoWithoutTheCasSupportOrAnIdentifier) {
  NameTracker t({}, {});
  t.SetWanted({{"a.example.com", "app:a"}, {"b.example.com", "app:b"}});
  t.SetCertificates({AriCert(kT0, absl::Hours(90 * 24)), Cert({"b.example.com"}, kT0, absl::Hours(90 * 24))});
  EXPECT_EQ(t.NextRenewalInfoFetch(kT0), "aki.serial");  // b has no identifier: never asked
  t.SetRenewalInfoAvailable(false);
  EXPECT_EQ(t.NextRenewalInfoFetch(kT0), std::nullopt);
  EXPECT_EQ(t.NextWakeup(kT0), kT0 + absl::Hours(60 * 24));
}

}  // namespace
}  // namespace edgerouter::acme

namespace edgerouter::acme {
namespace {

std::vector<std::string> Lines(const std::vector<NameStatus>& states) {
  std::vector<std::string> out;
  for (const NameStatus& s : states) {
    std::string sources;
    for (const std::string& source : s.sources) sources += source + ",";
    out.push_back(absl::StrCat(s.name, " ", sources, " ", NameStateName(s.state), " ", absl::FormatTime(s.renew_at), " ",
                               absl::FormatTime(s.retry_at), " ", s.cert_id, " ", s.failures, " ", s.detail));
  }
  return out;
}

// What NextOrder should say, worked out from the states alone.
std::optional<std::string> ExpectedOrder(const std::vector<NameStatus>& states, absl::Time now) {
  std::optional<std::string> fresh;
  std::optional<std::pair<absl::Time, std::string>> renewal;
  for (const NameStatus& s : states) {
    const bool due = s.state == NameState::kQueued || (s.state == NameState::kFailing && now >= s.retry_at);
    if (!due) continue;
    if (s.not_after == absl::InfinitePast()) {
      if (!fresh || s.name < *fresh) fresh = s.name;
      continue;
    }
    const absl::Time at = s.state == NameState::kFailing ? std::max(s.renew_at, s.retry_at) : s.renew_at;
    if (!renewal || std::make_pair(at, s.name) < *renewal) renewal = std::make_pair(at, s.name);
  }
  if (fresh) return fresh;
  if (renewal) return renewal->second;
  return std::nullopt;
}

// Random changes applied one at a time end where the same state given all at once does; and
// NextOrder agrees with the states it reports.
TEST(AcmeScheduleTest, ChangesOneByOneEqualTheWholeState) {
  std::mt19937 random(13);
  auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  const std::vector<std::string> domains = {"*.a.test", "*.b.test", "n1.a.test", "n2.a.test", "n3.b.test", "x.n1.a.test"};
  NameTracker step({.backoff_initial = absl::Hours(1)}, {"n9.*"});
  NameTracker whole({.backoff_initial = absl::Hours(1)}, {"n9.*"});
  std::vector<NameRequest> requests;
  std::map<std::string, KnownCertificate> certs;
  std::vector<std::string> in_flight;
  absl::Time now = kT0;
  size_t seen[6] = {}, renewal_infos = 0;  // what the walk went through
  std::map<std::string, absl::Time> next_fetch;  // by cert_id
  for (int i = 0; i < 3000; ++i) {
    now += absl::Minutes(pick(600));
    switch (pick(8)) {
      case 0:
      case 1: {
        const std::string host = pick(6) == 0 ? "x.n1.a.test" : absl::StrCat("N", pick(10), pick(2) ? ".a.test" : ".b.test");
        NameRequest r{host, absl::StrCat("s", pick(3)), pick(10) == 0};
        step.UpdateWanted({}, {r});
        requests.push_back(r);
        break;
      }
      case 2:
        if (!requests.empty()) {
          const size_t at = static_cast<size_t>(pick(static_cast<int>(requests.size())));
          step.UpdateWanted({requests[at]}, {});
          requests.erase(requests.begin() + static_cast<long>(at));
        }
        break;
      case 3: {
        const std::string key = absl::StrCat("k", pick(6));
        if (pick(3) == 0) {
          step.RemoveCertificate(key);
          certs.erase(key);
          break;
        }
        // Distinct lifetimes: no two certificates tie for the best cover.
        KnownCertificate c = Cert({domains[pick(6)], domains[pick(6)]}, now - absl::Hours(pick(2000)),
                                  absl::Hours(24 * 90) + absl::Seconds(i));
        c.cert_id = pick(2) ? absl::StrCat("id", i) : "";
        step.PutCertificate(key, c);
        certs[key] = c;
        break;
      }
      case 4:
        if (std::optional<std::string> name = step.NextOrder(now)) {
          step.OnOrderStarted(*name);
          whole.OnOrderStarted(*name);
          in_flight.push_back(*name);
        }
        break;
      case 5:
        if (!in_flight.empty()) {
          const std::string name = in_flight.back();
          in_flight.pop_back();
          if (pick(2)) {
            step.OnFailed(name, absl::UnavailableError(absl::StrCat("down ", i)), now);
            whole.OnFailed(name, absl::UnavailableError(absl::StrCat("down ", i)), now);
          } else {
            KnownCertificate c = Cert({name}, now, absl::Hours(24 * 90) + absl::Seconds(i));
            c.cert_id = absl::StrCat("issued", i);
            step.OnIssued(name, c);
            whole.OnIssued(name, c);
          }
        }
        break;
      case 6:
        if (std::optional<std::string> id = step.NextRenewalInfoFetch(now)) {
          const RenewalWindow w{.start = now + absl::Hours(pick(2000)), .end = now + absl::Hours(2000 + pick(100))};
          const double uniform = pick(100) / 100.0;
          step.OnRenewalInfo(*id, w, std::nullopt, now, uniform);
          ++renewal_infos;
          next_fetch[*id] = now + RenewalInfoPollDelay(RenewalInfoPolicy{}, false, std::nullopt);
          whole.OnRenewalInfo(*id, w, std::nullopt, now, uniform);
        }
        break;
      default: break;
    }
    whole.SetWanted(requests);
    std::vector<KnownCertificate> all;
    for (const auto& [key, c] : certs) all.push_back(c);
    whole.SetCertificates(all);
    const std::vector<NameStatus> states = step.States(now);
    ASSERT_EQ(Lines(states), Lines(whole.States(now))) << "step " << i;
    ASSERT_EQ(step.NextOrder(now), whole.NextOrder(now)) << "step " << i;
    ASSERT_EQ(step.NextOrder(now), ExpectedOrder(states, now)) << "step " << i;
    ASSERT_EQ(step.NextWakeup(now), whole.NextWakeup(now)) << "step " << i;
    ASSERT_EQ(step.NextRenewalInfoFetch(now), whole.NextRenewalInfoFetch(now)) << "step " << i;
    absl::Time wakeup = absl::InfiniteFuture();
    for (const NameStatus& s : states) {
      if (s.state == NameState::kQueued) wakeup = now;
      if (s.state == NameState::kFailing) wakeup = std::min(wakeup, std::max(now, s.retry_at));
      if (s.state != NameState::kIssued) continue;
      wakeup = std::min(wakeup, s.renew_at);
      auto f = next_fetch.find(s.cert_id);
      if (!s.cert_id.empty()) wakeup = std::min(wakeup, f == next_fetch.end() ? now : std::max(now, f->second));
    }
    ASSERT_EQ(step.NextWakeup(now), wakeup) << "step " << i;
    // Renewal info is asked for the certificate of an issued name, when never or long enough ago.
    auto fetch_due = [&](const NameStatus& s) {
      auto f = next_fetch.find(s.cert_id);
      return s.state == NameState::kIssued && !s.cert_id.empty() && (f == next_fetch.end() || f->second <= now);
    };
    if (std::optional<std::string> id = step.NextRenewalInfoFetch(now)) {
      EXPECT_TRUE(std::any_of(states.begin(), states.end(), [&](const NameStatus& s) { return s.cert_id == *id && fetch_due(s); }))
          << "step " << i << ": " << *id;
    } else {
      EXPECT_FALSE(std::any_of(states.begin(), states.end(), fetch_due)) << "step " << i;
    }
    const NameTracker::Summary summary = step.Summarize(now);
    for (NameState s : {NameState::kQueued, NameState::kPending, NameState::kIssued, NameState::kFailing,
                        NameState::kExcluded, NameState::kSkipped}) {
      ASSERT_EQ(summary.by_state[static_cast<int>(s)],
                std::count_if(states.begin(), states.end(), [&](const NameStatus& x) { return x.state == s; }))
          << "step " << i;
      seen[static_cast<int>(s)] += summary.by_state[static_cast<int>(s)];
    }
  }
  for (size_t n : seen) EXPECT_GT(n, 0u);
  EXPECT_GT(renewal_infos, 0u);
}

}  // namespace
}  // namespace edgerouter::acme
