// EtcdLease on a real 3-member etcd: one holder at a time; a killed holder's lease expires and
// another process takes over.
#include "controlplane/eventlog/etcd/etcd_lease.h"

#include <signal.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/test_util.h"
#include "controlplane/eventlog/etcd/test/etcd_cluster.h"
#include "gtest/gtest.h"

namespace edgerouter::controlplane::etcd {
namespace {

using testing::EtcdCluster;

TEST(EtcdLeaseTest, ExactlyOneHolderAndTakeoverAfterTheHolderIsKilled) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string tmpl = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/er-lease-XXXXXX");
  const std::string dir = mkdtemp(tmpl.data());
  auto cluster = EtcdCluster::Start(dir);
  ASSERT_TRUE(cluster.ok()) << cluster.status();

  const int ttl_s = 2;
  auto holder = Subprocess::Start({testing::RunfilePath("controlplane/eventlog/etcd/lease_holder"),
                                   (*cluster)->endpoints(), "/er-test", "acme", "replica-a",
                                   std::to_string(ttl_s)});
  ASSERT_TRUE(holder.ok()) << holder.status();
  ASSERT_TRUE((*holder)->WaitForLine("lease held", absl::Seconds(10)).ok()) << (*holder)->Output();

  EtcdClientOptions options;
  options.endpoints = (*cluster)->endpoint_list();
  auto client = EtcdClient::Create(options);
  ASSERT_TRUE(client.ok());
  auto lease_b = std::make_unique<EtcdLease>(client->get(), "/er-test", "acme", "replica-b", absl::Seconds(ttl_s));
  EtcdLease& b = *lease_b;
  auto got = b.TryAcquire();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(*got);
  EXPECT_FALSE(b.IsHeld());
  EXPECT_EQ(*b.Holder(), "replica-a");
  // Held across several TTLs by keepalives alone.
  absl::SleepFor(absl::Seconds(ttl_s) * 1.5);  // lets keepalives (not the test) prove their worth
  EXPECT_FALSE(*b.TryAcquire());
  EXPECT_EQ(*b.Holder(), "replica-a");

  const absl::Time kill = absl::Now();
  (*holder)->Signal(SIGKILL);
  bool taken = false;
  while (!taken && absl::Now() - kill < absl::Seconds(ttl_s + 5)) {
    auto r = b.TryAcquire();
    taken = r.ok() && *r;
    if (!taken) absl::SleepFor(absl::Milliseconds(50));
  }
  const absl::Duration takeover = absl::Now() - kill;
  std::printf("lease taken over %.0f ms after the holder was killed (TTL %d s)\n",
              absl::ToDoubleMilliseconds(takeover), ttl_s);
  ASSERT_TRUE(taken);
  EXPECT_TRUE(b.IsHeld());
  EXPECT_EQ(*b.Holder(), "replica-b");
  EXPECT_LT(takeover, absl::Seconds(ttl_s + 3));

  // A holder that goes away cleanly hands over at once (revoke, no TTL wait).
  EtcdLease c(client->get(), "/er-test", "acme", "replica-c", absl::Seconds(ttl_s));
  EXPECT_FALSE(*c.TryAcquire());
  lease_b.reset();
  EXPECT_TRUE(*c.TryAcquire());
  EXPECT_EQ(*c.Holder(), "replica-c");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace edgerouter::controlplane::etcd
