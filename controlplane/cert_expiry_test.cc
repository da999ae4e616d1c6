#include "controlplane/cert_expiry.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace edgerouter::controlplane {
namespace {

ResourcePtr Cert(const std::string& id, const std::string& expires) {
  events::v1::CertificateObtained c;
  c.set_id(id);
  c.add_domains(id + ".example.test");
  c.set_expires(expires);
  return PrepareCertificate(c);
}

std::shared_ptr<const BuiltSnapshot> Build(std::vector<ResourcePtr> certs) {
  return BuildSnapshot({}, certs);
}

TEST(CertExpiryTest, ExpiredCertificatesStayAndAreCounted) {
  metrics::MetricsRegistry registry;
  CertExpiryReporter reporter(&registry);
  auto snap = Build({Cert("a-old", "2020-05-16T11:32:15Z"), Cert("b-new", "2999-01-01T00:00:00Z"),
                     Cert("c-bad", "soon")});
  std::vector<CertExpiry> all = CertificateExpiries(*snap);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].id, "a-old");
  EXPECT_TRUE(all[0].parsed);
  EXPECT_FALSE(all[2].parsed);
  // Reporting does not drop anything from the snapshot.
  EXPECT_NE(snap->Find("cert/a-old"), nullptr);

  reporter.OnSnapshot(snap);
  std::string text = registry.Render();
  EXPECT_TRUE(absl::StrContains(text, "er_cp_certificates_expired 1\n")) << text;
  EXPECT_TRUE(absl::StrContains(
      text, "er_cp_certificate_expiry_timestamp_seconds{id=\"a-old\"} 1589628735\n"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "{id=\"b-new\"}")) << text;
  EXPECT_FALSE(absl::StrContains(text, "c-bad")) << text;

  // A removed certificate leaves the metrics too.
  reporter.OnSnapshot(Build({Cert("b-new", "2999-01-01T00:00:00Z")}));
  text = registry.Render();
  EXPECT_TRUE(absl::StrContains(text, "er_cp_certificates_expired 0\n")) << text;
  EXPECT_FALSE(absl::StrContains(text, "a-old")) << text;

  // A renewed certificate (same id, new expiry) moves its metric; an unreadable one leaves it.
  reporter.OnSnapshot(Build({Cert("b-new", "2001-09-09T01:46:40Z"), Cert("d-bad", "later")}));
  text = registry.Render();
  EXPECT_TRUE(absl::StrContains(text, "er_cp_certificate_expiry_timestamp_seconds{id=\"b-new\"} 1000000000\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "er_cp_certificates_expired 1\n")) << text;
  reporter.OnSnapshot(Build({Cert("b-new", "later")}));
  text = registry.Render();
  EXPECT_FALSE(absl::StrContains(text, "b-new")) << text;
  EXPECT_TRUE(absl::StrContains(text, "er_cp_certificates_expired 0\n")) << text;
}

}  // namespace
}  // namespace edgerouter::controlplane
