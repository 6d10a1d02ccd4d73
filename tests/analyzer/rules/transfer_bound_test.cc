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

using rules_test::Contains;
using rules_test::Expect;
using rules_test::ExpectNone;
using rules_test::ExpectNoWarning;
using rules_test::OverlapsSeconds;
using rules_test::ThreeRows;
using testing::FindKind;
using testing::HasWarningOrWorse;
using testing::HealthyLog;
using testing::HealthyOptions;
using testing::kT0;
using testing::LogNormal;
using testing::RequestShape;
using testing::SyntheticLog;
using testing::TestRecord;
using testing::Uniform;

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
