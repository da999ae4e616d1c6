#include "dataplane/turbocharger/attachment.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace edgerouter::turbocharger {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

TEST(ParseAdvertisement, PrefixFirstThenId) {
  absl::StatusOr<Advertisement> ad = ParseAdvertisement("/static U4P2kMtkWVNyfZaLCDBXLJ4NptZowSmcJOMxHcZA72c");
  ASSERT_TRUE(ad.ok()) << ad.status();
  EXPECT_EQ(ad->prefix, "/static");
  EXPECT_EQ(ad->manifest_id, "U4P2kMtkWVNyfZaLCDBXLJ4NptZowSmcJOMxHcZA72c");
}

TEST(ParseAdvertisement, RejectsMalformed) {
  EXPECT_FALSE(ParseAdvertisement("/static").ok());  // edgerouter panics here
  EXPECT_FALSE(ParseAdvertisement("").ok());
  EXPECT_FALSE(ParseAdvertisement("static id").ok());
  EXPECT_FALSE(ParseAdvertisement("/static a b").ok());
}

TEST(Attachment, AttachesOnAdvertisementAndServesUnderPrefix) {
  Attachment a;
  EXPECT_FALSE(a.Lookup("/static/app.js", kT0).has_value());
  EXPECT_FALSE(a.OnProxiedResponse(404, "/static m1", kT0));  // only a 200 attaches
  EXPECT_FALSE(a.OnProxiedResponse(200, std::nullopt, kT0));
  EXPECT_FALSE(a.OnProxiedResponse(200, "garbage", kT0));
  EXPECT_TRUE(a.OnProxiedResponse(200, "/static m1", kT0));
  std::optional<Attachment::Match> m = a.Lookup("/static/app.js", kT0 + absl::Seconds(1));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->manifest_id, "m1");
  EXPECT_EQ(m->path, "/app.js");
  EXPECT_FALSE(m->revalidate);
  EXPECT_FALSE(a.Lookup("/api/x", kT0).has_value());
  // A raw string prefix, as edgerouter.
  m = a.Lookup("/staticfoo", kT0);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->path, "/foo");
  EXPECT_EQ(a.Lookup("/static", kT0)->path, "/");
}

TEST(Attachment, TrustWindowThenOneRevalidation) {
  Attachment a;
  ASSERT_TRUE(a.OnProxiedResponse(200, "/static m1", kT0));
  EXPECT_FALSE(a.Lookup("/static/x", kT0 + absl::Milliseconds(4999))->revalidate);
  std::optional<Attachment::Match> m = a.Lookup("/static/x", kT0 + absl::Seconds(5));
  ASSERT_TRUE(m.has_value());  // still served from the old manifest
  EXPECT_TRUE(m->revalidate);
  EXPECT_TRUE(a.revalidating());
  EXPECT_FALSE(a.Lookup("/static/x", kT0 + absl::Seconds(6))->revalidate);  // exactly one at a time
  // 200 with the same header: trusted for another 5 s, no change reported.
  EXPECT_FALSE(a.OnRevalidation(200, "/static m1", kT0 + absl::Seconds(6)));
  EXPECT_FALSE(a.Lookup("/static/x", kT0 + absl::Seconds(10))->revalidate);
  EXPECT_TRUE(a.Lookup("/static/x", kT0 + absl::Seconds(11))->revalidate);
  // A new deploy: re-attached to the new manifest.
  EXPECT_TRUE(a.OnRevalidation(200, "/static m2", kT0 + absl::Seconds(11)));
  EXPECT_EQ(a.Lookup("/static/x", kT0 + absl::Seconds(12))->manifest_id, "m2");
}

TEST(Attachment, RevalidationDetachesOnNon200MissingOrBadHeader) {
  for (auto [status, header] : std::vector<std::pair<int, std::optional<absl::string_view>>>{
           {500, "/static m1"}, {404, std::nullopt}, {200, std::nullopt}, {200, "/static"}, {0, std::nullopt}}) {
    Attachment a;
    ASSERT_TRUE(a.OnProxiedResponse(200, "/static m1", kT0));
    ASSERT_TRUE(a.Lookup("/static/x", kT0 + absl::Seconds(5))->revalidate);
    EXPECT_TRUE(a.OnRevalidation(status, header, kT0 + absl::Seconds(5))) << status;
    EXPECT_FALSE(a.attached());
    EXPECT_FALSE(a.Lookup("/static/x", kT0 + absl::Seconds(5)).has_value());
    // The next advertisement attaches again.
    EXPECT_TRUE(a.OnProxiedResponse(200, "/static m1", kT0 + absl::Seconds(6)));
  }
}

TEST(Attachment, ConflictingAdvertisementDetaches) {
  Attachment a;
  ASSERT_TRUE(a.OnProxiedResponse(200, "/static m1", kT0));
  EXPECT_FALSE(a.OnProxiedResponse(200, std::nullopt, kT0));  // other routes carry no header
  EXPECT_TRUE(a.attached());
  EXPECT_FALSE(a.OnProxiedResponse(200, "/static m1", kT0));  // agreement keeps it
  EXPECT_TRUE(a.OnProxiedResponse(200, "/static m2", kT0));   // a replica on another version
  EXPECT_FALSE(a.attached());
  Attachment b;
  ASSERT_TRUE(b.OnProxiedResponse(200, "/static m1", kT0));
  EXPECT_TRUE(b.OnProxiedResponse(200, "/assets m1", kT0));
  EXPECT_FALSE(b.attached());
}

TEST(Attachment, ProxiedAgreementRenewsTrust) {
  Attachment a;
  ASSERT_TRUE(a.OnProxiedResponse(200, "/static m1", kT0));
  a.OnProxiedResponse(200, "/static m1", kT0 + absl::Seconds(4));
  EXPECT_FALSE(a.Lookup("/static/x", kT0 + absl::Seconds(8))->revalidate);
  EXPECT_TRUE(a.Lookup("/static/x", kT0 + absl::Seconds(9))->revalidate);
}

TEST(Attachment, OneRevalidationInFlightUntilAnsweredOrLost) {
  Attachment a(absl::Seconds(1));  // a short trust does not start a second HEAD beside a slow one
  ASSERT_TRUE(a.OnProxiedResponse(200, "/static m1", kT0));
  EXPECT_TRUE(a.Lookup("/static/x", kT0 + absl::Seconds(1))->revalidate);
  EXPECT_FALSE(a.Lookup("/static/x", kT0 + absl::Seconds(30))->revalidate);
  const absl::Time lost = kT0 + absl::Seconds(1) + Attachment::kLostRevalidation;
  EXPECT_FALSE(a.Lookup("/static/x", lost - absl::Milliseconds(1))->revalidate);
  EXPECT_TRUE(a.Lookup("/static/x", lost)->revalidate);
}

TEST(SharedAttachment, ProxiedResponsesAttachAndTheHeadAnswerRevalidates) {
  SharedAttachment s;
  EXPECT_FALSE(s.attached());
  EXPECT_FALSE(s.Lookup("/static/app.js", kT0).has_value());  // never attached: no lock, no match
  EXPECT_TRUE(s.OnOriginResponse("/static/app.js", 200, "/static m1", kT0));  // attaches
  EXPECT_TRUE(s.attached());
  EXPECT_FALSE(s.OnOriginResponse("/api/x", 200, std::nullopt, kT0));        // other routes: no change
  // A response under the prefix without the header (one that raced the attachment) is no verdict.
  EXPECT_FALSE(s.OnOriginResponse("/static/app.js", 200, std::nullopt, kT0 + absl::Seconds(5)));
  // After the window the request is still served, with one HEAD asked for: its answer decides.
  std::optional<Attachment::Match> m = s.Lookup("/static/app.js", kT0 + absl::Seconds(5));
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(m->revalidate);
  EXPECT_EQ(m->prefix, "/static");
  EXPECT_EQ(m->path, "/app.js");
  EXPECT_FALSE(s.Lookup("/static/app.js", kT0 + absl::Seconds(6))->revalidate);  // one in flight
  EXPECT_FALSE(s.OnRevalidation(200, "/static m1", kT0 + absl::Seconds(6)));     // same: renewed
  EXPECT_FALSE(s.Lookup("/static/app.js", kT0 + absl::Milliseconds(10999))->revalidate);
  EXPECT_TRUE(s.Lookup("/static/app.js", kT0 + absl::Seconds(11))->revalidate);
  EXPECT_TRUE(s.OnRevalidation(200, "/static m2", kT0 + absl::Seconds(11)));  // a deploy: reloaded
  EXPECT_EQ(s.current()->manifest_id, "m2");
  ASSERT_TRUE(s.Lookup("/static/app.js", kT0 + absl::Seconds(16))->revalidate);
  EXPECT_TRUE(s.OnRevalidation(0, std::nullopt, kT0 + absl::Seconds(16)));  // unreachable: detached
  EXPECT_FALSE(s.current().has_value());
  EXPECT_FALSE(s.attached());
}

TEST(SharedAttachment, TrustWindowIsAConstructorParameter) {
  SharedAttachment s(absl::Seconds(1));
  ASSERT_TRUE(s.OnOriginResponse("/s/x", 200, "/s m1", kT0));
  EXPECT_FALSE(s.Lookup("/s/x", kT0 + absl::Milliseconds(999))->revalidate);
  EXPECT_TRUE(s.Lookup("/s/x", kT0 + absl::Seconds(1))->revalidate);
}

// Requests read the published state without the lock while responses and re-validations change
// it: every match a reader gets pairs a prefix with its own manifest, and once the writer has
// detached for good no reader matches any more.
TEST(SharedAttachment, ConcurrentLookupsSeeOnlyWholeAdvertisements) {
  SharedAttachment s(absl::Milliseconds(1));
  std::atomic<bool> stop{false};
  std::atomic<int> matches{0}, mismatches{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&, r] {
      const std::string path = r % 2 == 0 ? "/a/x" : "/b/x";
      while (!stop.load()) {
        std::optional<Attachment::Match> m = s.Lookup(path, absl::Now());
        if (!m.has_value()) continue;
        ++matches;
        if (m->manifest_id != "m" + m->prefix.substr(1) || !absl::StartsWith(path, m->prefix)) ++mismatches;
        if (m->revalidate) s.OnRevalidation(200, absl::StrCat(m->prefix, " m", m->prefix.substr(1)), absl::Now());
      }
    });
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  for (int i = 0; matches.load() < 5000 && absl::Now() < deadline; ++i) {
    const std::string ad = i % 2 == 0 ? "/a ma" : "/b mb";
    s.OnOriginResponse("/", 200, ad, absl::Now());        // attach (or renew)
    s.OnOriginResponse("/", 200, "/c mc", absl::Now());   // conflicting advertisement: detach
  }
  s.OnOriginResponse("/", 200, "/a ma", absl::Now());
  s.OnRevalidation(404, std::nullopt, absl::Now());        // detached for good
  EXPECT_FALSE(s.Lookup("/a/x", absl::Now()).has_value());
  stop = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_GE(matches.load(), 5000);
}

}  // namespace
}  // namespace edgerouter::turbocharger
