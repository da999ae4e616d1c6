#include "dataplane/h2/request_decoder.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace edgerouter::h2 {
namespace {

struct Decoded {
  http::ParseStatus status;
  http::RequestHead head;
  std::string cookies;
  http::ParseError error;
};

// Stream is not movable (its response buffer): made on the heap.
std::unique_ptr<Stream> MakeStream(std::string method, std::string path, std::vector<Header> headers,
                                   bool ended = true) {
  auto s = std::make_unique<Stream>();
  s->method = s->headers.Keep(method);
  s->path = s->headers.Keep(path);
  s->authority = s->headers.Keep("site.test");
  for (const auto& [name, value] : headers) s->headers.Add(name, value);
  s->request_ended = ended;
  return s;
}

void Decode(const std::unique_ptr<Stream>& s, Decoded* d, const http::ParserLimits& limits = {}) {
  d->status = DecodeRequest(*s, limits, &d->head, &d->cookies, &d->error);
}

std::vector<std::pair<std::string, std::string>> Fields(const http::RequestHead& h) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const http::Header& f : h.headers) out.emplace_back(f.name, f.value);
  return out;
}

TEST(DecodeRequest, PseudoHeadersBecomeMethodTargetAndHostCookiesAreJoinedInPlace) {
  const auto s = MakeStream("POST", "/a/b?c=1",
                              {{"cookie", "a=1"}, {"x-y", "z"}, {"cookie", "b=2"}, {"te", "trailers"},
                               {"host", "other.test"}, {"expect", "100-continue"}, {"cookie", "c=3"}},
                              /*ended=*/false);
  Decoded d;
  Decode(s, &d);
  ASSERT_EQ(d.status, http::ParseStatus::kDone) << d.error.reason;
  EXPECT_EQ(d.head.method, "POST");
  EXPECT_EQ(d.head.target, "/a/b?c=1");
  EXPECT_EQ(d.head.path, "/a/b");
  EXPECT_EQ(d.head.query, "c=1");
  EXPECT_EQ(d.head.host, "site.test");  // :authority wins; Host is not carried
  EXPECT_EQ(d.head.version_major, 2);
  EXPECT_FALSE(d.head.http10());
  EXPECT_FALSE(d.head.expect_continue);
  EXPECT_EQ(Fields(d.head), (std::vector<std::pair<std::string, std::string>>{
                                 {"host", "site.test"}, {"cookie", "a=1; b=2; c=3"}, {"x-y", "z"}}));
  EXPECT_EQ(d.head.framing, http::BodyFraming::kUntilStreamEnd);
  EXPECT_EQ(d.head.head_size, 0u);
}

TEST(DecodeRequest, OneCookieFieldIsTakenAsIs) {
  Decoded d;
  const auto s = MakeStream("GET", "/", {{"cookie", "a=1; b=2"}});
  Decode(s, &d);
  ASSERT_EQ(d.status, http::ParseStatus::kDone);
  EXPECT_EQ(Fields(d.head), (std::vector<std::pair<std::string, std::string>>{{"host", "site.test"}, {"cookie", "a=1; b=2"}}));
  EXPECT_TRUE(d.cookies.empty());
}

TEST(DecodeRequest, FramingFollowsContentLengthAndTheEndOfTheStream) {
  Decoded d;
  const auto no_body = MakeStream("GET", "/", {}, /*ended=*/true);
  Decode(no_body, &d);
  EXPECT_EQ(d.head.framing, http::BodyFraming::kNone);
  const auto with_length = MakeStream("PUT", "/", {{"content-length", "12"}}, /*ended=*/false);
  Decode(with_length, &d);
  EXPECT_EQ(d.head.framing, http::BodyFraming::kContentLength);
  EXPECT_EQ(d.head.content_length, 12u);
  const auto until_end = MakeStream("PUT", "/", {}, /*ended=*/false);
  Decode(until_end, &d);
  EXPECT_EQ(d.head.framing, http::BodyFraming::kUntilStreamEnd);
}

TEST(DecodeRequest, TheHttp11RequestRulesApply) {
  struct Case {
    std::unique_ptr<Stream> stream;
    int status;
  };
  std::vector<Case> cases;
  cases.push_back({MakeStream("CONNECT", "", {}), 501});
  cases.push_back({MakeStream("GET", "*", {}), 400});
  cases.push_back({MakeStream("GET", "/a b", {}), 400});
  cases.push_back({MakeStream("GET", "relative", {}), 400});
  cases.push_back({MakeStream("GET", "/", {{"transfer_encoding", "chunked"}}), 400});
  cases.push_back({MakeStream("GET", "/", {{"content_length", "5"}}), 400});
  cases.push_back({MakeStream("POST", "/", {{"content-length", "x"}}), 400});
  cases.push_back({MakeStream("GET", "http://elsewhere.test/", {}), 400});  // differs from :authority
  cases.push_back({MakeStream("G(T", "/", {}), 400});
  cases.push_back({MakeStream("GET", "/" + std::string(9000, 'a'), {}), 414});
  std::vector<Header> many;
  for (int i = 0; i < 100; ++i) many.push_back({"x-n", "v"});  // with the host field: 101
  cases.push_back({MakeStream("GET", "/", many), 431});
  cases.push_back({MakeStream("GET", "/", {{"x-big", std::string(70000, 'v')}}), 431});
  for (const Case& c : cases) {
    Decoded d;
    Decode(c.stream, &d);
    EXPECT_EQ(d.status, http::ParseStatus::kError) << c.stream->method << " " << c.stream->path;
    EXPECT_EQ(d.error.status, c.status) << c.stream->method << " " << c.stream->path << ": " << d.error.reason;
  }
  Decoded ok;
  const auto options = MakeStream("OPTIONS", "*", {});
  Decode(options, &ok);
  EXPECT_EQ(ok.status, http::ParseStatus::kDone);
}

}  // namespace
}  // namespace edgerouter::h2
