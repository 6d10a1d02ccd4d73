// MemoryFragmentationRule: the `memory_fragmentation` diagnosis rule -- reserved memory growing
// away from allocated memory. Thresholds, their reasoning and the false positives they guard
// against are in docs/diagnosis.md (memory_fragmentation); the defaults below are the documented
// ones.
//
// Thread-safety: Run() is const; it writes only to the context it is given.
#pragma once

#include "analyzer/rules/rule.h"

namespace yoloscope {

struct MemoryFragmentationThresholds {
  double frag_share = 0.25;
  double frag_min_gap_mb = 128;
  double frag_growth_share = 0.10;
  double frag_min_growth_mb = 64;
  double frag_inactive_share = 0.20;
};

class MemoryFragmentationRule final : public Rule {
 public:
  explicit MemoryFragmentationRule(MemoryFragmentationThresholds thresholds = {})
      : t_(thresholds) {}
  void Run(AnalysisContext& ctx) const override;

 private:
  MemoryFragmentationThresholds t_;
};

}  // namespace yoloscope
