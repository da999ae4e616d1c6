#include "controlplane/acme/acme_flags.h"

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "gtest/gtest.h"

ABSL_DECLARE_FLAG(std::string, acme_directory);
ABSL_DECLARE_FLAG(std::string, acme_kek_public);
ABSL_DECLARE_FLAG(std::string, acme_renewal_info_url);

namespace edgerouter::acme {
namespace {

TEST(AcmeFlagsTest, RenewalInfoOverrideReachesTheClientAndMustBeHttps) {
  absl::SetFlag(&FLAGS_acme_directory, "https://127.0.0.1:14000/dir");
  absl::SetFlag(&FLAGS_acme_kek_public, "/tmp/kek.pub");
  absl::StatusOr<std::optional<AcmeServiceOptions>> o = AcmeOptionsFromFlags("1");
  ASSERT_TRUE(o.ok() && o->has_value()) << o.status();
  EXPECT_EQ((*o)->issuer.client.renewal_info_url, "");  // default: only the directory's renewalInfo
  absl::SetFlag(&FLAGS_acme_renewal_info_url, "https://127.0.0.1:9/ari");
  o = AcmeOptionsFromFlags("1");
  ASSERT_TRUE(o.ok() && o->has_value()) << o.status();
  EXPECT_EQ((*o)->issuer.client.renewal_info_url, "https://127.0.0.1:9/ari");
  absl::SetFlag(&FLAGS_acme_renewal_info_url, "http://127.0.0.1:9/ari");
  o = AcmeOptionsFromFlags("1");
  EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(o.status().message(), "--acme_renewal_info_url=http://127.0.0.1:9/ari: must be an https:// URL");
}

}  // namespace
}  // namespace edgerouter::acme
