#include "dataplane/aws/lambda_event.h"

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace edgerouter::aws {
namespace {

using nlohmann::json;

LambdaRequest Sample() {
  LambdaRequest r;
  r.method = "POST";
  r.path = "/api/hello%20there";
  r.query = "a=1&b=x+y&a=3";
  r.headers = {{"Host", "app.test"}, {"User-Agent", "ua/1"}, {"X-Multi", "one"}, {"X-Multi", "two"},
               {"Cookie", "c1=v1; c2=v2"}, {"Content-Type", "application/json"}};
  r.host = "app.test";
  r.source_ip = "127.0.0.1";
  r.protocol = "HTTP/1.1";
  r.request_id = "req-1";
  r.time = absl::FromUnixMillis(1772704800123);
  r.body = R"({"k":1})";
  return r;
}

TEST(LambdaEvent, PayloadV1) {
  json e = json::parse(BuildLambdaEvent(Sample(), false));
  EXPECT_EQ(e["httpMethod"], "POST");
  EXPECT_EQ(e["path"], "/api/hello there");
  EXPECT_EQ(e["headers"]["X-Multi"], "two");
  EXPECT_EQ(e["multiValueHeaders"]["X-Multi"], json({"one", "two"}));
  EXPECT_EQ(e["headers"]["Host"], "app.test");
  EXPECT_EQ(e["queryStringParameters"]["a"], "3");
  EXPECT_EQ(e["queryStringParameters"]["b"], "x y");
  EXPECT_EQ(e["multiValueQueryStringParameters"]["a"], json({"1", "3"}));
  EXPECT_EQ(e["requestContext"]["requestId"], "req-1");
  EXPECT_EQ(e["requestContext"]["identity"]["sourceIp"], "127.0.0.1");
  EXPECT_EQ(e["requestContext"]["requestTime"], "05/Mar/2026:10:00:00 +0000");
  EXPECT_EQ(e["requestContext"]["requestTimeEpoch"], 1772704800123);
  EXPECT_EQ(e["requestContext"]["protocol"], "HTTP/1.1");
  EXPECT_EQ(e["requestContext"]["domainName"], "app.test");
  EXPECT_EQ(e["requestContext"]["httpMethod"], "POST");
  EXPECT_EQ(e["requestContext"]["path"], "/api/hello there");
  EXPECT_EQ(e["requestContext"]["stage"], "$default");
  EXPECT_EQ(e["body"], R"({"k":1})");
  EXPECT_EQ(e["isBase64Encoded"], false);
  LambdaRequest r = Sample();
  r.query.clear();
  r.body.clear();
  e = json::parse(BuildLambdaEvent(r, false));
  EXPECT_TRUE(e["queryStringParameters"].is_null());
  EXPECT_TRUE(e["multiValueQueryStringParameters"].is_null());
  EXPECT_TRUE(e["body"].is_null());
}

TEST(LambdaEvent, PayloadV2) {
  json e = json::parse(BuildLambdaEvent(Sample(), true));
  EXPECT_EQ(e["version"], "2.0");
  EXPECT_EQ(e["rawPath"], "/api/hello%20there");
  EXPECT_EQ(e["rawQueryString"], "a=1&b=x+y&a=3");
  EXPECT_EQ(e["headers"]["x-multi"], "one,two");
  EXPECT_EQ(e["headers"]["host"], "app.test");
  EXPECT_FALSE(e["headers"].contains("cookie"));
  EXPECT_EQ(e["cookies"], json({"c1=v1", "c2=v2"}));
  EXPECT_EQ(e["queryStringParameters"]["a"], "1,3");
  EXPECT_EQ(e["requestContext"]["http"]["method"], "POST");
  EXPECT_EQ(e["requestContext"]["http"]["path"], "/api/hello there");
  EXPECT_EQ(e["requestContext"]["http"]["sourceIp"], "127.0.0.1");
  EXPECT_EQ(e["requestContext"]["http"]["userAgent"], "ua/1");
  EXPECT_EQ(e["requestContext"]["timeEpoch"], 1772704800123);
  EXPECT_EQ(e["isBase64Encoded"], false);
}

TEST(LambdaEvent, BinaryBodiesArePaddedBase64) {
  LambdaRequest r = Sample();
  r.headers.back().second = "application/octet-stream";
  r.body = std::string("\x00\x01\xff\xfe", 4);
  json e = json::parse(BuildLambdaEvent(r, true));
  EXPECT_EQ(e["body"], "AAH//g==");
  EXPECT_EQ(e["isBase64Encoded"], true);
  r.headers.back().second = "text/plain";  // declared text but not UTF-8: still base64
  e = json::parse(BuildLambdaEvent(r, false));
  EXPECT_EQ(e["isBase64Encoded"], true);
}

TEST(LambdaEvent, ResultMapping) {
  absl::StatusOr<LambdaHttpResponse> r = MapLambdaResult(
      R"({"statusCode":201,"headers":{"X-A":"1","X-N":5},"multiValueHeaders":{"X-M":["a","b"]},
          "cookies":["s=1; Path=/"],"body":"AAH//g==","isBase64Encoded":true})",
      true);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->headers, "X-A: 1\r\nX-N: 5\r\nX-M: a\r\nX-M: b\r\nSet-Cookie: s=1; Path=/\r\n");
  EXPECT_EQ(r->body, std::string("\x00\x01\xff\xfe", 4));
  // v2 without statusCode: API Gateway's 200 with the JSON as body.
  r = MapLambdaResult(R"({"hello":"world"})", true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"hello":"world"})");
  r = MapLambdaResult(R"("just text")", true);
  EXPECT_EQ(r->body, "just text");
  // v1 needs statusCode; header injection and framing headers are dropped.
  EXPECT_FALSE(MapLambdaResult(R"({"body":"x"})", false).ok());
  r = MapLambdaResult(R"({"statusCode":200,"headers":{"X-Bad":"a\r\nInjected: 1","Content-Length":"99"}})", false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->headers, "");
  EXPECT_FALSE(MapLambdaResult(R"({"statusCode":0})", true).ok());
}

}  // namespace
}  // namespace edgerouter::aws
