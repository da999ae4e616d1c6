#include "common/turbocharger/manifest.h"

#include "gtest/gtest.h"

namespace edgerouter::turbocharger {
namespace {

TEST(ObjectIdTest, Base64UrlOfSha256WithoutPadding) {
  // SHA-256("") = e3b0c442 98fc1c14 ...: "+" and "/" become "-" and "_", no "=".
  EXPECT_EQ(ObjectId::ForContent("").ToString(), "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
  auto parsed = ObjectId::Parse("47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, ObjectId::ForContent(""));
}

TEST(ObjectIdTest, RejectsBadStrings) {
  EXPECT_EQ(ObjectId::Parse("47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU===").status().message(),
            "invalid length for ObjectID; got 46");
  EXPECT_FALSE(ObjectId::Parse("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU").ok());  // std alphabet
  EXPECT_FALSE(ObjectId::Parse("47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFV").ok());  // not canonical
}

TEST(ManifestTest, GoCompactJsonAndRoundTrip) {
  auto m = MakeManifest("blog", absl::FromUnixNanos(1627646400123456789), 
                        {{"/index.html", ObjectId::ForContent("b").ToString()},
                         {"/404.html", ObjectId::ForContent("a").ToString()}});
  ASSERT_TRUE(m.ok());
  const std::string json = SerializeManifest(*m);
  EXPECT_EQ(json, "{\"metadata\":{\"project\":\"blog\",\"deployed\":\"2021-07-30T12:00:00.123456789Z\"},"
                  "\"files\":[{\"path\":\"/404.html\",\"id\":\"" + ObjectId::ForContent("a").ToString() +
                  "\"},{\"path\":\"/index.html\",\"id\":\"" + ObjectId::ForContent("b").ToString() + "\"}]}");
  auto back = ParseManifest(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(SerializeManifest(*back), json);
  ASSERT_NE(back->Find("/index.html"), nullptr);
  EXPECT_EQ(*back->Find("/index.html"), ObjectId::ForContent("b").ToString());
  EXPECT_EQ(back->Find("/INDEX.html"), nullptr);
  EXPECT_EQ(back->Find("/"), nullptr);
}

TEST(ManifestTest, GoEscapingAndTimes) {
  Manifest m{"a<b>&\"c\"\n\xe2\x80\xa8\xff", "2021-07-30T12:00:00Z", {}};
  EXPECT_EQ(SerializeManifest(m),
            "{\"metadata\":{\"project\":\"a\\u003cb\\u003e\\u0026\\\"c\\\"\\n\\u2028\\ufffd\","
            "\"deployed\":\"2021-07-30T12:00:00Z\"},\"files\":[]}");
  EXPECT_EQ(GoRfc3339Nano(absl::FromUnixSeconds(1627646400)), "2021-07-30T12:00:00Z");
  EXPECT_EQ(GoRfc3339Nano(absl::FromUnixNanos(1627646400120000000)), "2021-07-30T12:00:00.12Z");
}

TEST(ManifestTest, RejectsBadManifests) {
  EXPECT_FALSE(ParseManifest("[]").ok());
  EXPECT_FALSE(MakeManifest("p", absl::Now(), {}).ok());
  const std::string id = ObjectId::ForContent("x").ToString();
  auto bad = ParseManifest("{\"metadata\":{\"project\":\"p\",\"deployed\":\"d\"},\"files\":[{\"path\":\"/b\",\"id\":\"" +
                           id + "\"},{\"path\":\"/a\",\"id\":\"" + id + "\"}]}");
  EXPECT_FALSE(bad.ok());
  auto no_slash = ParseManifest("{\"metadata\":{\"project\":\"p\",\"deployed\":\"d\"},\"files\":[{\"path\":\"a\",\"id\":\"" +
                                id + "\"}]}");
  EXPECT_FALSE(no_slash.ok());
}

TEST(ManifestTest, StoreLocationAndKeys) {
  auto loc = ParseStoreLocation("s3://eu-central-1/my-bucket");
  ASSERT_TRUE(loc.ok());
  EXPECT_EQ(loc->region, "eu-central-1");
  EXPECT_EQ(loc->bucket, "my-bucket");
  EXPECT_FALSE(ParseStoreLocation("file:///tmp").ok());
  EXPECT_FALSE(ParseStoreLocation("s3://region").ok());
  EXPECT_EQ(FileKey("x"), "turbocharger/files/x");
  EXPECT_EQ(ManifestKey("x"), "turbocharger/manifests/x");
  EXPECT_TRUE(ExpectedToCompressWell("/a/app.JS"));
  EXPECT_FALSE(ExpectedToCompressWell("/img.png"));
  EXPECT_FALSE(ExpectedToCompressWell("/js"));
}

}  // namespace
}  // namespace edgerouter::turbocharger
