// TransferBoundRule: the `transfer_bound` diagnosis rule -- host-device copies take much of the
// latency. A StageBoundRule over LogStage::kH2d, LogStage::kD2h (docs/diagnosis.md,
// transfer_bound).
//
// Thread-safety: Run() is const; it writes only to the context it is given.
#pragma once

#include "analyzer/rules/stage_bound.h"

namespace yoloscope {

struct TransferBoundThresholds : StageBoundThresholds {
  TransferBoundThresholds() {
    warn_share = 0.25;
    critical_share = 0.5;
    info_share = 0.15;
    min_ms = 1.0;
    min_of_inference = 0.5;
  }
};

class TransferBoundRule final : public StageBoundRule {
 public:
  explicit TransferBoundRule(TransferBoundThresholds thresholds = {});
};

}  // namespace yoloscope
