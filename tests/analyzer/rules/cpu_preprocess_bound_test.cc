// The cpu_preprocess_bound rule: synthetic logs that must and must not trigger it.
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

TEST(CpuPreprocessBoundTest, CpuPreprocessBound) {
  HealthyOptions o;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    q.r.decode_ms = LogNormal(*s.rng, 30, 0.2);
    q.r.preprocess_ms = LogNormal(*s.rng, 12, 0.2);
    q.r.input_w = 4032;
    q.r.input_h = 3024;
  };
  const AnalysisReport r = HealthyLog(o).Analyze();
  const Finding& f = Expect(r, "cpu_preprocess_bound", FindingSeverity::kWarning);
  EXPECT_NE(f.recommendation.find("preprocess workers"), std::string::npos);
  EXPECT_TRUE(Contains(f.evidence, "MP"));
  ExpectNone(r, "transfer_bound");
  ExpectNone(r, "postprocess_bound");
}

}  // namespace
}  // namespace yoloscope
