#include "dataplane/h2/h1_bridge.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace edgerouter::h2 {
namespace {

std::string Str(const proxy::IoBuffer& b) { return std::string(b.view()); }

struct Collected {
  int status = 0;
  std::vector<Header> headers;
  std::string body;
  int ends = 0;
};

absl::Status FeedAll(ResponseTranslator& t, proxy::IoBuffer& in, Collected& c) {
  return t.Feed(
      &in,
      [&](const ResponseTranslator::Head& h) {
        c.status = h.status;
        c.headers = h.headers;
      },
      [&](absl::string_view b) { c.body.append(b.data(), b.size()); }, [&] { ++c.ends; });
}

TEST(ResponseTranslator, ChunkedBodyByteByByteAndInterimSkipped) {
  const std::string wire =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n"
      "Content-Type: text/plain\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  ResponseTranslator t("GET");
  Collected c;
  proxy::IoBuffer in;
  for (char ch : wire) {
    in.Append(absl::string_view(&ch, 1));
    ASSERT_TRUE(FeedAll(t, in, c).ok());
  }
  EXPECT_EQ(c.status, 200);
  EXPECT_EQ(c.headers, (std::vector<Header>{{"content-type", "text/plain"}}));
  EXPECT_EQ(c.body, "hello world");
  EXPECT_EQ(c.ends, 1);
  EXPECT_TRUE(t.done());
}

TEST(ResponseTranslator, ContentLengthZeroAndHeadHaveNoBody) {
  ResponseTranslator t("HEAD");
  Collected c;
  proxy::IoBuffer in;
  in.Append("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
  ASSERT_TRUE(FeedAll(t, in, c).ok());
  EXPECT_EQ(c.ends, 1);
  EXPECT_EQ(c.headers, (std::vector<Header>{{"content-length", "10"}}));

  ResponseTranslator z("GET");
  Collected cz;
  proxy::IoBuffer in2;
  in2.Append("HTTP/1.1 204 No Content\r\n\r\n");
  ASSERT_TRUE(FeedAll(z, in2, cz).ok());
  EXPECT_EQ(cz.status, 204);
  EXPECT_EQ(cz.ends, 1);
}

TEST(ResponseTranslator, UntilCloseEndsOnlyWhenTheWriterCloses) {
  ResponseTranslator t("GET");
  Collected c;
  proxy::IoBuffer in;
  in.Append("HTTP/1.1 200 OK\r\n\r\nstreamed");
  ASSERT_TRUE(FeedAll(t, in, c).ok());
  EXPECT_EQ(c.body, "streamed");
  EXPECT_EQ(c.ends, 0);
  EXPECT_TRUE(t.CloseEndsMessage());
}

TEST(ResponseTranslator, BrokenFramingIsAnError) {
  ResponseTranslator t("GET");
  Collected c;
  proxy::IoBuffer in;
  in.Append("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
  EXPECT_FALSE(FeedAll(t, in, c).ok());
}

}  // namespace
}  // namespace edgerouter::h2
