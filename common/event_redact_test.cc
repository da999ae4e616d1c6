#include "common/event_redact.h"

#include "absl/strings/match.h"
#include "common/event_line.h"
#include "gtest/gtest.h"

namespace edgerouter {
namespace {

events::v1::Event Event(const std::string& type, const std::string& payload) {
  events::v1::Event e;
  e.set_timestamp("2026-12-06T08:00:00.000Z");
  e.set_type(type);
  e.set_payload_json(payload);
  return e;
}

TEST(EventRedactTest, AcmeAccountKeyIsRedacted) {
  events::v1::Event e = Event("AcmeAccountKeyCreated",
                              R"({"KeyPem":"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----\n"})");
  EXPECT_EQ(RedactEventSecrets(&e), 1);
  EXPECT_EQ(e.payload_json(), R"({"KeyPem":"[redacted]"})");
  EXPECT_FALSE(absl::StrContains(FormatEventLine(e), "PRIVATE KEY"));
  EXPECT_FALSE(absl::StrContains(FormatEventLine(e), "MHcCAQEEIB"));
}

TEST(EventRedactTest, NestedSecretsAreRedactedCiphertextsKept) {
  events::v1::Event app = Event("AppUpdated", R"({"Application":{"id":"a","frontends":[],"backend":{"kind":"auth_v0",)"
                                              R"("auth_v0_opts":{"bearer_token":"tok-123","authorized_backend":{"kind":"redirect"}}}}})");
  EXPECT_EQ(RedactEventSecrets(&app), 1);
  EXPECT_FALSE(absl::StrContains(app.payload_json(), "tok-123")) << app.payload_json();
  EXPECT_TRUE(absl::StrContains(app.payload_json(), R"("bearer_token":"[redacted]")")) << app.payload_json();
  // The key ciphertext (bytes) is not a plaintext secret: kept, the text untouched.
  events::v1::Event cert = Event("CertificateObtained", R"({"Id":"a.test", "PrivateKeyCiphertext":"AAECAw=="})");
  EXPECT_EQ(RedactEventSecrets(&cert), 0);
  EXPECT_EQ(cert.payload_json(), R"({"Id":"a.test", "PrivateKeyCiphertext":"AAECAw=="})");
  // A bad field elsewhere does not keep the secret in.
  events::v1::Event bad = Event("AppUpdated", R"({"Application":{"id":7,"backend":{"kind":"auth_v0",)"
                                              R"("auth_v0_opts":{"bearer_token":"tok-456"}}}})");
  EXPECT_EQ(RedactEventSecrets(&bad), 1);
  EXPECT_FALSE(absl::StrContains(bad.payload_json(), "tok-456")) << bad.payload_json();
}

TEST(EventRedactTest, EventsWithoutSecretsKeepTheirTextByteForByte) {
  for (events::v1::Event e : {Event("AcmeOrderStarted", R"({"Domain": "a.test",  "OrderUrl":"https://ca/o/1"})"),
                              Event("AcmeAccountKeyCreated", R"({"KeyPem":""})"),
                              Event("SomethingElse", R"({"KeyPem":"-----BEGIN"})"),
                              Event("AcmeAccountKeyCreated", R"(not json)"),
                              Event("AcmeAccountKeyCreated", R"({"KeyPem":7})")}) {
    const std::string before = e.payload_json();
    EXPECT_EQ(RedactEventSecrets(&e), 0) << before;
    EXPECT_EQ(e.payload_json(), before);
  }
}

}  // namespace
}  // namespace edgerouter
