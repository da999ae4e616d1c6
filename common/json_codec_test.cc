#include "common/json_codec.h"

#include "gtest/gtest.h"
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
