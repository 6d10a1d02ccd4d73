// OomRule: the `oom` diagnosis rule -- OOMs and allocator retries: caps the batch size where memory
// allows. Thresholds, their reasoning and the false positives they guard against are in
// docs/diagnosis.md (oom); the defaults below are the documented ones.
//
// Thread-safety: Run() is const; it writes only to the context it is given.
#pragma once

#include "analyzer/rules/rule.h"

namespace yoloscope {

struct OomThresholds {
  double mem_safe_ratio = 0.85;  // batch cap: largest batch that stayed below this.
};

class OomRule final : public Rule {
 public:
  explicit OomRule(OomThresholds thresholds = {}) : t_(thresholds) {}
  void Run(AnalysisContext& ctx) const override;

 private:
  OomThresholds t_;
};

}  // namespace yoloscope
