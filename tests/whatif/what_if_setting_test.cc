#include "whatif/what_if_setting.h"

#include <gtest/gtest.h>

namespace yoloscope {
namespace {

TEST(WhatIfSettingTest, AppliesKeysOnTopOfTheBase) {
  WhatIfSetting base;
  base.max_batch_size = 4;
  base.instances = 1;
  auto s = ApplyWhatIf("max_batch=8, max_queue_delay_us=2000,instances=2,rate=x1.5", base);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->max_batch_size, 8);
  EXPECT_EQ(s->max_queue_delay_us, 2000);
  EXPECT_EQ(s->instances, 2);
  EXPECT_DOUBLE_EQ(s->rate_scale, 1.5);
  EXPECT_EQ(s->max_queue_size, base.max_queue_size);  // untouched
  EXPECT_EQ(s->label, "max_batch=8, max_queue_delay_us=2000,instances=2,rate=x1.5");

  auto t = ApplyWhatIf("window_ms=2.5,rate=300/s,policy=adaptive,queue_size=64", base);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->max_queue_delay_us, 2500);
  EXPECT_DOUBLE_EQ(t->rate_per_s, 300);
  EXPECT_EQ(t->policy, BatchPolicy::kAdaptive);
  EXPECT_EQ(t->max_queue_size, 64);
  // Round trip through the description.
  auto u = ApplyWhatIf(DescribeWhatIf(*t), WhatIfSetting{});
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(DescribeWhatIf(*u), DescribeWhatIf(*t));
}

TEST(WhatIfSettingTest, DevicesRaiseInstancesUnlessTheSpecSetsThem) {
  WhatIfSetting base;
  base.instances = 1;
  auto g = ApplyWhatIf("gpus=3", base);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->devices, 3);
  EXPECT_EQ(g->instances, 3);  // an instance on each device
  auto both = ApplyWhatIf("devices=2,instances=4", base);
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->devices, 2);
  EXPECT_EQ(both->instances, 4);  // two per device
  EXPECT_NE(DescribeWhatIf(*both).find(",devices=2"), std::string::npos);
  EXPECT_EQ(DescribeWhatIf(base).find("devices"), std::string::npos);  // 0 = as logged
  EXPECT_FALSE(ApplyWhatIf("devices=0", base).ok());
}

TEST(WhatIfSettingTest, RejectsBadInput) {
  const WhatIfSetting base;
  for (const char* bad : {"", "max_batch", "max_batch=0", "max_batch=x", "instances=0",
                          "rate=x0", "rate=-3", "rate=fast", "colour=red",
                          "max_queue_delay_us=-1", "policy=greedy", "queue_size=0"}) {
    auto s = ApplyWhatIf(bad, base);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace yoloscope
