// DynamoLease against a real dynalite: two holders, one lease.
#include "controlplane/eventlog/eventhorizon/lease.h"

#include "controlplane/eventlog/eventhorizon/store.h"
#include "gtest/gtest.h"
#include "testenv/dynamodb/dynalite.h"

namespace edgerouter::eventhorizon {
namespace {

TEST(DynamoLease, OneHolderAtATimeExpiryAndRelease) {
  auto dynalite = testing::Dynalite::Start();
  ASSERT_TRUE(dynalite.ok()) << dynalite.status();
  DynamoDbClientOptions options;
  options.region = "us-east-1";
  options.credentials = {"ak", "sk", ""};
  options.endpoints.dynamodb = (*dynalite)->endpoint();
  DynamoDbClient client(options);
  Store store(&client, "dev_eh_events");
  ASSERT_TRUE(store.CreateTable().ok());

  const absl::Duration ttl = absl::Seconds(2);
  DynamoLease a(&client, "dev_eh_events", "acme-issuer", "replica-a", ttl, absl::Milliseconds(200));
  DynamoLease b(&client, "dev_eh_events", "acme-issuer", "replica-b", ttl, absl::Milliseconds(200));
  ASSERT_EQ(a.TryAcquire().value_or(false), true);
  EXPECT_TRUE(a.IsHeld());
  EXPECT_EQ(b.TryAcquire().value_or(true), false);
  EXPECT_FALSE(b.IsHeld());
  EXPECT_EQ(b.Holder().value_or(""), "replica-a");
  EXPECT_EQ(a.TryAcquire().value_or(false), true);  // renewal

  // A stops renewing: its own deadline runs out before the item expires for B.
  const absl::Time renewed = absl::Now();
  while (a.IsHeld()) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_LT(absl::Now() - renewed, ttl);
  bool b_won = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!b_won && absl::Now() < deadline) {
    b_won = b.TryAcquire().value_or(false);
    if (!b_won) absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(b_won);
  EXPECT_GE(absl::Now() - renewed, ttl - absl::Milliseconds(50)) << "not before A's item expired";
  EXPECT_EQ(a.TryAcquire().value_or(true), false);
  EXPECT_EQ(a.Holder().value_or(""), "replica-b");

  // A release by the non-holder changes nothing; the holder's frees the lease at once.
  ASSERT_TRUE(a.Release().ok());
  EXPECT_EQ(a.TryAcquire().value_or(true), false);
  ASSERT_TRUE(b.Release().ok());
  EXPECT_FALSE(b.IsHeld());
  EXPECT_EQ(a.Holder().value_or("x"), "");
  EXPECT_EQ(a.TryAcquire().value_or(false), true);
}

}  // namespace
}  // namespace edgerouter::eventhorizon
