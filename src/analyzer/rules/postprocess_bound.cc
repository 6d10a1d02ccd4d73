#include "analyzer/rules/postprocess_bound.h"

namespace yoloscope {

PostprocessBoundRule::PostprocessBoundRule(PostprocessBoundThresholds thresholds)
    : StageBoundRule({"postprocess_bound",
                      {LogStage::kPostprocess},
                      &TimeBucket::post_ms,
                      RecordFlag::kPostDominant,
                      "postprocess"},
                     thresholds) {}

}  // namespace yoloscope
