#include "dataplane/http/field_names.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace edgerouter::http {
namespace {

TEST(ClassifyFieldName, KnowsEveryHopByHopFieldInAnyCase) {
  for (absl::string_view name : {"Connection", "keep-alive", "PROXY-CONNECTION", "Proxy-Authenticate",
                                 "proxy-authorization", "TE", "Trailer", "transfer-encoding", "Upgrade"}) {
    EXPECT_EQ(ClassifyFieldName(name), FieldName::kHopByHop) << name;
    EXPECT_TRUE(IsHopByHop(name)) << name;  // its length passes the inline pre-check
  }
  for (absl::string_view name : {"Host", "Content-Length", "X-Forwarded-For", "Server", "Connectio", ""}) {
    EXPECT_FALSE(IsHopByHop(name)) << name;
  }
}

TEST(ClassifyFieldName, KnowsTheFieldsTheProxySetsOrFilters) {
  EXPECT_EQ(ClassifyFieldName("HOST"), FieldName::kHost);
  EXPECT_EQ(ClassifyFieldName("Content-Length"), FieldName::kContentLength);
  EXPECT_EQ(ClassifyFieldName("expect"), FieldName::kExpect);
  EXPECT_EQ(ClassifyFieldName("Authorization"), FieldName::kAuthorization);
  EXPECT_EQ(ClassifyFieldName("X-Forwarded-For"), FieldName::kXForwardedFor);
  EXPECT_EQ(ClassifyFieldName("x-forwarded-proto"), FieldName::kXForwardedProto);
  EXPECT_EQ(ClassifyFieldName("X-Forwarded-Host"), FieldName::kXForwardedHost);
  EXPECT_EQ(ClassifyFieldName("X-Real-IP"), FieldName::kXRealIp);
  EXPECT_EQ(ClassifyFieldName("forwarded"), FieldName::kClientIp);
  EXPECT_EQ(ClassifyFieldName("True-Client-IP"), FieldName::kClientIp);
  EXPECT_EQ(ClassifyFieldName("CF-Connecting-IP"), FieldName::kClientIp);
}

TEST(ClassifyFieldName, LeavesLookalikesAlone) {
  // Same lengths as special names, different letters; and prefixes of special names.
  for (absl::string_view name : {"ta", "hast", "trailers", "upgrades", "connectio", "keep-alivf", "x-forwarded-fox",
                                 "content-type", "proxy-connectiom", "", "cookie", "x-request-id"}) {
    EXPECT_EQ(ClassifyFieldName(name), FieldName::kOther) << name;
  }
}

TEST(ConnectionOptions, KeepsOnlyNominatedExtraFields) {
  ConnectionOptions options;
  options.Add(" keep-alive, X-Secret ,close,,Upgrade, foo");
  options.Add("x-second-field");  // a second Connection field counts too
  EXPECT_FALSE(options.empty());
  EXPECT_TRUE(options.Nominates("x-secret"));
  EXPECT_TRUE(options.Nominates("FOO"));
  EXPECT_TRUE(options.Nominates("X-Second-Field"));
  EXPECT_FALSE(options.Nominates("close"));
  EXPECT_FALSE(options.Nominates("content-type"));
}

TEST(ConnectionOptions, NeverTheFramingOrHost) {
  ConnectionOptions options;
  options.Add("Content-Length, host, transfer-encoding");
  EXPECT_TRUE(options.empty());
  EXPECT_FALSE(options.Nominates("content-length"));
  EXPECT_FALSE(options.Nominates("Host"));
}

TEST(ConnectionOptions, UsualHeadersNominateNothing) {
  ConnectionOptions keep_alive;
  keep_alive.Add("keep-alive");
  EXPECT_TRUE(keep_alive.empty());
  ConnectionOptions close;
  close.Add("Close");
  EXPECT_TRUE(close.empty());
  EXPECT_TRUE(ConnectionOptions().empty());
}

}  // namespace
}  // namespace edgerouter::http
