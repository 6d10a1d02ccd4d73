// The transfer_bound rule: synthetic logs that must and must not trigger it.
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

TEST(TransferBoundTest, TransferBound) {
  HealthyOptions o;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    q.r.h2d_ms = LogNormal(*s.rng, 12, 0.1);
    q.r.d2h_ms = LogNormal(*s.rng, 4, 0.1);
  };
  const AnalysisReport r = HealthyLog(o).Analyze();
  const Finding& f = Expect(r, "transfer_bound", FindingSeverity::kWarning);
  EXPECT_NE(f.recommendation.find("pinned"), std::string::npos);
  ExpectNone(r, "cpu_preprocess_bound");
}

}  // namespace
}  // namespace yoloscope
