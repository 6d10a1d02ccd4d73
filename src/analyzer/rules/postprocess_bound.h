// PostprocessBoundRule: the `postprocess_bound` diagnosis rule -- decoding and NMS take much of the
// latency. A StageBoundRule over LogStage::kPostprocess (docs/diagnosis.md, postprocess_bound).
//
// Thread-safety: Run() is const; it writes only to the context it is given.
#pragma once

#include "analyzer/rules/stage_bound.h"

namespace yoloscope {

struct PostprocessBoundThresholds : StageBoundThresholds {
  PostprocessBoundThresholds() {
    warn_share = 0.25;
    critical_share = 0.5;
    info_share = 0.15;
    min_ms = 1.0;
    min_of_inference = 0.5;
  }
};

class PostprocessBoundRule final : public StageBoundRule {
 public:
  explicit PostprocessBoundRule(PostprocessBoundThresholds thresholds = {});
};

}  // namespace yoloscope
