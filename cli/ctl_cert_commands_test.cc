#include "cli/ctl_cert_commands.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace edgerouter::ctl {
namespace {

TEST(CertCommandsTest, ExpiryStatus) {
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  EXPECT_EQ(ExpiryStatus(now + absl::Hours(24 * 90), now), "ok");
  EXPECT_EQ(ExpiryStatus(now + absl::Hours(24 * 14), now), "ok");
  EXPECT_EQ(ExpiryStatus(now + absl::Hours(24 * 14) - absl::Seconds(1), now), "expires in 14d");
  EXPECT_EQ(ExpiryStatus(now + absl::Hours(24 * 3), now), "expires in 3d");
  EXPECT_EQ(ExpiryStatus(now + absl::Minutes(5), now), "expires in 1d");
  EXPECT_EQ(ExpiryStatus(now, now), "EXPIRED");
  EXPECT_EQ(ExpiryStatus(now - absl::Hours(1), now), "EXPIRED");
}

TEST(CertCommandsTest, CertLsTable) {
  admin::v1::GetSnapshotResponse response;
  auto add = [&](const std::string& id, const std::string& expires) {
    snapshot::v1::Certificate* c = response.mutable_snapshot()->add_resources()->mutable_certificate();
    c->set_id(id);
    c->add_domains(id + ".test");
    c->add_domains("*." + id + ".test");
    c->set_expires(expires);
  };
  response.mutable_snapshot()->add_resources()->mutable_app()->set_id("not-a-cert");
  add("a", "2026-01-01T00:00:00Z");
  add("b", "2026-01-05T12:00:00Z");
  add("c", "2020-01-01T00:00:00Z");
  add("d", "");
  const absl::Time now = absl::FromUnixSeconds(1767225600 - 3600);  // 2025-12-31T23:00:00Z
  EXPECT_EQ(FormatCertList(response, now),
            "ID  DOMAINS          EXPIRES               STATUS\n"
            "a   a.test,*.a.test  2026-01-01T00:00:00Z  expires in 1d\n"
            "b   b.test,*.b.test  2026-01-05T12:00:00Z  expires in 5d\n"
            "c   c.test,*.c.test  2020-01-01T00:00:00Z  EXPIRED\n"
            "d   d.test,*.d.test  -                     unknown expiry\n");
}

TEST(CertCommandsTest, ImportArguments) {
  Invocation inv;
  std::string error;
  EXPECT_TRUE(ParseArgs({"cert", "import", "--cert", "c.pem", "--key=k.pem", "--kek-public",
                         "kek.pub", "--id", "x"},
                        nullptr, &inv, &error))
      << error;
  EXPECT_EQ(inv.command, Command::kCertImport);
  EXPECT_EQ(inv.cert_file, "c.pem");
  EXPECT_EQ(inv.key_file, "k.pem");
  EXPECT_EQ(inv.kek_public_file, "kek.pub");
  EXPECT_EQ(inv.cert_id, "x");
  EXPECT_FALSE(ParseArgs({"cert", "import", "--cert", "c.pem"}, nullptr, &inv, &error));
  EXPECT_EQ(error, "cert import needs --cert, --key and --kek-public");
  EXPECT_FALSE(ParseArgs({"cert", "ls", "--id", "x"}, nullptr, &inv, &error));
  EXPECT_EQ(error, "cert ls does not take --cert/--key/--kek-public/--id");
  EXPECT_TRUE(ParseArgs({"cert", "ls"}, nullptr, &inv, &error));
  EXPECT_EQ(inv.command, Command::kCertLs);
}

TEST(CertCommandsTest, AcmeTableShowsStatesAndTheCasError) {
  admin::v1::ListAcmeNamesResponse off;
  EXPECT_EQ(FormatAcmeList(off), "");
  admin::v1::ListAcmeNamesResponse r;
  r.set_enabled(true);
  r.set_directory_url("https://127.0.0.1:14000/dir");
  r.set_replica_id("cp-1");
  r.set_issuer_here(true);
  auto add = [&](const std::string& name, const std::string& state, const std::string& detail) {
    admin::v1::AcmeNameStatus* n = r.add_names();
    n->set_name(name);
    n->set_state(state);
    n->set_detail(detail);
    n->add_sources("app:" + name);
    return n;
  };
  admin::v1::AcmeNameStatus* issued = add("a.test", "issued", "");
  issued->set_not_after_unix(1700000000);
  issued->set_renew_at_unix(1690000000);
  admin::v1::AcmeNameStatus* failing = add("b.test", "failing", "urn:ietf:params:acme:error:unauthorized: 404");
  failing->set_failures(2);
  failing->set_retry_at_unix(1700000600);
  add("{x}.test", "skipped", "host regexp: HTTP-01 validates exact names only");
  admin::v1::AcmeNameStatus* ari = add("c.test", "issued", "ARI window 2023-07-01T00:00:00Z to 2023-07-02T00:00:00Z");
  ari->set_not_after_unix(1700000000);
  ari->set_renew_at_unix(1688212800);
  const std::string table = FormatAcmeList(r);
  EXPECT_TRUE(absl::StrContains(table, "ACME https://127.0.0.1:14000/dir (issuer: cp-1, answering)")) << table;
  EXPECT_TRUE(absl::StrContains(table, "2023-11-14T22:13:20Z")) << table;
  EXPECT_TRUE(absl::StrContains(table, "renews 2023-07-22")) << table;
  EXPECT_TRUE(absl::StrContains(table, "2 failure(s), next attempt 2023-11-14T22:23:20Z: urn:ietf:params:acme:error:unauthorized: 404"))
      << table;
  EXPECT_TRUE(absl::StrContains(table, "skipped")) << table;
  EXPECT_TRUE(absl::StrContains(
      table, "renews 2023-07-01T12:00:00Z; ARI window 2023-07-01T00:00:00Z to 2023-07-02T00:00:00Z"))
      << table;
  EXPECT_TRUE(absl::StrContains(table, "app:b.test")) << table;
  r.set_issuer_here(false);
  r.set_issuer_holder("cp-2");
  EXPECT_TRUE(absl::StrContains(FormatAcmeList(r), "issuer: cp-2; states as cp-1 sees them")) << FormatAcmeList(r);
}

}  // namespace
}  // namespace edgerouter::ctl
