#include <stdlib.h>
#include <sys/stat.h>

#include <string>

#include "absl/strings/match.h"

#include "common/turbocharger/manifest.h"
#include "dataplane/turbocharger/disk_cache.h"
#include "dataplane/turbocharger/gzip.h"
#include "dataplane/turbocharger/runtime.h"
#include "dataplane/turbocharger/stats.h"
#include "gtest/gtest.h"

namespace edgerouter::turbocharger {
namespace {

std::string TempDir() {
  std::string templ = std::string(getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp") + "/tcXXXXXX";
  return mkdtemp(templ.data());
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

TEST(DiskCacheTest, LayoutAtomicWritesAndLruBound) {
  const std::string dir = TempDir() + "/cache";
  auto cache = DiskCache::Open(dir, 250);
  ASSERT_TRUE(cache.ok()) << cache.status();
  ASSERT_TRUE((*cache)->Write(Layout::kGzipped, "a", std::string(100, 'a')).ok());
  ASSERT_TRUE((*cache)->Write(Layout::kUncompressed, "b", std::string(100, 'b')).ok());
  EXPECT_TRUE(Exists(dir + "/gzipped/a"));
  EXPECT_TRUE(Exists(dir + "/uncompressed/b"));
  EXPECT_EQ((*cache)->Read(Layout::kGzipped, "a"), std::string(100, 'a'));  // a is now the most recent
  EXPECT_EQ((*cache)->Read(Layout::kUncompressed, "a"), std::nullopt);
  ASSERT_TRUE((*cache)->Write(Layout::kUncompressed, "c", std::string(100, 'c')).ok());
  // 300 > 250: the least recently used (b) goes.
  EXPECT_FALSE(Exists(dir + "/uncompressed/b"));
  EXPECT_TRUE(Exists(dir + "/gzipped/a"));
  EXPECT_TRUE(Exists(dir + "/uncompressed/c"));
  EXPECT_EQ((*cache)->bytes(), 200u);
  EXPECT_EQ((*cache)->evictions(), 1u);
}

TEST(DiskCacheTest, ReopenKeepsEntriesAndDropsTempFiles) {
  const std::string dir = TempDir() + "/cache";
  {
    auto cache = DiskCache::Open(dir, 0);
    ASSERT_TRUE(cache.ok());
    ASSERT_TRUE((*cache)->Write(Layout::kUncompressed, "x", "hello").ok());
  }
  FILE* f = fopen((dir + "/uncompressed/.tmp-y-1-1").c_str(), "w");
  fputs("partial", f);
  fclose(f);
  auto cache = DiskCache::Open(dir, 0);
  ASSERT_TRUE(cache.ok());
  EXPECT_EQ((*cache)->Read(Layout::kUncompressed, "x"), "hello");
  EXPECT_EQ((*cache)->entries(), 1u);
  EXPECT_FALSE(Exists(dir + "/uncompressed/.tmp-y-1-1"));
}

TEST(DiskCacheTest, ReopenPrunesToASmallerBoundOldestFirst) {
  const std::string dir = TempDir() + "/cache";
  {
    auto cache = DiskCache::Open(dir, 0);
    ASSERT_TRUE(cache.ok());
    for (const char* id : {"1", "2", "3"}) ASSERT_TRUE((*cache)->Write(Layout::kUncompressed, id, "0123456789").ok());
    ASSERT_TRUE((*cache)->Read(Layout::kUncompressed, "1").has_value());  // 1 is the most recent now
  }
  auto cache = DiskCache::Open(dir, 20);
  ASSERT_TRUE(cache.ok());
  EXPECT_FALSE(Exists(dir + "/uncompressed/2"));
  EXPECT_TRUE(Exists(dir + "/uncompressed/1"));
  EXPECT_TRUE(Exists(dir + "/uncompressed/3"));
}

TEST(GzipTest, RoundTripAndCorruption) {
  const std::string text(10000, 'x');
  const std::string gz = GzipCompress(text);
  EXPECT_LT(gz.size(), 200u);
  EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);
  std::string out;
  ASSERT_TRUE(GzipDecompress(gz, 1 << 20, &out).ok());
  EXPECT_EQ(out, text);
  EXPECT_FALSE(GzipDecompress(gz, 100, &out).ok());
  EXPECT_FALSE(GzipDecompress(gz.substr(0, gz.size() / 2), 1 << 20, &out).ok());
  EXPECT_FALSE(GzipDecompress("not gzip", 1 << 20, &out).ok());
}

TEST(RuntimeTest, ManifestsAreCheckedAgainstTheirIdAndCached) {
  const std::string dir = TempDir() + "/cache";
  auto rt = Runtime::Create("s3://eu-west-1/bucket", dir, 0);
  ASSERT_TRUE(rt.ok()) << rt.status();
  auto m = MakeManifest("p", absl::Now(), {{"/index.html", ObjectId::ForContent("hi").ToString()}});
  ASSERT_TRUE(m.ok());
  const std::string json = SerializeManifest(*m);
  const std::string id = ObjectId::ForContent(json).ToString();
  EXPECT_EQ((*rt)->FindManifest(id), nullptr);
  EXPECT_FALSE((*rt)->AddManifest(id, json + " ").ok());
  ASSERT_TRUE((*rt)->AddManifest(id, json).ok());
  EXPECT_TRUE(Exists(dir + "/uncompressed/" + id));
  // A fresh process reads it from disk.
  auto rt2 = Runtime::Create("s3://eu-west-1/bucket", dir, 0);
  ASSERT_TRUE(rt2.ok());
  auto found = (*rt2)->FindManifest(id);
  ASSERT_NE(found, nullptr);
  EXPECT_NE(found->Find("/index.html"), nullptr);
  EXPECT_FALSE(Runtime::Create("file:///x", dir, 0).ok());
}

TEST(RuntimeTest, OneDownloadPerKeyWaitersAreWoken) {
  auto rt = Runtime::Create("s3://r/b", TempDir() + "/c", 0);
  ASSERT_TRUE(rt.ok());
  int woken = 0;
  EXPECT_TRUE((*rt)->BeginDownload("k", [&] { ++woken; }));
  EXPECT_FALSE((*rt)->BeginDownload("k", [&] { ++woken; }));
  EXPECT_FALSE((*rt)->BeginDownload("k", [&] { ++woken; }));
  EXPECT_TRUE((*rt)->BeginDownload("other", [] {}));
  (*rt)->EndDownload("k");
  EXPECT_EQ(woken, 2);
  EXPECT_TRUE((*rt)->BeginDownload("k", [] {}));  // free again
}

TEST(StatsTest, PerAppSeriesOnceCountedAndCacheSeries) {
  const std::string dir = TempDir() + "/cache";
  auto cache = DiskCache::Open(dir, 150);
  ASSERT_TRUE(cache.ok()) << cache.status();
  ASSERT_TRUE((*cache)->Write(Layout::kGzipped, "a", std::string(100, 'a')).ok());
  ASSERT_TRUE((*cache)->Write(Layout::kGzipped, "b", std::string(100, 'b')).ok());  // prunes a
  Stats stats;
  AppStats* site = stats.App("site");
  EXPECT_EQ(stats.App("site"), site);  // one entry per app, stable
  stats.App("idle");                   // never counted: no series
  site->served += 3;
  site->detached += 1;
  stats.App("q\"uote")->served += 1;
  stats.memory_hits += 2;
  stats.misses += 1;
  stats.downloads += 1;
  const std::string text = stats.RenderPrometheus(**cache);
  for (const char* want : {"# TYPE er_dp_turbocharger_requests_total counter\n",
                           "er_dp_turbocharger_requests_total{app=\"site\"} 3\n",
                           "er_dp_turbocharger_requests_total{app=\"q\\\"uote\"} 1\n",
                           "er_dp_turbocharger_revalidations_total{app=\"site\",result=\"detached\"} 1\n",
                           "er_dp_turbocharger_cache_hits_total{tier=\"memory\"} 2\n",
                           "er_dp_turbocharger_cache_hits_total{tier=\"disk\"} 0\n",
                           "er_dp_turbocharger_cache_misses_total 1\n",
                           "er_dp_turbocharger_downloads_total{result=\"ok\"} 1\n",
                           "er_dp_turbocharger_disk_cache_prunes_total 1\n",
                           "er_dp_turbocharger_disk_cache_bytes 100\n",
                           "er_dp_turbocharger_disk_cache_entries 1\n"}) {
    EXPECT_TRUE(absl::StrContains(text, want)) << want << "\n" << text;
  }
  EXPECT_FALSE(absl::StrContains(text, "idle")) << text;
  EXPECT_FALSE(absl::StrContains(text, "result=\"renewed\"")) << text;
}

}  // namespace
}  // namespace edgerouter::turbocharger
