#include "common/json_codec.h"

#include <limits>

#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/wrappers.pb.h"
#include "gtest/gtest.h"
#include "proto/admin.pb.h"
#include "proto/config.pb.h"
#include "proto/events.pb.h"

namespace edgerouter {
namespace {

std::vector<std::string> Decode(absl::string_view text, bool strict,
                                google::protobuf::Message* message) {
  std::vector<FieldError> errors;
  JsonDecodeOptions options;
  options.reject_unknown_fields = strict;
  DecodeJson(*ParseJsonText(text), options, "", message, &errors);
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.ToString());
  return out;
}

TEST(JsonCodec, UsesGoFieldNamesAndBase64ForBytes) {
  events::v1::CertificateObtained cert;
  cert.set_id("nd3oD6CfiY0");
  cert.add_domains("*.example.com");
  cert.set_private_key_ciphertext(std::string("\x00\x01\xff", 3));
  EXPECT_EQ(ToCompactJson(cert),
            R"({"Id":"nd3oD6CfiY0","Reason":"","Domains":["*.example.com"],"Expires":"",)"
            R"("CertPemBundle":"","PrivateKeyDekFingerprint":"","PrivateKeyCiphertext":"AAH/",)"
            R"("ChallengeType":""})");
  events::v1::CertificateObtained back;
  EXPECT_TRUE(Decode(ToCompactJson(cert), true, &back).empty());
  EXPECT_EQ(back.private_key_ciphertext(), cert.private_key_ciphertext());
}

TEST(JsonCodec, KeysMatchCaseInsensitivelyLikeGo) {
  events::v1::AppDeleted deleted;
  EXPECT_TRUE(Decode(R"({"ID":"x"})", true, &deleted).empty());
  EXPECT_EQ(deleted.id(), "x");
}

TEST(JsonCodec, UnknownFieldsRejectedOnlyWhenStrict) {
  events::v1::AppDeleted deleted;
  EXPECT_EQ(Decode(R"({"Id":"x","Extra":1})", true, &deleted),
            std::vector<std::string>{"Extra: unknown field"});
  EXPECT_TRUE(Decode(R"({"Id":"x","Extra":1})", false, &deleted).empty());
  EXPECT_EQ(deleted.id(), "x");
}

TEST(JsonCodec, TypeErrorsNameThePath) {
  events::v1::CertificateObtained cert;
  EXPECT_EQ(Decode(R"({"Domains":["a",3],"PrivateKeyCiphertext":"!!"})", true, &cert),
            (std::vector<std::string>{"Domains[1]: expected string, got number",
                                      "PrivateKeyCiphertext: invalid base64"}));
}

// As Go's encoding/json: a number its field cannot hold is an error naming the field, never
// truncated (4294967296 used to arrive as a threshold of 0).
TEST(JsonCodec, NumbersTheirFieldCannotHoldAreErrorsNamingThePath) {
  config::v1::HealthCheck check;
  EXPECT_EQ(Decode(R"({"healthy_threshold":4294967296,"unhealthy_threshold":-1,"expected_status":1.5})", true, &check),
            (std::vector<std::string>{"healthy_threshold: 4294967296 is out of range for uint32",
                                      "unhealthy_threshold: expected unsigned integer, got number",
                                      "expected_status: expected unsigned integer, got number"}));
  EXPECT_TRUE(Decode(R"({"healthy_threshold":4294967295})", true, &check).empty());
  EXPECT_EQ(check.healthy_threshold(), 4294967295u);

  admin::v1::ImportAppsResponse response;
  EXPECT_EQ(Decode(R"({"imported":2147483648})", true, &response),
            std::vector<std::string>{"imported: 2147483648 is out of range for int32"});
  EXPECT_EQ(Decode(R"({"imported":-2147483649})", true, &response),
            std::vector<std::string>{"imported: -2147483649 is out of range for int32"});
  EXPECT_TRUE(Decode(R"({"imported":-2147483648,"stream_version":18446744073709551615})", true, &response).empty());
  EXPECT_EQ(response.imported(), -2147483648);
  EXPECT_EQ(response.stream_version(), 18446744073709551615u);
}

// The largest float as Go writes it (3.4028235e+38, a little above FLT_MAX as a double) still
// fits; a number that would round to infinity does not.
TEST(JsonCodec, FloatsUpToTheLargestFloatFit) {
  google::protobuf::FloatValue f;
  EXPECT_TRUE(Decode(R"({"value":3.4028235e+38})", true, &f).empty());
  EXPECT_EQ(f.value(), std::numeric_limits<float>::max());
  EXPECT_EQ(Decode(R"({"value":-3.5e+38})", true, &f), std::vector<std::string>{"value: -3.5e+38 is out of range for float"});
}

// Items of a repeated field go through the same checks as a single value (they used to take
// any number: 1.5 became 1).
TEST(JsonCodec, RepeatedItemsAreCheckedLikeSingleValues) {
  google::protobuf::SourceCodeInfo::Location location;  // repeated int32 path
  EXPECT_EQ(Decode(R"({"path":[1,2147483648,1.5,"x",-3]})", true, &location),
            (std::vector<std::string>{"path[1]: 2147483648 is out of range for int32",
                                      "path[2]: expected integer, got number",
                                      "path[3]: expected integer, got string"}));
  EXPECT_EQ(std::vector<int32_t>(location.path().begin(), location.path().end()), (std::vector<int32_t>{1, -3}));
}

TEST(JsonCodec, NullLeavesZeroValue) {
  events::v1::CertificateObtained cert;
  EXPECT_TRUE(Decode(R"({"Id":null,"Domains":null})", true, &cert).empty());
  EXPECT_EQ(cert.id(), "");
  EXPECT_EQ(cert.domains_size(), 0);
}

TEST(JsonCodec, SyntaxErrorsGiveLineAndColumn) {
  auto parsed = ParseJsonText("{\n  \"a\": [\n    \"x\"\n    \"y\"\n  ]\n}");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("invalid JSON at line 4, column"), std::string::npos)
      << parsed.status();
}

}  // namespace
}  // namespace edgerouter

namespace edgerouter {
namespace {

// Found by app_config_fuzz: a number too large for a double made nlohmann throw out_of_range
// from the error-reporting parse, which ended the process (an event payload could crash the
// control plane).
TEST(JsonCodecRegression, NumberOutOfRangeIsAnErrorNotAnException) {
  for (const char* text : {"{\"a\":1e999}", "22222222222222222222222222222202222222222222222222222222222222e2222222222qa",
                           "[-1e400]"}) {
    absl::StatusOr<OrderedJson> parsed = ParseJsonText(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find("invalid JSON"), std::string::npos) << parsed.status();
  }
}

}  // namespace
}  // namespace edgerouter
