// UnderbatchingRule: the `underbatching` diagnosis rule -- batches of one while requests wait.
// Thresholds, their reasoning and the false positives they guard against are
// in docs/diagnosis.md (underbatching); the defaults below are the documented ones.
//
// Thread-safety: Run() is const; it writes only to the context it is given.
#pragma once

#include "analyzer/rules/rule.h"

namespace yoloscope {

struct UnderbatchingThresholds {
  double mem_safe_ratio = 0.85;  // batch cap: largest batch that stayed below this.
  double underbatched_fraction = 0.2;
  double underbatched_mean_batch = 1.5;
  // Without many requests seen queued behind others: mean batch at most
  // this, this share of latency in the queue, and arrivals keeping a
  // batch-1 GPU this busy.
  double underbatched_rate_mean_batch = 1.2;
  double underbatched_rate_queue_share = 0.3;
  double underbatched_utilization = 0.6;
};

class UnderbatchingRule final : public Rule {
 public:
  explicit UnderbatchingRule(UnderbatchingThresholds thresholds = {}) : t_(thresholds) {}
  void Run(AnalysisContext& ctx) const override;

 private:
  UnderbatchingThresholds t_;
};

}  // namespace yoloscope
