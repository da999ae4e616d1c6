#include "dataplane/http/forwarding.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace edgerouter::http {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

RequestHead Head(std::initializer_list<Header> headers, bool expect_continue = false) {
  RequestHead head;
  head.host = "site.test";
  for (const Header& h : headers) head.headers.push_back(h);
  head.expect_continue = expect_continue;
  return head;
}

Fields Forwarded(const RequestHead& head, const ForwardingContext& ctx) {
  Fields out;
  ForwardedFields(head, ctx).ForEach([&out](absl::string_view name, absl::string_view value) {
    out.emplace_back(std::string(name), std::string(value));
  });
  return out;
}

TEST(ForwardedFields, DropsHopByHopNominatedAndProxyOwnedFields) {
  const RequestHead head = Head({{"Host", "site.test"},
                                 {"Connection", "keep-alive, X-Secret"},
                                 {"X-Secret", "hush"},
                                 {"Keep-Alive", "timeout=5"},
                                 {"TE", "trailers"},
                                 {"Content-Length", "3"},
                                 {"X-Forwarded-Proto", "https"},
                                 {"X-Forwarded-Host", "evil.test"},
                                 {"X-Forwarded-For", "203.0.113.7"},
                                 {"Accept", "*/*"}});
  ClientAddress client;
  ResolveClientAddress("127.0.0.1", head, &client);
  const ForwardingContext ctx{&client, /*secure=*/true, false, /*keep_message_fields=*/false};
  EXPECT_EQ(Forwarded(head, ctx), (Fields{{"Accept", "*/*"},
                                          {"X-Forwarded-For", "203.0.113.7, 127.0.0.1"},
                                          {"X-Forwarded-Proto", "https"},
                                          {"X-Forwarded-Host", "site.test"}}));
  // Event backends keep the message's own Host and Content-Length, nothing more.
  const ForwardingContext event_ctx{&client, false, false, /*keep_message_fields=*/true};
  EXPECT_EQ(Forwarded(head, event_ctx), (Fields{{"Host", "site.test"},
                                                {"Content-Length", "3"},
                                                {"Accept", "*/*"},
                                                {"X-Forwarded-For", "203.0.113.7, 127.0.0.1"},
                                                {"X-Forwarded-Proto", "http"},
                                                {"X-Forwarded-Host", "site.test"}}));
}

TEST(ForwardedFields, ExpectAndConsumedCredentials) {
  ClientAddress client;
  const RequestHead head = Head({{"Expect", "100-continue"}, {"Authorization", "Bearer t"}}, true);
  ResolveClientAddress("::1", head, &client);
  const ForwardedFields kept(head, ForwardingContext{&client, false, false, false});
  EXPECT_FALSE(kept.Forwards("Expect"));  // answered by the proxy
  EXPECT_TRUE(kept.Forwards("authorization"));
  const ForwardedFields stripped(head, ForwardingContext{&client, false, /*strip_authorization=*/true, false});
  EXPECT_FALSE(stripped.Forwards("Authorization"));
  EXPECT_EQ(stripped.Find("authorization"), nullptr);
  EXPECT_EQ(client.forwarded_for, "::1");
}

TEST(ForwardedFields, FindSeesOnlyForwardedFields) {
  ClientAddress client;
  const RequestHead head = Head({{"Connection", "Range"}, {"Range", "bytes=0-1"}, {"If-None-Match", "\"e\""}});
  ResolveClientAddress("127.0.0.1", head, &client);
  const ForwardedFields fields(head, ForwardingContext{&client, false, false, false});
  EXPECT_EQ(fields.Find("range"), nullptr);
  ASSERT_NE(fields.Find("if-none-match"), nullptr);
  EXPECT_EQ(fields.Find("if-none-match")->value, "\"e\"");
}

}  // namespace
}  // namespace edgerouter::http
