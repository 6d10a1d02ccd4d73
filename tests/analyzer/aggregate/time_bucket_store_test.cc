#include "analyzer/aggregate/time_bucket_store.h"

#include <gtest/gtest.h>

#include <vector>

namespace yoloscope {
namespace {

WorkKey Key(int i) {
  WorkKey k;
  k.model_hash = 1 + static_cast<uint64_t>(i % 3);
  k.gpu_id = i % 2;
  k.batch_size = i;
  k.size_class = static_cast<int16_t>(i % 7);
  return k;
}

// A bucket's cells are found through a hash index once there are a few: the
// same key must always land in the same cell, whatever happened to `work`
// in between (merges appending cells, sorting).
TEST(TimeBucketTest, CellsAreFoundAgainThroughTheIndex) {
  TimeBucket b;
  constexpr int kKeys = 300;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < kKeys; ++i) {
      bool added = false;
      WorkCell& c = b.Cell(Key(i), &added);
      EXPECT_EQ(added, round == 0) << i;
      EXPECT_EQ(c.key, Key(i));
      ++c.inference_n;
    }
  }
  ASSERT_EQ(b.work.size(), static_cast<size_t>(kKeys));
  for (const WorkCell& c : b.work) EXPECT_EQ(c.inference_n, 3);

  // Sorting moves every cell: the index must follow.
  b.SortCells();
  for (int i = 0; i < kKeys; ++i) {
    bool added = false;
    EXPECT_EQ(b.Cell(Key(i), &added).key, Key(i));
    EXPECT_FALSE(added) << i;
  }

  // Cells appended by a merge, then a sort: still one cell per key.
  std::vector<WorkCell> other;
  for (int i = kKeys - 50; i < kKeys + 50; ++i) {
    WorkCell c;
    c.key = Key(i);
    c.hash = WorkKeyHash()(c.key);
    c.inference_n = 10;
    other.push_back(c);
  }
  b.MergeCells(other);
  ASSERT_EQ(b.work.size(), static_cast<size_t>(kKeys + 50));
  b.SortCells();
  for (int i = 0; i < kKeys + 50; ++i) {
    bool added = false;
    WorkCell& c = b.Cell(Key(i), &added);
    EXPECT_FALSE(added) << i;
    EXPECT_EQ(c.inference_n, i < kKeys - 50 ? 3 : (i < kKeys ? 13 : 10)) << i;
  }
  bool added = false;
  b.Cell(Key(kKeys + 50), &added);
  EXPECT_TRUE(added);
  EXPECT_EQ(b.work.size(), static_cast<size_t>(kKeys + 51));
}

}  // namespace
}  // namespace yoloscope
