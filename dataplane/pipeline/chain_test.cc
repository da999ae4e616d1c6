// Chain order and builder rules, and the registry's lookup by kind with its fallback.
#include "dataplane/pipeline/chain.h"

#include <vector>

#include "dataplane/pipeline/fake_exchange.h"
#include "dataplane/pipeline/registry.h"
#include "gtest/gtest.h"

namespace edgerouter::pipeline {
namespace {

// Appends its name to a shared trace; answers 403 when told to.
class TraceAccess : public AccessStage {
 public:
  TraceAccess(std::string name, std::vector<std::string>* trace, bool deny)
      : name_(std::move(name)), trace_(trace), deny_(deny) {}
  absl::string_view name() const override { return name_; }
  Verdict Check(Exchange& exchange) const override {
    trace_->push_back(name_);
    if (!deny_) return Verdict::kContinue;
    exchange.SendLocal(403, "text/plain", "no\n");
    return Verdict::kAnswered;
  }

 private:
  std::string name_;
  std::vector<std::string>* trace_;
  bool deny_;
};

class TraceTerminal : public Terminal {
 public:
  TraceTerminal(std::string kind, std::vector<std::string>* trace) : kind_(std::move(kind)), trace_(trace) {}
  absl::string_view kind() const override { return kind_; }
  void Handle(Exchange& exchange, const std::string& path) const override {
    trace_->push_back(kind_ + " " + path);
    exchange.SendLocal(200, "text/plain", "ok\n");
  }

 private:
  std::string kind_;
  std::vector<std::string>* trace_;
};

TEST(Chain, RunsAccessStagesInOrderThenTheTerminal) {
  std::vector<std::string> trace;
  ChainBuilder b;
  b.AddAccess(std::make_unique<TraceAccess>("outer", &trace, false));
  b.AddAccess(std::make_unique<TraceAccess>("inner", &trace, false));
  ASSERT_TRUE(b.SetTerminal(std::make_unique<TraceTerminal>("t", &trace)).ok());
  absl::StatusOr<Chain> chain = b.Build();
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_EQ(chain->Describe(), "outer -> inner -> t");
  FakeExchange ex;
  chain->Run(ex, "/p");
  EXPECT_EQ(trace, (std::vector<std::string>{"outer", "inner", "t /p"}));
  EXPECT_EQ(ex.status, 200);
}

TEST(Chain, AnAccessStageThatAnswersStopsTheChain) {
  std::vector<std::string> trace;
  ChainBuilder b;
  b.AddAccess(std::make_unique<TraceAccess>("deny", &trace, true));
  b.AddAccess(std::make_unique<TraceAccess>("never", &trace, false));
  ASSERT_TRUE(b.SetTerminal(std::make_unique<TraceTerminal>("t", &trace)).ok());
  absl::StatusOr<Chain> chain = b.Build();
  ASSERT_TRUE(chain.ok());
  FakeExchange ex;
  chain->Run(ex, "/");
  EXPECT_EQ(trace, std::vector<std::string>{"deny"});
  EXPECT_EQ(ex.status, 403);
}

TEST(ChainBuilder, NeedsExactlyOneTerminal) {
  std::vector<std::string> trace;
  ChainBuilder none;
  EXPECT_FALSE(none.Build().ok());
  ChainBuilder two;
  ASSERT_TRUE(two.SetTerminal(std::make_unique<TraceTerminal>("a", &trace)).ok());
  absl::Status s = two.SetTerminal(std::make_unique<TraceTerminal>("b", &trace));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("a and b"), absl::string_view::npos) << s;
}

TEST(BackendRegistry, LooksUpByKindAndFallsBackForUnknownKinds) {
  std::vector<std::string> trace;
  BackendRegistry registry([&trace](const CompileContext&, const config::v1::Backend& b, ChainBuilder* chain) {
    return chain->SetTerminal(std::make_unique<TraceTerminal>("fallback:" + b.kind(), &trace));
  });
  EXPECT_TRUE(registry.Register("known", [&trace](const CompileContext&, const config::v1::Backend&, ChainBuilder* chain) {
    return chain->SetTerminal(std::make_unique<TraceTerminal>("known", &trace));
  }));
  EXPECT_FALSE(registry.Register("known", nullptr));  // the first registration stays
  EXPECT_TRUE(registry.Has("known"));
  EXPECT_FALSE(registry.Has("other"));

  config::v1::Backend backend;
  backend.set_kind("known");
  absl::StatusOr<Chain> known = registry.CompileChain("app1", backend);
  ASSERT_TRUE(known.ok()) << known.status();
  EXPECT_EQ(known->Describe(), "known");
  backend.set_kind("nobody_registered_this");
  absl::StatusOr<Chain> other = registry.CompileChain("app1", backend);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->Describe(), "fallback:nobody_registered_this");
}

TEST(BackendRegistry, ErrorsNameTheAppAndTheField) {
  BackendRegistry registry([](const CompileContext& context, const config::v1::Backend&, ChainBuilder*) {
    return context.Inner("x_opts").Required("to");
  });
  absl::StatusOr<Chain> chain = registry.CompileChain("my-app", config::v1::Backend());
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.status().message(), "app my-app: backend.x_opts.to: required");

  // A factory that sets no terminal: the builder's error gets the app too.
  BackendRegistry empty([](const CompileContext&, const config::v1::Backend&, ChainBuilder*) {
    return absl::OkStatus();
  });
  chain = empty.CompileChain("my-app", config::v1::Backend());
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.status().message(), "app my-app: chain has no terminal handler");
}

}  // namespace
}  // namespace edgerouter::pipeline
