#include "dataplane/util/sharded_map.h"

#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace edgerouter::util {
namespace {

TEST(ShardedMapTest, CopiesShareShardsUntilOneSideWrites) {
  ShardedMap<int> a;
  for (int i = 0; i < 1000; ++i) a.Set(absl::StrCat("k", i), i);
  ShardedMap<int> b = a;
  EXPECT_TRUE(b.SharesShardWith(a, "k1"));
  b.Set("k1", -1);
  EXPECT_FALSE(b.SharesShardWith(a, "k1"));
  EXPECT_EQ(*a.Find("k1"), 1);  // the source is untouched
  EXPECT_EQ(*b.Find("k1"), -1);
  // Every other shard is still the same object.
  int shared = 0;
  for (int i = 0; i < 1000; ++i) shared += b.SharesShardWith(a, absl::StrCat("k", i));
  EXPECT_GE(shared, 1000 - 20);

  // A write to the source after the copy clones too (the copy took its ownership away).
  ShardedMap<int> c = b;
  b.Set("k1", -2);
  EXPECT_EQ(*c.Find("k1"), -1);
  EXPECT_TRUE(b.Erase("k2"));
  EXPECT_NE(c.Find("k2"), nullptr);
  EXPECT_EQ(b.size(), 999u);
  EXPECT_EQ(c.size(), 1000u);
  EXPECT_FALSE(b.Erase("k2"));
}

TEST(ShardedMapTest, BehavesLikeAMapUnderRandomEdits) {
  std::mt19937 rng(7);
  std::map<std::string, int> model;
  ShardedMap<int> map;
  std::vector<ShardedMap<int>> versions;
  std::vector<std::map<std::string, int>> models;
  for (int step = 0; step < 3000; ++step) {
    const std::string key = absl::StrCat("key-", rng() % 300);
    if (rng() % 3 == 0) {
      EXPECT_EQ(map.Erase(key), model.erase(key) == 1);
    } else {
      const int value = static_cast<int>(rng() % 1000);
      map.Set(key, value);
      model[key] = value;
    }
    if (step % 100 == 0) {
      versions.push_back(map);
      models.push_back(model);
    }
  }
  auto check = [](const ShardedMap<int>& m, const std::map<std::string, int>& want) {
    ASSERT_EQ(m.size(), want.size());
    auto sorted = m.Sorted();
    size_t i = 0;
    for (const auto& [k, v] : want) {
      EXPECT_EQ(*sorted[i].first, k);
      EXPECT_EQ(*sorted[i].second, v);
      ++i;
    }
  };
  check(map, model);
  // Earlier versions never saw the later edits.
  for (size_t v = 0; v < versions.size(); ++v) check(versions[v], models[v]);
}

}  // namespace
}  // namespace edgerouter::util
