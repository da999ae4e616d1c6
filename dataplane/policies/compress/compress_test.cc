#include "dataplane/policies/compress/compress.h"

#include <zlib.h>

#include "gtest/gtest.h"

namespace edgerouter::policies::compress {
namespace {

Policy Default() {
  absl::StatusOr<Policy> p = Policy::Compile(config::v1::CompressPolicy());
  EXPECT_TRUE(p.ok());
  return *p;
}

TEST(NegotiateTest, HighestQualityThenPolicyOrder) {
  const Policy p = Default();  // zstd, br, gzip
  EXPECT_EQ(p.Negotiate(""), Coding::kIdentity);
  EXPECT_EQ(p.Negotiate("identity"), Coding::kIdentity);
  EXPECT_EQ(p.Negotiate("deflate"), Coding::kIdentity);
  EXPECT_EQ(p.Negotiate("gzip"), Coding::kGzip);
  EXPECT_EQ(p.Negotiate("gzip, deflate, br"), Coding::kBrotli);
  EXPECT_EQ(p.Negotiate("gzip, deflate, br, zstd"), Coding::kZstd);
  EXPECT_EQ(p.Negotiate("br;q=0.5, gzip;q=0.9"), Coding::kGzip);  // q beats our order
  EXPECT_EQ(p.Negotiate("zstd;q=0, br;q=0, *"), Coding::kGzip);
  EXPECT_EQ(p.Negotiate("*"), Coding::kZstd);
  EXPECT_EQ(p.Negotiate("gzip;q=0"), Coding::kIdentity);
  EXPECT_EQ(p.Negotiate("x-gzip"), Coding::kGzip);  // the shared parser's alias
}

TEST(NegotiateTest, ConfiguredOrderAndSubset) {
  config::v1::CompressPolicy proto;
  proto.add_encodings("gzip");
  proto.add_encodings("br");
  const Policy p = *Policy::Compile(proto);
  EXPECT_EQ(p.Negotiate("br, gzip, zstd"), Coding::kGzip);
  EXPECT_EQ(p.Negotiate("zstd"), Coding::kIdentity);  // not offered by this policy
  proto.add_encodings("deflate");
  EXPECT_FALSE(Policy::Compile(proto).ok());
}

TEST(ContentTypeTest, DefaultsAndLists) {
  const Policy p = Default();
  for (const char* t : {"text/html", "text/css; charset=utf-8", "Text/Plain", "application/json",
                        "application/problem+json", "application/javascript", "image/svg+xml",
                        "application/atom+xml", "application/xml"}) {
    EXPECT_TRUE(p.CompressesType(t)) << t;
  }
  for (const char* t : {"", "image/png", "application/octet-stream", "application/wasm", "video/mp4",
                        "application/zip", "text/event-stream", "application/jsonx"}) {
    EXPECT_FALSE(p.CompressesType(t)) << t;
  }
  config::v1::CompressPolicy proto;
  proto.add_included_content_types("application/octet-stream");
  proto.add_included_content_types("text/*");
  proto.add_excluded_content_types("text/csv");
  const Policy q = *Policy::Compile(proto);
  EXPECT_TRUE(q.CompressesType("application/octet-stream"));
  EXPECT_TRUE(q.CompressesType("text/html"));
  EXPECT_FALSE(q.CompressesType("text/csv"));
  EXPECT_FALSE(q.CompressesType("application/json"));  // a list replaces the defaults
  EXPECT_FALSE(q.CompressesType("text/event-stream"));  // only when listed exactly
  proto.add_included_content_types("text/event-stream");
  EXPECT_TRUE(Policy::Compile(proto)->CompressesType("text/event-stream"));
}

TEST(RequestTest, HeadAndRangeAreNotCompressed) {
  EXPECT_TRUE(RequestAllows("GET", false));
  EXPECT_TRUE(RequestAllows("POST", false));
  EXPECT_FALSE(RequestAllows("HEAD", false));
  EXPECT_FALSE(RequestAllows("GET", true));
}

std::unique_ptr<ResponseCompressor> StartWith(std::vector<http::Header> headers, int status = 200,
                                              http::BodyFraming framing = http::BodyFraming::kChunked,
                                              uint64_t length = 0) {
  static const Policy p = Default();
  return ResponseCompressor::Start(p, Coding::kGzip, status, headers, framing, length);
}

TEST(ResponseTest, Eligibility) {
  const http::Header html{"Content-Type", "text/html"};
  EXPECT_NE(StartWith({html}), nullptr);
  EXPECT_NE(StartWith({html}, 404), nullptr);
  EXPECT_NE(StartWith({html}, 200, http::BodyFraming::kUntilClose), nullptr);
  EXPECT_NE(StartWith({html}, 200, http::BodyFraming::kContentLength, 1024), nullptr);
  EXPECT_EQ(StartWith({html}, 200, http::BodyFraming::kContentLength, 1023), nullptr);  // under min
  EXPECT_EQ(StartWith({html}, 200, http::BodyFraming::kNone), nullptr);
  for (int status : {101, 204, 206, 304}) EXPECT_EQ(StartWith({html}, status), nullptr) << status;
  EXPECT_EQ(StartWith({}), nullptr);  // no Content-Type
  EXPECT_EQ(StartWith({{"Content-Type", "image/png"}}), nullptr);
  EXPECT_EQ(StartWith({html, {"Content-Encoding", "gzip"}}), nullptr);
  EXPECT_NE(StartWith({html, {"Content-Encoding", "identity"}}), nullptr);
  EXPECT_EQ(StartWith({html, {"Cache-Control", "public, No-Transform"}}), nullptr);
  EXPECT_EQ(StartWith({html, {"Cache-Control", "max-age=60"}, {"cache-control", "no-transform"}}), nullptr);
  EXPECT_NE(StartWith({html, {"Cache-Control", "max-age=60, no-cache"}}), nullptr);
  const Policy p = Default();
  EXPECT_EQ(ResponseCompressor::Start(p, Coding::kIdentity, 200, {html}, http::BodyFraming::kChunked, 0), nullptr);
}

std::string Added(const ResponseCompressor& rc, absl::string_view name) {
  for (const http::Header& h : rc.added_fields()) {
    if (h.name == name) return std::string(h.value);
  }
  return "<none>";
}

TEST(ResponseTest, HeadRewrite) {
  auto rc = StartWith({{"Content-Type", "text/html"}, {"ETag", "\"abc\""}});
  ASSERT_NE(rc, nullptr);
  EXPECT_EQ(Added(*rc, "Content-Encoding"), "gzip");
  EXPECT_EQ(Added(*rc, "Vary"), "Accept-Encoding");
  EXPECT_EQ(Added(*rc, "ETag"), "W/\"abc\"");
  rc = StartWith({{"Content-Type", "text/html"}, {"ETag", "W/\"x\""}, {"Vary", "Origin"}, {"vary", "Cookie, accept-encoding"}});
  ASSERT_NE(rc, nullptr);
  EXPECT_EQ(Added(*rc, "ETag"), "W/\"x\"");
  EXPECT_EQ(Added(*rc, "Vary"), "Origin, Cookie, accept-encoding");
  rc = StartWith({{"Content-Type", "text/html"}, {"Vary", "*"}});
  EXPECT_EQ(Added(*rc, "Vary"), "*");
  EXPECT_EQ(Added(*rc, "ETag"), "<none>");
  for (const char* name : {"Content-Length", "etag", "VARY", "Accept-Ranges", "Content-Encoding"}) {
    EXPECT_TRUE(ResponseCompressor::Replaces(name)) << name;
  }
  EXPECT_FALSE(ResponseCompressor::Replaces("Content-Type"));
  EXPECT_FALSE(ResponseCompressor::Replaces("Cache-Control"));
}

// Undoes the chunked framing.
std::string Dechunk(absl::string_view framed, bool* terminated) {
  std::string body;
  *terminated = false;
  while (!framed.empty()) {
    const size_t eol = framed.find("\r\n");
    const size_t n = std::stoul(std::string(framed.substr(0, eol)), nullptr, 16);
    if (n == 0) {
      *terminated = framed.substr(eol) == "\r\n\r\n";
      return body;
    }
    body.append(framed.substr(eol + 2, n).data(), n);
    EXPECT_EQ(framed.substr(eol + 2 + n, 2), "\r\n");
    framed.remove_prefix(eol + 4 + n);
  }
  return body;
}

TEST(ResponseTest, BodyBecomesGzipChunks) {
  auto rc = StartWith({{"Content-Type", "application/json"}});
  ASSERT_NE(rc, nullptr);
  std::string input, framed;
  for (int i = 0; i < 2000; ++i) input += "{\"id\":" + std::to_string(i) + ",\"name\":\"thing\"},";
  for (size_t off = 0; off < input.size(); off += 1000) {
    auto out = rc->Feed(absl::string_view(input).substr(off, 1000), off % 10000 == 0);
    ASSERT_TRUE(out.ok());
    framed.append(out->data(), out->size());
  }
  EXPECT_FALSE(rc->finished());
  auto last = rc->Finish();
  ASSERT_TRUE(last.ok());
  framed.append(last->data(), last->size());
  EXPECT_TRUE(rc->finished());
  EXPECT_EQ(rc->bytes_in(), input.size());
  bool terminated = false;
  const std::string gz = Dechunk(framed, &terminated);
  EXPECT_TRUE(terminated);
  std::string plain(input.size() + 16, '\0');
  z_stream z{};
  ASSERT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = gz.size();
  z.next_out = reinterpret_cast<Bytef*>(plain.data());
  z.avail_out = plain.size();
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  plain.resize(z.total_out);
  inflateEnd(&z);
  EXPECT_EQ(plain, input);
}

}  // namespace
}  // namespace edgerouter::policies::compress
