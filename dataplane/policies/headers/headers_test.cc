// The headers policy's stages against a fake exchange: what each adds, removes and answers.
#include "dataplane/policies/headers/headers.h"

#include "dataplane/pipeline/fake_exchange.h"
#include "gtest/gtest.h"

namespace edgerouter::policies {
namespace {

using pipeline::ResponseHeadEdit;

class Head : public pipeline::ResponseHeadView {
 public:
  explicit Head(std::map<std::string, std::string> fields = {}) : fields_(std::move(fields)) {}
  int status() const override { return 200; }
  std::optional<absl::string_view> header(absl::string_view name) const override {
    auto it = fields_.find(std::string(name));
    if (it == fields_.end()) return std::nullopt;
    return absl::string_view(it->second);
  }

 private:
  std::map<std::string, std::string> fields_;
};


pipeline::Chain Compile(const config::v1::HeadersPolicy& p) {
  class Ok : public pipeline::Terminal {
    absl::string_view kind() const override { return "ok"; }
    void Handle(pipeline::Exchange& e, const std::string&) const override { e.SendLocal(200, "text/plain", "ok"); }
  };
  pipeline::ChainBuilder b;
  AddHeadersAccess(p, &b);
  AddHeadersStages(p, &b);
  EXPECT_TRUE(b.SetTerminal(std::make_unique<Ok>()).ok());
  absl::StatusOr<pipeline::Chain> chain = b.Build();
  EXPECT_TRUE(chain.ok());
  return *std::move(chain);
}

std::string Find(const ResponseHeadEdit& e, absl::string_view name) {
  for (const auto& [n, v] : e.add) {
    if (absl::EqualsIgnoreCase(n, name)) return v;
  }
  return "<none>";
}

TEST(HeadersPolicy, AnEmptyPolicyAddsNoStage) {
  pipeline::Chain chain = Compile(config::v1::HeadersPolicy());
  EXPECT_EQ(chain.Describe(), "ok");
  EXPECT_FALSE(chain.has_response_stages());
}

TEST(HeadersPolicy, RequestFieldsAreSetRemovedAndAddedForTheBackend) {
  config::v1::HeadersPolicy p;
  (*p.mutable_custom_request_headers())["X-Set"] = "ours";
  (*p.mutable_custom_request_headers())["X-Drop"] = "";
  (*p.mutable_add_request_headers())["X-Extra"] = "1";
  pipeline::Chain chain = Compile(p);
  EXPECT_EQ(chain.Describe(), "request_headers -> ok");
  pipeline::FakeExchange ex;
  chain.Run(ex, "/");
  ASSERT_NE(ex.request_edit, nullptr);
  EXPECT_TRUE(ex.request_edit->Removes("x-drop"));
  EXPECT_TRUE(ex.request_edit->Removes("X-SET"));  // the client's value goes, ours comes
  EXPECT_FALSE(ex.request_edit->Removes("X-Extra"));
  EXPECT_EQ(ex.request_edit->add,
            (std::vector<std::pair<std::string, std::string>>{{"X-Set", "ours"}, {"X-Extra", "1"}}));
}

TEST(HeadersPolicy, SecurityPresetAndHstsOnlyOverHttps) {
  config::v1::HeadersPolicy p;
  p.set_sts_seconds(63072000);
  p.set_sts_include_subdomains(true);
  p.set_sts_preload(true);
  p.set_content_type_nosniff(true);
  p.set_frame_deny(true);
  p.set_referrer_policy("strict-origin");
  (*p.mutable_custom_response_headers())["Server"] = "";
  pipeline::Chain chain = Compile(p);
  EXPECT_EQ(chain.Describe(), "ok <- response_headers");

  pipeline::FakeExchange https;
  https.is_secure = true;
  ResponseHeadEdit edit;
  chain.RunResponseStages(https, Head(), &edit);
  EXPECT_EQ(Find(edit, "Strict-Transport-Security"), "max-age=63072000; includeSubDomains; preload");
  EXPECT_EQ(Find(edit, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(Find(edit, "X-Frame-Options"), "DENY");
  EXPECT_EQ(Find(edit, "Referrer-Policy"), "strict-origin");
  EXPECT_TRUE(edit.Removes("server"));
  EXPECT_TRUE(edit.Removes("X-Frame-Options"));  // the origin's value is replaced

  pipeline::FakeExchange plain;
  ResponseHeadEdit plain_edit;
  chain.RunResponseStages(plain, Head(), &plain_edit);
  EXPECT_EQ(Find(plain_edit, "Strict-Transport-Security"), "<none>");
  EXPECT_EQ(Find(plain_edit, "X-Frame-Options"), "DENY");
}

TEST(HeadersPolicy, HstsFlagsWithoutMaxAgeSendNothing) {
  config::v1::HeadersPolicy p;
  p.set_sts_include_subdomains(true);
  p.set_sts_preload(true);
  pipeline::Chain chain = Compile(p);
  EXPECT_FALSE(chain.has_response_stages());
}

TEST(HeadersPolicy, CustomFrameOptionsValueWinsOverDeny) {
  config::v1::HeadersPolicy p;
  p.set_frame_deny(true);
  p.set_custom_frame_options_value("SAMEORIGIN");
  pipeline::Chain chain = Compile(p);
  pipeline::FakeExchange ex;
  ResponseHeadEdit edit;
  chain.RunResponseStages(ex, Head(), &edit);
  EXPECT_EQ(Find(edit, "X-Frame-Options"), "SAMEORIGIN");
}

config::v1::HeadersPolicy Cors() {
  config::v1::HeadersPolicy p;
  p.add_access_control_allow_origin_list("https://app.example");
  p.add_access_control_allow_methods("GET");
  p.add_access_control_allow_methods("PUT");
  p.add_access_control_allow_headers("X-Token");
  p.add_access_control_expose_headers("X-Total");
  p.set_access_control_allow_credentials(true);
  p.set_access_control_max_age(600);
  return p;
}

TEST(HeadersPolicy, PreflightFromAnAllowedOriginIsAnsweredAtTheEdge) {
  pipeline::Chain chain = Compile(Cors());
  EXPECT_EQ(chain.Describe(), "cors_preflight -> ok <- response_headers");
  pipeline::FakeExchange ex;
  ex.request_method = "OPTIONS";
  ex.headers["origin"] = "https://APP.example";
  ex.headers["access-control-request-method"] = "PUT";
  chain.Run(ex, "/");
  EXPECT_EQ(ex.status, 204);
  EXPECT_EQ(ex.body, "");
  EXPECT_EQ(ex.extra_headers,
            "Access-Control-Allow-Methods: GET, PUT\r\nAccess-Control-Allow-Headers: X-Token\r\n"
            "Access-Control-Max-Age: 600\r\n");
}

TEST(HeadersPolicy, PreflightFromAnotherOriginOrWithoutRequestMethodGoesToTheBackend) {
  pipeline::Chain chain = Compile(Cors());
  pipeline::FakeExchange other;
  other.request_method = "OPTIONS";
  other.headers["origin"] = "https://evil.example";
  other.headers["access-control-request-method"] = "PUT";
  chain.Run(other, "/");
  EXPECT_EQ(other.status, 200);
  EXPECT_EQ(other.body, "ok");
  pipeline::FakeExchange plain_options;
  plain_options.request_method = "OPTIONS";
  plain_options.headers["origin"] = "https://app.example";
  chain.Run(plain_options, "/");
  EXPECT_EQ(plain_options.body, "ok");
}

TEST(HeadersPolicy, AllowedOriginGetsTheConfiguredSpellingNeverTheClientBytes) {
  pipeline::Chain chain = Compile(Cors());
  pipeline::FakeExchange ex;
  ex.headers["origin"] = "https://APP.example";
  ResponseHeadEdit edit;
  chain.RunResponseStages(ex, Head(std::map<std::string, std::string>{{"Vary", "Accept-Encoding"}}), &edit);
  EXPECT_EQ(Find(edit, "Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_EQ(Find(edit, "Access-Control-Allow-Credentials"), "true");
  EXPECT_EQ(Find(edit, "Access-Control-Expose-Headers"), "X-Total");
  EXPECT_EQ(Find(edit, "Vary"), "Accept-Encoding, Origin");
}

TEST(HeadersPolicy, DisallowedOriginGetsNoAllowFieldsButVary) {
  pipeline::Chain chain = Compile(Cors());
  pipeline::FakeExchange ex;
  ex.headers["origin"] = "https://app.example.evil";
  ResponseHeadEdit edit;
  chain.RunResponseStages(ex, Head(), &edit);
  EXPECT_EQ(Find(edit, "Access-Control-Allow-Origin"), "<none>");
  EXPECT_EQ(Find(edit, "Access-Control-Allow-Credentials"), "<none>");
  EXPECT_EQ(Find(edit, "Vary"), "Origin");
}

TEST(HeadersPolicy, AnyOriginAnswersStarWithoutVary) {
  config::v1::HeadersPolicy p;
  p.add_access_control_allow_origin_list("*");
  pipeline::Chain chain = Compile(p);
  pipeline::FakeExchange ex;
  ex.headers["origin"] = "https://whoever.example";
  ResponseHeadEdit edit;
  chain.RunResponseStages(ex, Head(), &edit);
  EXPECT_EQ(Find(edit, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(Find(edit, "Vary"), "<none>");
}

TEST(ResponseHeadEdit, RemoveDropsEarlierAdditionsAndSetReplaces) {
  ResponseHeadEdit e;
  e.Add("X-A", "1");
  e.Add("x-a", "2");
  e.Set("X-A", "3");
  EXPECT_EQ(e.add, (std::vector<std::pair<std::string, std::string>>{{"X-A", "3"}}));
  EXPECT_EQ(e.remove, std::vector<std::string>{"X-A"});
  e.Remove("x-a");
  EXPECT_TRUE(e.add.empty());
  EXPECT_EQ(e.remove.size(), 1u);
}

}  // namespace
}  // namespace edgerouter::policies
