// StageBoundRule: the shared logic of the rules that find one pipeline stage
// (or a pair of stages) taking a large share of request latency, overall or
// for a period: cpu_preprocess_bound, transfer_bound, postprocess_bound. Each
// of those is a subclass in its own file that fixes the stages and the
// thresholds (docs/diagnosis.md).
//
// Thread-safety: Run() is const; it writes only to the context it is given.
#pragma once

#include <string_view>
#include <vector>

#include "analyzer/rules/rule.h"

namespace yoloscope {

// The stages a rule is about (not a tunable: what the rule means).
struct StageBoundSpec {
  std::string_view kind;                 // the finding kind.
  std::vector<LogStage> stages;          // summed.
  RunningStat TimeBucket::*window_stat;  // the same sum per window.
  RecordFlag flag;                       // records where these stages dominate.
  const char* label;                     // as shown in titles.
};

struct StageBoundThresholds {
  // Share of mean request latency (stage mean / total mean).
  double warn_share = 0.25;
  double critical_share = 0.5;
  double info_share = 0.15;
  double min_ms = 1.0;            // the stage mean must also take at least this (ms).
  double min_of_inference = 0.5;  // the stage(s) must also take >= this x inference.
  int64_t stage_min_samples = 3;  // requests with the stage, else a skipped check.
  // A period: a window where the stage at least doubled over its typical
  // level and added this share of the window's latency.
  double stage_burst_factor = 2.0;
  double stage_burst_added_share = 0.15;
  int64_t burst_window_min_requests = 5;  // windows with fewer requests are ignored.
  // Warning or critical only when the stage dominates many requests (spent
  // >= AggregatorConfig::stage_dominant_share of their time there): a mean
  // raised by a few giant uploads is a tail (latency_outliers), not a
  // CPU-bound service.
  double min_dominated_fraction = 0.10;
  // A period: the requests dominated by the stage must be at least this
  // fraction of the requests in the slow windows (one 80-megapixel upload
  // makes its window's mean 3x the usual without slowing anyone else).
  double period_dominated_ratio = 0.5;
};

class StageBoundRule : public Rule {
 public:
  StageBoundRule(StageBoundSpec spec, StageBoundThresholds thresholds)
      : spec_(std::move(spec)), t_(thresholds) {}
  void Run(AnalysisContext& ctx) const override;

 private:
  StageBoundSpec spec_;
  StageBoundThresholds t_;
};

}  // namespace yoloscope
