// The fixes tried for a finding (docs/what-if.md, "Findings with a
// predicted fix"): the finding's own suggestion, as --what-if specs on the
// logged setting.
#include "whatif/finding_fixes.h"

#include <gtest/gtest.h>

namespace yoloscope {
namespace {

Finding MakeFinding(const std::string& kind, std::vector<std::pair<std::string, double>> metrics) {
  Finding f;
  f.kind = kind;
  f.metrics = std::move(metrics);
  return f;
}

TEST(FindingFixesTest, OnlyBatchingAndQueueFindingsAreLinked) {
  EXPECT_TRUE(FindingFixes::Linkable("underbatching"));
  EXPECT_TRUE(FindingFixes::Linkable("batch_window_too_long"));
  EXPECT_TRUE(FindingFixes::Linkable("queue_saturation"));
  EXPECT_FALSE(FindingFixes::Linkable("oom"));
  WhatIfSetting logged;
  EXPECT_TRUE(FindingFixes::Candidates(MakeFinding("oom", {}), logged).empty());
}

TEST(FindingFixesTest, UnderbatchingTriesTheSuggestedBatchWithAndWithoutItsWindow) {
  WhatIfSetting logged;
  logged.max_batch_size = 1;
  const auto c = FindingFixes::Candidates(
      MakeFinding("underbatching", {{"suggested_max_batch", 8}, {"suggested_max_wait_ms", 2}}),
      logged);
  EXPECT_EQ(c, (std::vector<std::string>{"max_batch=8,max_queue_delay_us=2000", "max_batch=8"}));
  // Already allowed: the window, and a larger batch with it.
  logged.max_batch_size = 8;
  const auto d = FindingFixes::Candidates(
      MakeFinding("underbatching", {{"suggested_max_batch", 4}, {"suggested_max_wait_ms", 1}}),
      logged);
  EXPECT_EQ(d, (std::vector<std::string>{"max_queue_delay_us=1000",
                                         "max_batch=16,max_queue_delay_us=1000"}));
  // Every candidate parses on the logged setting.
  for (const std::string& spec : c) EXPECT_TRUE(ApplyWhatIf(spec, logged).ok()) << spec;
}

TEST(FindingFixesTest, WindowFindingTriesTheSuggestedWaitAndQueueFindingCapacity) {
  WhatIfSetting logged;
  logged.max_queue_delay_us = 150'000;
  logged.max_batch_size = 4;
  logged.instances = 2;
  EXPECT_EQ(FindingFixes::Candidates(
                MakeFinding("batch_window_too_long", {{"suggested_max_wait_ms", 3}}), logged),
            (std::vector<std::string>{"max_queue_delay_us=3000"}));
  EXPECT_EQ(FindingFixes::Candidates(MakeFinding("batch_window_too_long", {}), logged),
            (std::vector<std::string>{"max_queue_delay_us=37500"}));
  EXPECT_EQ(FindingFixes::Candidates(MakeFinding("queue_saturation", {}), logged),
            (std::vector<std::string>{"instances=3", "devices=2", "max_batch=8"}));
  logged.devices = 2;
  EXPECT_EQ(FindingFixes::Candidates(MakeFinding("queue_saturation", {}), logged)[1], "devices=3");
}

TEST(FindingFixesTest, CannotPredictIsSetOnLinkedFindingsOnly) {
  AnalysisReport r;
  r.findings.push_back(MakeFinding("underbatching", {}));
  r.findings.push_back(MakeFinding("oom", {}));
  FindingFixes::AttachCannotPredict("needs per-batch device times", &r);
  ASSERT_TRUE(r.findings[0].predicted_fix.has_value());
  EXPECT_EQ(r.findings[0].predicted_fix->cannot_predict,
            "cannot predict: needs per-batch device times");
  EXPECT_TRUE(r.findings[0].predicted_fix->summary.empty());
  EXPECT_FALSE(r.findings[1].predicted_fix.has_value());
}

}  // namespace
}  // namespace yoloscope
