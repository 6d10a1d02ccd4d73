// The rule_registry rule registry and the rules together: synthetic logs that must and must not
// trigger it.
#include "analyzer/rules/rule_registry.h"

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

TEST(RuleRegistryTest, HealthyLogHasNoWarningOrCritical) {
  for (uint32_t seed : {1u, 2u, 3u, 4u, 5u}) {
    HealthyOptions o;
    o.seed = seed;
    const AnalysisReport r = HealthyLog(o).Analyze();
    EXPECT_FALSE(HasWarningOrWorse(r)) << "seed " << seed << "\n" << testing::Describe(r);
    EXPECT_EQ(r.summary.requests, 12000);
  }
}

TEST(RuleRegistryTest, HealthyVariantsHaveNoWarningOrCritical) {
  HealthyOptions no_telemetry;
  no_telemetry.gpu_telemetry = false;
  no_telemetry.memory_fields = false;
  HealthyOptions busy;
  busy.rps = 400;
  busy.seconds = 120;
  HealthyOptions short_log;
  short_log.seconds = 5;
  HealthyOptions long_log;
  long_log.seconds = 3 * 3600;
  long_log.rps = 2;
  for (const HealthyOptions& o : {no_telemetry, busy, short_log, long_log}) {
    const AnalysisReport r = HealthyLog(o).Analyze();
    EXPECT_FALSE(HasWarningOrWorse(r)) << testing::Describe(r);
  }
}

TEST(RuleRegistryTest, SkippedChecksNameMissingFields) {
  SyntheticLog log;
  for (int i = 0; i < 50; ++i) {
    TestRecord& q = log.Add(RecordKind::kRequest, 0);
    q.r.ts_us.reset();
    q.request_id = "q" + std::to_string(i);
    q.r.total_ms = 20 + i % 5;
    q.status.clear();
    q.device.clear();
  }
  const AnalysisReport r = log.Analyze();
  auto skipped = [&](std::string_view check) -> const SkippedCheck* {
    for (const SkippedCheck& c : r.skipped_checks) {
      if (c.check == check) return &c;
    }
    return nullptr;
  };
  const SkippedCheck* leak = skipped("memory_leak");
  ASSERT_NE(leak, nullptr);
  EXPECT_EQ(leak->missing_fields, (std::vector<std::string>{"ts", "mem_allocated_mb|mem_used_mb"}));
  const SkippedCheck* pre = skipped("cpu_preprocess_bound");
  ASSERT_NE(pre, nullptr);
  EXPECT_EQ(pre->missing_fields, (std::vector<std::string>{"decode_ms|preprocess_ms"}));
  for (std::string_view kind :
       {"oom", "gpu_memory_pressure", "memory_fragmentation", "queue_saturation", "underbatching",
        "batch_window_too_long", "transfer_bound", "postprocess_bound", "gpu_contention",
        "gpu_throttling", "error_burst"}) {
    EXPECT_NE(skipped(kind), nullptr) << kind;
  }
  EXPECT_EQ(skipped("cold_start"), nullptr);  // ran: total_ms is there.
  EXPECT_TRUE(r.findings.empty()) << testing::Describe(r);
  EXPECT_TRUE(r.time_series.windows.empty());
}

TEST(RuleRegistryTest, EmptyAggregatorGivesEmptyReport) {
  LogAggregator agg;
  const AnalysisReport r = Analyzer().Analyze(agg);
  EXPECT_EQ(r.summary.requests, 0);
  EXPECT_TRUE(r.findings.empty());
  EXPECT_FALSE(r.skipped_checks.empty());
}

TEST(RuleRegistryTest, FindingKindsAreFromTheVocabulary) {
  HealthyOptions o;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    if (s.index < 2) q.r.inference_ms = 900;
    if (s.index % 300 == 5) q.r.oom = true;
    q.r.decode_ms = 40;
  };
  const AnalysisReport r = HealthyLog(o).Analyze();
  ASSERT_FALSE(r.findings.empty());
  for (const Finding& f : r.findings) {
    EXPECT_TRUE(std::find(std::begin(kFindingKinds), std::end(kFindingKinds), f.kind) !=
                std::end(kFindingKinds))
        << f.kind;
  }
  for (size_t i = 1; i < r.findings.size(); ++i)
    EXPECT_GE(r.findings[i - 1].severity, r.findings[i].severity);
}

TEST(RuleRegistryTest, BuiltinTableIsValidAndCoversEveryFindingKind) {
  const RuleRegistry registry = RuleRegistry::Builtin();
  EXPECT_TRUE(registry.Validate().ok()) << registry.Validate().message();
  std::vector<std::string_view> names;
  int last_order = -1;
  for (const RuleInfo& info : registry.infos()) {
    names.push_back(info.name);
    EXPECT_GT(info.order, last_order) << info.name;
    last_order = info.order;
    EXPECT_FALSE(info.fields.empty()) << info.name;
  }
  for (std::string_view kind : kFindingKinds) {
    EXPECT_EQ(std::count(names.begin(), names.end(), kind), 1) << kind;
  }
  EXPECT_EQ(names.size(), std::size(kFindingKinds));
}

// A rule that records that it ran.
class ProbeRule final : public Rule {
 public:
  explicit ProbeRule(std::vector<std::string>* ran, std::string name)
      : ran_(ran), name_(std::move(name)) {}
  void Run(AnalysisContext&) const override { ran_->push_back(name_); }

 private:
  std::vector<std::string>* ran_;
  std::string name_;
};

TEST(RuleRegistryTest, ValidateRejectsReadingARuleThatRunsLater) {
  std::vector<std::string> ran;
  auto probe = [&ran](std::string name) {
    return [&ran, name] { return std::make_unique<ProbeRule>(&ran, name); };
  };
  RuleRegistry bad({{"b", 20, {{LogField::kTotalMs}}, {"a"}, probe("b")},
                    {"a", 30, {{LogField::kTotalMs}}, {}, probe("a")}});
  EXPECT_FALSE(bad.Validate().ok());
  RuleRegistry twice({{"a", 10, {{LogField::kTotalMs}}, {}, probe("a")},
                      {"a", 20, {{LogField::kTotalMs}}, {}, probe("a")}});
  EXPECT_FALSE(twice.Validate().ok());
  RuleRegistry good({{"b", 20, {{LogField::kTotalMs}}, {"a"}, probe("b")},
                     {"a", 10, {{LogField::kTotalMs}}, {}, probe("a")}});
  EXPECT_TRUE(good.Validate().ok());
}

TEST(RuleRegistryTest, RunsInOrderOnlyRulesWhoseFieldsAreLogged) {
  std::vector<std::string> ran;
  auto probe = [&ran](std::string name) {
    return [&ran, name] { return std::make_unique<ProbeRule>(&ran, name); };
  };
  RuleRegistry registry(
      {{"late", 30, {{LogField::kTotalMs}}, {}, probe("late")},
       {"needs_memory", 20, {{LogField::kMemUsed}}, {}, probe("needs_memory")},
       {"early", 10, {{LogField::kInferenceMs, LogField::kTotalMs}}, {}, probe("early")}});
  SyntheticLog log;
  for (int i = 0; i < 10; ++i) {
    TestRecord& q = log.Add(RecordKind::kRequest, kT0 + i * 1000);
    q.r.total_ms = 5;
    q.auto_total = false;
  }
  LogAggregator agg;
  log.FeedTo(&agg);
  AnalysisReport report;
  AnalyzerConfig config;
  AnalysisContext ctx(agg, config, &report);
  registry.RunAll(ctx);
  EXPECT_EQ(ran, (std::vector<std::string>{"early", "late"}));
  ASSERT_EQ(report.skipped_checks.size(), 1u);
  EXPECT_EQ(report.skipped_checks[0].check, "needs_memory");
  EXPECT_EQ(report.skipped_checks[0].missing_fields, std::vector<std::string>{"mem_used_mb"});
}

}  // namespace
}  // namespace yoloscope
