#include "analyzer/rules/transfer_bound.h"

namespace yoloscope {

TransferBoundRule::TransferBoundRule(TransferBoundThresholds thresholds)
    : StageBoundRule({"transfer_bound",
                      {LogStage::kH2d, LogStage::kD2h},
                      &TimeBucket::xfer_ms,
                      RecordFlag::kTransferDominant,
                      "host-device transfers (h2d + d2h)"},
                     thresholds) {}

}  // namespace yoloscope
