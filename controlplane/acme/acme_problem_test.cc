#include "controlplane/acme/acme_problem.h"

#include "gtest/gtest.h"

namespace edgerouter::acme {
namespace {

TEST(AcmeProblemTest, RateLimitedKeepsTypeAndRetryAfter) {
  std::optional<AcmeProblem> p = ParseProblem(nlohmann::json::parse(R"({
    "type": "urn:ietf:params:acme:error:rateLimited",
    "detail": "too many certificates already issued for example.test",
    "status": 429})"));
  ASSERT_TRUE(p.has_value());
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  absl::Status s = ProblemStatus("newOrder for a.example.test at https://ca.test/new-order", *p, 429,
                                 ParseRetryAfter("120", now));
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(IsRateLimited(s));
  EXPECT_EQ(ProblemType(s), "urn:ietf:params:acme:error:rateLimited");
  ASSERT_TRUE(RetryAfter(s).has_value());
  EXPECT_EQ(*RetryAfter(s), absl::Seconds(120));
  EXPECT_EQ(s.message(),
            "newOrder for a.example.test at https://ca.test/new-order: "
            "urn:ietf:params:acme:error:rateLimited: too many certificates already issued for "
            "example.test (HTTP 429); retry after 2m");
}

TEST(AcmeProblemTest, SubproblemsNameTheirIdentifier) {
  std::optional<AcmeProblem> p = ParseProblem(nlohmann::json::parse(R"({
    "type": "urn:ietf:params:acme:error:malformed", "detail": "Some identifiers were rejected",
    "subproblems": [{"type": "urn:ietf:params:acme:error:rejectedIdentifier",
                     "detail": "forbidden name", "identifier": {"type": "dns", "value": "bad.test"}}]})"));
  ASSERT_TRUE(p.has_value());
  absl::Status s = ProblemStatus("newOrder", *p, 400, std::nullopt);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(IsRateLimited(s));
  EXPECT_FALSE(RetryAfter(s).has_value());
  EXPECT_EQ(s.message(),
            "newOrder: urn:ietf:params:acme:error:malformed: Some identifiers were rejected; "
            "subproblems: [dns:bad.test] urn:ietf:params:acme:error:rejectedIdentifier: forbidden "
            "name (HTTP 400)");
}

TEST(AcmeProblemTest, CodesFollowTheType) {
  auto code = [](const char* type, long http) {
    return ProblemStatus("x", AcmeProblem{.type = type}, http, std::nullopt).code();
  };
  EXPECT_EQ(code("urn:ietf:params:acme:error:badNonce", 400), absl::StatusCode::kAborted);
  EXPECT_EQ(code("urn:ietf:params:acme:error:accountDoesNotExist", 400), absl::StatusCode::kNotFound);
  EXPECT_EQ(code("urn:ietf:params:acme:error:connection", 0), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(code("urn:ietf:params:acme:error:agreementRequired", 403), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(code("urn:ietf:params:acme:error:serverInternal", 500), absl::StatusCode::kUnavailable);
  EXPECT_EQ(code("about:blank", 503), absl::StatusCode::kUnavailable);
}

TEST(AcmeProblemTest, RetryAfterForms) {
  const absl::Time now = absl::FromUnixSeconds(1445412480);  // Wed, 21 Oct 2015 07:28:00 GMT
  EXPECT_EQ(ParseRetryAfter("0", now), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter(" 30 ", now), absl::Seconds(30));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:29:00 GMT", now), absl::Seconds(60));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:00:00 GMT", now), absl::ZeroDuration());
  EXPECT_FALSE(ParseRetryAfter("", now).has_value());
  EXPECT_FALSE(ParseRetryAfter("-5", now).has_value());
  EXPECT_FALSE(ParseRetryAfter("soon", now).has_value());
}

TEST(AcmeProblemTest, NotAProblem) {
  EXPECT_FALSE(ParseProblem(nlohmann::json::parse(R"({"status":"valid"})")).has_value());
  EXPECT_FALSE(ParseProblem(nlohmann::json::parse("[1]")).has_value());
}

}  // namespace
}  // namespace edgerouter::acme
