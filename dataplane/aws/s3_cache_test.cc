#include "dataplane/aws/s3_cache.h"

#include "gtest/gtest.h"

namespace edgerouter::aws {
namespace {

std::shared_ptr<const S3Object> Object(size_t size) {
  auto o = std::make_shared<S3Object>();
  o->body.assign(size, 'x');
  return o;
}

TEST(S3Cache, EvictsLeastRecentlyUsedBeyondTheBound) {
  S3Cache cache(3 * (1000 + 128 + 8));
  std::string key;
  for (const char* k : {"a", "b", "c"}) {
    S3Cache::MakeKey("app", "v1", k, &key);
    cache.Insert(key, Object(1000));
  }
  EXPECT_EQ(cache.entries(), 3u);
  S3Cache::MakeKey("app", "v1", "a", &key);
  EXPECT_NE(cache.Find(key), nullptr);  // a is now the most recent
  S3Cache::MakeKey("app", "v1", "d", &key);
  cache.Insert(key, Object(1000));  // evicts b
  S3Cache::MakeKey("app", "v1", "b", &key);
  EXPECT_EQ(cache.Find(key), nullptr);
  S3Cache::MakeKey("app", "v1", "a", &key);
  EXPECT_NE(cache.Find(key), nullptr);
  EXPECT_LE(cache.bytes(), 3u * (1000 + 128 + 8));
  EXPECT_EQ(cache.hits(), 2u);
  EXPECT_EQ(cache.misses(), 1u);
}

TEST(S3Cache, VersionIsPartOfTheKeyAndOversizedObjectsAreSkipped) {
  S3Cache cache(10000);
  std::string v1, v2;
  S3Cache::MakeKey("app", "v1", "index.html", &v1);
  S3Cache::MakeKey("app", "v2", "index.html", &v2);
  cache.Insert(v1, Object(10));
  EXPECT_EQ(cache.Find(v2), nullptr);
  cache.Insert(v2, Object(20000));
  EXPECT_EQ(cache.Find(v2), nullptr);
  EXPECT_EQ(cache.entries(), 1u);
}

}  // namespace
}  // namespace edgerouter::aws
