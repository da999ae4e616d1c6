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
  ResolveClientAddress("127.0.0.1", false, net::CidrSet(), head, &client);
  const ForwardingContext ctx{&client, /*secure=*/true, false, /*keep_message_fields=*/false};
  EXPECT_EQ(Forwarded(head, ctx), (Fields{{"Accept", "*/*"},
                                          {"X-Forwarded-For", "127.0.0.1"},
                                          {"X-Real-IP", "127.0.0.1"},
                                          {"X-Forwarded-Proto", "https"},
                                          {"X-Forwarded-Host", "site.test"}}));
  // Event backends keep the message's own Host and Content-Length, nothing more.
  const ForwardingContext event_ctx{&client, false, false, /*keep_message_fields=*/true};
  EXPECT_EQ(Forwarded(head, event_ctx), (Fields{{"Host", "site.test"},
                                                {"Content-Length", "3"},
                                                {"Accept", "*/*"},
                                                {"X-Forwarded-For", "127.0.0.1"},
                                                {"X-Real-IP", "127.0.0.1"},
                                                {"X-Forwarded-Proto", "http"},
                                                {"X-Forwarded-Host", "site.test"}}));
}

TEST(ForwardedFields, ExpectAndConsumedCredentials) {
  ClientAddress client;
  const RequestHead head = Head({{"Expect", "100-continue"}, {"Authorization", "Bearer t"}}, true);
  ResolveClientAddress("::1", false, net::CidrSet(), head, &client);
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
  ResolveClientAddress("127.0.0.1", false, net::CidrSet(), head, &client);
  const ForwardedFields fields(head, ForwardingContext{&client, false, false, false});
  EXPECT_EQ(fields.Find("range"), nullptr);
  ASSERT_NE(fields.Find("if-none-match"), nullptr);
  EXPECT_EQ(fields.Find("if-none-match")->value, "\"e\"");
}

ClientAddress Resolve(absl::string_view peer, absl::string_view trusted_list,
                      std::initializer_list<Header> headers) {
  absl::StatusOr<net::CidrSet> trusted = net::CidrSet::Parse(trusted_list);
  EXPECT_TRUE(trusted.ok()) << trusted.status();
  ClientAddress out;
  ResolveClientAddress(peer, trusted->Contains(peer), *trusted, Head(headers), &out);
  return out;
}

TEST(ResolveClientAddress, UntrustedPeersAreTheClient) {
  const ClientAddress c = Resolve("192.0.2.9", "10.0.0.0/8", {{"X-Forwarded-For", "203.0.113.7"}});
  EXPECT_EQ(c.ip, "192.0.2.9");
  EXPECT_EQ(c.forwarded_for, "192.0.2.9");
  EXPECT_FALSE(c.peer_trusted);
}

TEST(ResolveClientAddress, TrustedPeersGiveTheRightMostUntrustedAddress) {
  // Garbage entries are dropped; trusted hops to the right are skipped.
  ClientAddress c = Resolve("10.0.0.1", "10.0.0.0/8, 2001:db8:ffff::/48",
                            {{"X-Forwarded-For", "198.51.100.1, unknown, 203.0.113.7:80"},
                             {"x-forwarded-for", " 2001:db8::1 ,10.9.9.9,, 2001:db8:ffff::2"}});
  EXPECT_TRUE(c.peer_trusted);
  EXPECT_EQ(c.ip, "2001:db8::1");
  EXPECT_EQ(c.forwarded_for, "198.51.100.1, 2001:db8::1, 10.9.9.9, 2001:db8:ffff::2, 10.0.0.1");
  // A client cannot push itself further right than the last trusted hop saw it.
  c = Resolve("10.0.0.1", "10.0.0.0/8", {{"X-Forwarded-For", "6.6.6.6, 203.0.113.7"}});
  EXPECT_EQ(c.ip, "203.0.113.7");
  // Every hop trusted: the left-most; no valid entry at all: the peer.
  EXPECT_EQ(Resolve("10.0.0.1", "10.0.0.0/8", {{"X-Forwarded-For", "10.1.1.1, 10.2.2.2"}}).ip, "10.1.1.1");
  c = Resolve("10.0.0.1", "10.0.0.0/8", {{"X-Forwarded-For", "nonsense"}});
  EXPECT_EQ(c.ip, "10.0.0.1");
  EXPECT_EQ(c.forwarded_for, "10.0.0.1");
  EXPECT_EQ(Resolve("::ffff:10.0.0.1", "10.0.0.0/8", {{"X-Forwarded-For", "::ffff:192.0.2.1"}}).ip, "192.0.2.1");
}

TEST(ForwardedFields, ClientAddressClaimsOnlyFromTrustedPeers) {
  const RequestHead head = Head({{"X-Real-IP", "6.6.6.6"},
                                 {"Forwarded", "for=6.6.6.6"},
                                 {"True-Client-IP", "6.6.6.6"},
                                 {"CF-Connecting-IP", "6.6.6.6"},
                                 {"X-Forwarded-For", "203.0.113.7"}});
  absl::StatusOr<net::CidrSet> trusted = net::CidrSet::Parse("10.0.0.0/8");
  ASSERT_TRUE(trusted.ok());
  ClientAddress untrusted;
  ResolveClientAddress("192.0.2.9", false, *trusted, head, &untrusted);
  EXPECT_EQ(Forwarded(head, ForwardingContext{&untrusted, false, false, false}),
            (Fields{{"X-Forwarded-For", "192.0.2.9"},
                    {"X-Real-IP", "192.0.2.9"},
                    {"X-Forwarded-Proto", "http"},
                    {"X-Forwarded-Host", "site.test"}}));
  ClientAddress proxied;
  ResolveClientAddress("10.0.0.1", true, *trusted, head, &proxied);
  EXPECT_EQ(Forwarded(head, ForwardingContext{&proxied, false, false, false}),
            (Fields{{"Forwarded", "for=6.6.6.6"},
                    {"True-Client-IP", "6.6.6.6"},
                    {"CF-Connecting-IP", "6.6.6.6"},
                    {"X-Forwarded-For", "203.0.113.7, 10.0.0.1"},
                    {"X-Real-IP", "203.0.113.7"},
                    {"X-Forwarded-Proto", "http"},
                    {"X-Forwarded-Host", "site.test"}}));
}

}  // namespace
}  // namespace edgerouter::http
