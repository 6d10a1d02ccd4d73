#include "analyzer/rules/cpu_preprocess_bound.h"

namespace yoloscope {

CpuPreprocessBoundRule::CpuPreprocessBoundRule(CpuPreprocessBoundThresholds thresholds)
    : StageBoundRule({"cpu_preprocess_bound",
                      {LogStage::kDecode, LogStage::kPreprocess},
                      &TimeBucket::pre_ms,
                      RecordFlag::kPreDominant,
                      "decode + preprocess"},
                     thresholds) {}

}  // namespace yoloscope
