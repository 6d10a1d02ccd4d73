// Rule: one diagnosis rule (one finding kind) over an AnalysisContext. Each
// rule lives in its own rules/<kind>.{h,cc} with its own thresholds struct
// and is listed once in RuleRegistry (rule_registry.h), which checks the
// fields it needs and runs it in order.
//
// Ownership: a Rule owns its thresholds only; the context is borrowed for the
// duration of Run(). Thread-safety: Run() is const; concurrent runs need
// separate contexts.
#pragma once

#include "analyzer/rules/analysis_context.h"

namespace yoloscope {

class Rule {
 public:
  virtual ~Rule() = default;
  // Adds the rule's findings (or a skipped check) to ctx.report. Called only
  // when the log has the fields the registry lists for the rule.
  virtual void Run(AnalysisContext& ctx) const = 0;
};

}  // namespace yoloscope
