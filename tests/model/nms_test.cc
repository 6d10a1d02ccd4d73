#include "model/nms.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace yoloscope {
namespace {

NmsCandidate Box(float x1, float y1, float x2, float y2, float score, int cls = 0, int index = 0) {
  return NmsCandidate{x1, y1, x2, y2, score, cls, index};
}

TEST(NmsTest, Iou) {
  EXPECT_FLOAT_EQ(Nms::Iou(Box(0, 0, 10, 10, 1), Box(0, 0, 10, 10, 1)), 1.f);
  EXPECT_FLOAT_EQ(Nms::Iou(Box(0, 0, 100, 100, 1), Box(0, 0, 100, 50, 1)), 0.5f);
  EXPECT_FLOAT_EQ(Nms::Iou(Box(0, 0, 10, 10, 1), Box(10, 0, 20, 10, 1)), 0.f);  // touching
  EXPECT_FLOAT_EQ(Nms::Iou(Box(0, 0, 0, 0, 1), Box(0, 0, 0, 0, 1)), 0.f);       // empty
  EXPECT_FLOAT_EQ(Nms::Iou(Box(0, 0, 2, 2, 1), Box(1, 1, 3, 3, 1)), 1.f / 7.f);
}

TEST(NmsTest, GreedyChain) {
  // A suppresses B; B would have suppressed C, but B is gone, so C stays.
  std::vector<NmsCandidate> c = {Box(0, 0, 10, 10, 0.9f, 0, 0), Box(3, 0, 13, 10, 0.8f, 0, 1),
                                 Box(6, 0, 16, 10, 0.7f, 0, 2)};
  std::vector<NmsCandidate> kept;
  Nms nms;
  NmsOptions options;
  options.iou_threshold = 0.5f;  // IoU(A,B) = 70/130, IoU(B,C) = 70/130, IoU(A,C) = 40/160.
  nms.Run(options, &c, &kept);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].index, 0);
  EXPECT_EQ(kept[1].index, 2);
}

TEST(NmsTest, OrderIsScoreThenIndexThenClass) {
  std::vector<NmsCandidate> c = {Box(0, 0, 1, 1, 0.5f, 1, 4), Box(5, 5, 6, 6, 0.5f, 0, 4),
                                 Box(9, 9, 10, 10, 0.5f, 0, 2), Box(20, 20, 21, 21, 0.6f, 0, 9)};
  std::vector<NmsCandidate> kept;
  Nms nms;
  nms.Run(NmsOptions{}, &c, &kept);
  ASSERT_EQ(kept.size(), 4u);
  EXPECT_EQ(kept[0].index, 9);
  EXPECT_EQ(kept[1].index, 2);
  EXPECT_EQ(kept[2].index, 4);
  EXPECT_EQ(kept[2].class_id, 0);
  EXPECT_EQ(kept[3].class_id, 1);
}

TEST(NmsTest, CapsAndNan) {
  std::vector<NmsCandidate> c;
  for (int i = 0; i < 10; ++i) c.push_back(Box(i * 10.f, 0, i * 10.f + 5, 5, 0.1f * i, 0, i));
  c.push_back(Box(200, 200, 210, 210, NAN, 0, 10));
  std::vector<NmsCandidate> kept;
  Nms nms;
  NmsOptions options;
  options.max_candidates = 4;
  options.max_det = 3;
  nms.Run(options, &c, &kept);
  EXPECT_EQ(c.size(), 4u);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[0].index, 9);
  EXPECT_EQ(kept[2].index, 7);

  std::vector<NmsCandidate> none;
  nms.Run(NmsOptions{}, &none, &kept);
  EXPECT_TRUE(kept.empty());
}

TEST(NmsTest, LargeInputsFollowTheDocumentedOrder) {
  // Above the radix-sort cutoff, with heavy ties, -0/+0, negative scores and
  // shuffled input: the kept order must equal sorting by Nms::Before.
  std::mt19937 rng(7);
  std::vector<NmsCandidate> c;
  const float levels[] = {0.9f, 0.5f, 0.25f, 0.f, -0.f, -0.5f, 1e-30f, 0.7f};
  for (int i = 0; i < 1000; ++i) {
    const float x = static_cast<float>(i % 40) * 20, y = static_cast<float>(i / 40) * 20;
    c.push_back(Box(x, y, x + 10, y + 10, levels[rng() % 8], static_cast<int>(rng() % 3), i / 2));
  }
  std::shuffle(c.begin(), c.end(), rng);
  std::vector<NmsCandidate> want = c;
  std::sort(want.begin(), want.end(), Nms::Before);
  std::vector<NmsCandidate> kept;
  Nms nms;
  NmsOptions options;
  options.max_det = 1000;
  nms.Run(options, &c, &kept);
  ASSERT_EQ(kept.size(), want.size());
  for (size_t i = 0; i < kept.size(); ++i) {
    ASSERT_EQ(kept[i].score, want[i].score) << i;
    ASSERT_EQ(kept[i].index, want[i].index) << i;
    ASSERT_EQ(kept[i].class_id, want[i].class_id) << i;
  }
}

}  // namespace
}  // namespace yoloscope
