#include "dataplane/acme/challenge_responder.h"

#include "gtest/gtest.h"

namespace edgerouter::dpacme {
namespace {

std::shared_ptr<const snapshot::v1::Resource> Challenge(const std::string& token, const std::string& answer) {
  auto r = std::make_shared<snapshot::v1::Resource>();
  r->set_name("acme/" + token);
  r->mutable_acme_challenge()->set_token(token);
  r->mutable_acme_challenge()->set_key_authorization(answer);
  r->mutable_acme_challenge()->set_domain("a.example.test");
  return r;
}

std::shared_ptr<const snapshot::v1::Resource> App(const std::string& id) {
  auto r = std::make_shared<snapshot::v1::Resource>();
  r->set_name("app/" + id);
  r->mutable_app()->set_id(id);
  return r;
}

TEST(ChallengeResponder, FullStateAnswersExactlyTheHeldTokens) {
  xds::ResourceMap resources;
  resources.Set("app/blog", App("blog"));
  resources.Set("acme/tok1", Challenge("tok1", "tok1.thumb"));
  xds::SnapshotView view{.version = "v1", .resources = &resources, .full_state = true};
  auto tokens = UpdateChallengeTokens(view, nullptr);
  ASSERT_NE(tokens, nullptr);
  const std::string* answer = FindChallengeAnswer(tokens.get(), "GET", "/.well-known/acme-challenge/tok1");
  ASSERT_NE(answer, nullptr);
  EXPECT_EQ(*answer, "tok1.thumb");
  EXPECT_NE(FindChallengeAnswer(tokens.get(), "HEAD", "/.well-known/acme-challenge/tok1"), nullptr);
  // Anything else is routed as usual.
  EXPECT_EQ(FindChallengeAnswer(tokens.get(), "POST", "/.well-known/acme-challenge/tok1"), nullptr);
  EXPECT_EQ(FindChallengeAnswer(tokens.get(), "GET", "/.well-known/acme-challenge/tok2"), nullptr);
  EXPECT_EQ(FindChallengeAnswer(tokens.get(), "GET", "/.well-known/acme-challenge/"), nullptr);
  EXPECT_EQ(FindChallengeAnswer(tokens.get(), "GET", "/.well-known/acme-challenge/tok1/x"), nullptr);
  EXPECT_EQ(FindChallengeAnswer(tokens.get(), "GET", "/tok1"), nullptr);
  EXPECT_EQ(FindChallengeAnswer(nullptr, "GET", "/.well-known/acme-challenge/tok1"), nullptr);
}

TEST(ChallengeResponder, NoChallengesIsNull) {
  xds::ResourceMap resources;
  resources.Set("app/blog", App("blog"));
  xds::SnapshotView view{.version = "v1", .resources = &resources, .full_state = true};
  EXPECT_EQ(UpdateChallengeTokens(view, nullptr), nullptr);
}

TEST(ChallengeResponder, DeltasAddRemoveAndShareWhenUntouched) {
  xds::ResourceMap resources;
  resources.Set("acme/tok1", Challenge("tok1", "one"));
  auto v1 = UpdateChallengeTokens({.version = "v1", .resources = &resources, .full_state = true}, nullptr);
  ASSERT_NE(v1, nullptr);

  // An app change leaves the token set as it is (the same object).
  resources.Set("app/blog", App("blog"));
  auto v2 = UpdateChallengeTokens({.version = "v2", .resources = &resources, .changed = {"app/blog"}}, v1);
  EXPECT_EQ(v2.get(), v1.get());

  // A second token arrives.
  resources.Set("acme/tok2", Challenge("tok2", "two"));
  auto v3 = UpdateChallengeTokens({.version = "v3", .resources = &resources, .changed = {"acme/tok2"}}, v2);
  ASSERT_NE(v3, nullptr);
  EXPECT_EQ(v3->answers.size(), 2u);
  EXPECT_EQ(*FindChallengeAnswer(v3.get(), "GET", "/.well-known/acme-challenge/tok2"), "two");
  EXPECT_EQ(v1->answers.size(), 1u);  // older configs keep what they held

  // The first is withdrawn, then the second: nothing is answered any more.
  resources.Erase("acme/tok1");
  auto v4 = UpdateChallengeTokens({.version = "v4", .resources = &resources, .removed = {"acme/tok1"}}, v3);
  ASSERT_NE(v4, nullptr);
  EXPECT_EQ(FindChallengeAnswer(v4.get(), "GET", "/.well-known/acme-challenge/tok1"), nullptr);
  EXPECT_NE(FindChallengeAnswer(v4.get(), "GET", "/.well-known/acme-challenge/tok2"), nullptr);
  resources.Erase("acme/tok2");
  EXPECT_EQ(UpdateChallengeTokens({.version = "v5", .resources = &resources, .removed = {"acme/tok2"}}, v4), nullptr);
}

}  // namespace
}  // namespace edgerouter::dpacme
