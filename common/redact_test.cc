#include "common/redact.h"

#include "gtest/gtest.h"
#include "proto/events.pb.h"
#include "proto/snapshot.pb.h"

namespace edgerouter {
namespace {

// Every field of the schema marked secret, and the marks themselves: a new credential field
// without its mark would leak through every dump.
TEST(RedactSecrets, KnowsEverySecretFieldOfTheSchema) {
  auto secret = [](const google::protobuf::Descriptor* d, const char* name) {
    const google::protobuf::FieldDescriptor* f = d->FindFieldByName(name);
    return f != nullptr && f->options().GetExtension(edgerouter::secret);
  };
  EXPECT_TRUE(secret(config::v1::AuthV0Opts::descriptor(), "bearer_token"));
  EXPECT_TRUE(secret(snapshot::v1::Certificate::descriptor(), "private_key_ciphertext"));
  EXPECT_TRUE(secret(events::v1::CertificateObtained::descriptor(), "private_key_ciphertext"));
  EXPECT_FALSE(secret(config::v1::AuthSsoOpts::descriptor(), "audience"));
}

TEST(RedactSecrets, RedactsNestedAuthAndCertificates) {
  snapshot::v1::Snapshot s;
  s.set_version("v1");
  config::v1::Application* app = s.add_resources()->mutable_app();
  app->set_id("a");
  config::v1::AuthV0Opts* outer = app->mutable_backend()->mutable_auth_v0_opts();
  outer->set_bearer_token("outer-token");
  config::v1::AuthV0Opts* inner = outer->mutable_authorized_backend()->mutable_auth_v0_opts();
  inner->set_bearer_token("inner-token");
  inner->mutable_authorized_backend()->set_kind("prom_metrics");
  snapshot::v1::Certificate* cert = s.add_resources()->mutable_certificate();
  cert->set_id("c");
  cert->set_private_key_ciphertext("ciphertext");
  cert->set_cert_pem_bundle("-----BEGIN CERTIFICATE-----");

  snapshot::v1::Snapshot kept = s;
  EXPECT_EQ(RedactSecrets(&kept, /*keep_bytes=*/true), 2);  // the tokens, not the ciphertext
  EXPECT_EQ(kept.resources(1).certificate().private_key_ciphertext(), "ciphertext");
  EXPECT_EQ(kept.resources(0).app().backend().auth_v0_opts().bearer_token(), kRedacted);

  EXPECT_EQ(RedactSecrets(&s), 3);
  const std::string dump = s.DebugString();
  for (const char* gone : {"outer-token", "inner-token", "ciphertext\""}) {
    EXPECT_EQ(dump.find(gone), std::string::npos) << gone << " in " << dump;
  }
  EXPECT_EQ(outer->bearer_token(), kRedacted);
  EXPECT_EQ(inner->bearer_token(), kRedacted);
  EXPECT_TRUE(cert->private_key_ciphertext().empty());
  EXPECT_EQ(cert->cert_pem_bundle(), "-----BEGIN CERTIFICATE-----");  // public parts stay
  EXPECT_EQ(app->id(), "a");
}

TEST(RedactSecrets, LeavesMessagesWithoutSecretsAlone) {
  config::v1::Application app;
  app.set_id("x");
  app.mutable_backend()->mutable_auth_v0_opts();  // set, but the token is empty: nothing to hide
  const std::string before = app.SerializeAsString();
  EXPECT_EQ(RedactSecrets(&app), 0);
  EXPECT_EQ(app.SerializeAsString(), before);
}

}  // namespace
}  // namespace edgerouter
