// Pure parts of the client; the protocol itself is tested against pebble in test/.
#include "controlplane/acme/acme_client.h"

#include "gtest/gtest.h"

namespace edgerouter::acme {
namespace {

TEST(NextPollDelayTest, BacksOffWithoutRetryAfter) {
  const AcmeClientOptions options{.poll_interval = absl::Seconds(1), .poll_max_interval = absl::Seconds(5)};
  absl::Duration interval = options.poll_interval;
  std::vector<absl::Duration> waits;
  for (int i = 0; i < 5; ++i) waits.push_back(NextPollDelay(options, std::nullopt, &interval));
  EXPECT_EQ(waits, (std::vector<absl::Duration>{absl::Seconds(1), absl::Seconds(2), absl::Seconds(4),
                                                absl::Seconds(5), absl::Seconds(5)}));
}

TEST(NextPollDelayTest, RetryAfterWinsButNeverBelowTheInterval) {
  const AcmeClientOptions options{.poll_interval = absl::Seconds(1), .poll_max_interval = absl::Seconds(5)};
  absl::Duration interval = options.poll_interval;
  EXPECT_EQ(NextPollDelay(options, absl::Seconds(30), &interval), absl::Seconds(30));  // beyond the max
  EXPECT_EQ(NextPollDelay(options, absl::ZeroDuration(), &interval), absl::Seconds(1));
  EXPECT_EQ(interval, absl::Seconds(1));  // the CA's pace does not grow our own backoff
}

TEST(WithRetryAfterTest, ReadBack) {
  absl::Status s = WithRetryAfter(absl::DeadlineExceededError("order x: not done"), absl::Seconds(42));
  EXPECT_EQ(RetryAfter(s), absl::Seconds(42));
  EXPECT_EQ(ProblemType(s), "");
}

}  // namespace
}  // namespace edgerouter::acme
