// The stage_bound rule: synthetic logs that must and must not trigger it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "analyzer/aggregate/log_aggregator.h"
#include "analyzer/analyze_command.h"
#include "analyzer/analyzer.h"
#include "analyzer/rules/rule_test_util.h"
#include "analyzer/synthetic_log.h"

namespace yoloscope {
namespace {

using namespace rules_test::names;  // NOLINT(google-build-using-namespace)

TEST(StageBoundTest, StageRulesQuietOnHealthyLog) {
  const AnalysisReport r = HealthyLog().Analyze();
  ExpectNone(r, "cpu_preprocess_bound");
  ExpectNone(r, "transfer_bound");
  ExpectNone(r, "postprocess_bound");
}

// ------------------------------------------------------------ gpu_contention

}  // namespace
}  // namespace yoloscope
