// RuleRegistry: the table of diagnosis rules -- for each, its name (the
// finding kind), the order it runs in, the log fields it needs and the rules
// whose findings or context state it reads -- and the runner that checks the
// fields and runs the rules in order. Adding a rule: a rules/<kind>.{h,cc}
// with its thresholds struct, one row in BuiltinRules() (rule_registry.cc),
// a test in tests/analyzer/rules/<kind>_test.cc and its section in
// docs/diagnosis.md.
//
// Ownership: the registry owns its rules. Thread-safety: RunAll() is const
// and may run concurrently on different contexts.
#pragma once

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "analyzer/rules/rule.h"
#include "common/status.h"

namespace yoloscope {

struct RuleInfo {
  std::string_view name;  // the finding kind it reports (and its skipped checks).
  int order = 0;          // runs in ascending order.
  // Each group needs at least one of its fields in the log; otherwise the
  // rule does not run and a skipped check names the missing groups.
  std::vector<std::vector<LogField>> fields;
  // Rules whose findings or context state (cold_windows, explained_ids) this
  // rule reads: they must run before it.
  std::vector<std::string_view> reads;
  std::function<std::unique_ptr<Rule>()> create;
};

class RuleRegistry {
 public:
  // The built-in rules of docs/diagnosis.md with their default thresholds.
  static RuleRegistry Builtin();

  explicit RuleRegistry(std::vector<RuleInfo> infos);

  // Sorted by order.
  const std::vector<RuleInfo>& infos() const { return infos_; }

  // Names are unique and every rule a rule reads runs before it.
  Status Validate() const;

  // For each rule in order: Require(fields), then Run.
  void RunAll(AnalysisContext& ctx) const;

 private:
  std::vector<RuleInfo> infos_;
  std::vector<std::unique_ptr<Rule>> rules_;  // parallel to infos_.
};

}  // namespace yoloscope
