// CpuPreprocessBoundRule: the `cpu_preprocess_bound` diagnosis rule -- CPU-side decode and
// preprocessing take much of the latency. A StageBoundRule over LogStage::kDecode,
// LogStage::kPreprocess (docs/diagnosis.md, cpu_preprocess_bound).
//
// Thread-safety: Run() is const; it writes only to the context it is given.
#pragma once

#include "analyzer/rules/stage_bound.h"

namespace yoloscope {

struct CpuPreprocessBoundThresholds : StageBoundThresholds {
  CpuPreprocessBoundThresholds() {
    warn_share = 0.35;
    critical_share = 0.6;
    info_share = 0.25;
    min_ms = 2.0;
    min_of_inference = 1.0;
  }
};

class CpuPreprocessBoundRule final : public StageBoundRule {
 public:
  explicit CpuPreprocessBoundRule(CpuPreprocessBoundThresholds thresholds = {});
};

}  // namespace yoloscope
