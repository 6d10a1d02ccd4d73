#include "analyzer/aggregate/work_key.h"

#include <gtest/gtest.h>

#include <vector>

namespace yoloscope {
namespace {

// Tables are indexed by a hash's low bits: keys that differ in any one field
// (here the input size class and the record kind above all) must spread over
// them like random ones.
TEST(WorkKeyHashTest, LowBitsSpreadOverEveryField) {
  std::vector<bool> used(256, false);
  int keys = 0;
  for (int gpu = 0; gpu < 2; ++gpu) {
    for (int batch = 1; batch <= 16; ++batch) {
      for (int size_class = 1; size_class <= 7; ++size_class) {
        for (int from_batch = 0; from_batch < 2; ++from_batch) {
          WorkKey k;
          k.model_hash = ModelHash("yolov8n");
          k.gpu_id = gpu;
          k.batch_size = batch;
          k.size_class = static_cast<int16_t>(size_class);
          k.from_batch_record = static_cast<uint8_t>(from_batch);
          used[WorkKeyHash()(k) & 255] = true;
          ++keys;
        }
      }
    }
  }
  int slots = 0;
  for (bool u : used) slots += u ? 1 : 0;
  // 448 random keys fill 256 * (1 - e^(-448/256)) ~ 212 slots on average.
  EXPECT_EQ(keys, 448);
  EXPECT_GE(slots, 190);
}

}  // namespace
}  // namespace yoloscope
