#include "common/aws/aws_request.h"

#include <cstdlib>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace edgerouter::aws {
namespace {

TEST(AwsRequest, CredentialsFileDefaultProfile) {
  absl::StatusOr<Credentials> c = ParseCredentialsFile(
      "[other]\naws_access_key_id = X\naws_secret_access_key = Y\n\n# comment\n[default]\n"
      "aws_access_key_id=AKID\n aws_secret_access_key = SECRET \naws_session_token=TOKEN\n",
      "default");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->access_key_id, "AKID");
  EXPECT_EQ(c->secret_access_key, "SECRET");
  EXPECT_EQ(c->session_token, "TOKEN");
  EXPECT_FALSE(ParseCredentialsFile("[default]\naws_access_key_id=A\n", "default").ok());
}

TEST(AwsRequest, EndpointOverrideMeansPathStyle) {
  Endpoints aws;
  Target t = S3Target(aws, "my-bucket", "eu-west-1", "sites/app/v1/a b.html");
  EXPECT_EQ(t.base, "https://my-bucket.s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(t.path, "/sites/app/v1/a%20b.html");
  Endpoints local;
  local.s3 = "http://127.0.0.1:4569";
  t = S3Target(local, "my-bucket", "eu-west-1", "sites/x/index.html");
  EXPECT_EQ(t.authority, "127.0.0.1:4569");
  EXPECT_EQ(t.path, "/my-bucket/sites/x/index.html");
  t = LambdaInvokeTarget(aws, "us-east-1", "fn:prod");
  EXPECT_EQ(t.base, "https://lambda.us-east-1.amazonaws.com");
  EXPECT_EQ(t.path, "/2015-03-31/functions/fn%3Aprod/invocations");
}

TEST(AwsRequest, EnvironmentVariables) {
  setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1/", 1);
  setenv("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:2", 1);
  unsetenv("AWS_ENDPOINT_URL_S3");
  Endpoints e = Endpoints::FromEnvironment();
  EXPECT_EQ(e.s3, "http://127.0.0.1:1");
  EXPECT_EQ(e.lambda, "http://127.0.0.1:2");
  setenv("AWS_ACCESS_KEY_ID", "K", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "S", 1);
  absl::StatusOr<Credentials> c = LoadCredentials("");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->access_key_id, "K");
}

TEST(AwsRequest, SignedS3RequestCarriesHostDateHashAndAuthorization) {
  Endpoints local;
  local.s3 = "http://127.0.0.1:4569";
  SignedRequest r = SignAwsRequest(Service::kS3, "us-east-1", "GET", S3Target(local, "b", "us-east-1", "k"),
                                   {{"Range", "bytes=0-1"}}, "", Credentials{"AK", "SK", ""},
                                   absl::FromUnixSeconds(1700000000));
  EXPECT_EQ(r.url, "http://127.0.0.1:4569/b/k");
  ASSERT_GE(r.header_lines.size(), 5u);
  EXPECT_EQ(r.header_lines[0], "Host: 127.0.0.1:4569");
  bool auth = false, hash = false;
  for (const std::string& h : r.header_lines) {
    auth |= absl::StartsWith(h, "Authorization: AWS4-HMAC-SHA256 Credential=AK/20231114/us-east-1/s3/aws4_request");
    hash |= absl::StartsWith(h, "X-Amz-Content-Sha256: e3b0c442");
  }
  EXPECT_TRUE(auth);
  EXPECT_TRUE(hash);
  EXPECT_EQ(r.header_lines.back(), "Range: bytes=0-1");
}

TEST(AwsRequest, DynamoDbTargetSignsTheTargetHeader) {
  Endpoints aws;
  Target t = DynamoDbTarget(aws, "eu-central-1");
  EXPECT_EQ(t.base, "https://dynamodb.eu-central-1.amazonaws.com");
  EXPECT_EQ(t.path, "/");
  Endpoints local;
  local.dynamodb = "http://127.0.0.1:8000";
  t = DynamoDbTarget(local, "eu-central-1");
  EXPECT_EQ(t.authority, "127.0.0.1:8000");
  SignedRequest r = SignAwsRequest(Service::kDynamoDb, "eu-central-1", "POST", t, {}, Sha256Hex("{}"),
                                   Credentials{"AK", "SK", ""}, absl::FromUnixSeconds(1700000000),
                                   {{"X-Amz-Target", "DynamoDB_20120810.Query"}});
  EXPECT_EQ(r.url, "http://127.0.0.1:8000/");
  bool auth = false, target = false;
  for (const std::string& h : r.header_lines) {
    auth |= absl::StrContains(h, "/eu-central-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target,");
    target |= h == "X-Amz-Target: DynamoDB_20120810.Query";
  }
  EXPECT_TRUE(auth);
  EXPECT_TRUE(target);
  setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:3/", 1);
  EXPECT_EQ(Endpoints::FromEnvironment().dynamodb, "http://127.0.0.1:3");
  unsetenv("AWS_ENDPOINT_URL_DYNAMODB");
}

TEST(AwsRequest, ContentTypes) {
  EXPECT_EQ(ContentTypeForPath("/a/index.HTML"), "text/html; charset=utf-8");
  EXPECT_EQ(ContentTypeForPath("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ContentTypeForPath("/x.tar.gz"), "application/gzip");
  EXPECT_EQ(ContentTypeForPath("/noext"), "application/octet-stream");
  EXPECT_EQ(ContentTypeForPath("/dir.v1/file"), "application/octet-stream");
  EXPECT_TRUE(IsHtmlPath("/index.html"));
  EXPECT_EQ(XmlErrorCode("<Error><Code>NoSuchKey</Code></Error>"), "NoSuchKey");
}

}  // namespace
}  // namespace edgerouter::aws
