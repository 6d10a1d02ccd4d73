// Fuzzes the alert rule files (RuleSet::LoadYaml: yaml-cpp, then rule
// fields, metric / aggregation / comparator / duration parsers, group-by
// fields, params, and the summary / description templates of each rule).
// A loaded rule set is then used once: every rule's templates rendered.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "alerts/alert_rule.h"
#include "alerts/rule_set.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto rules = yoloscope::RuleSet::LoadYaml(text, "rules.yaml");
  if (!rules.ok()) {
    yoloscope::fuzz::Check(!rules.status().ToString().empty(), "an error without a message");
    return 0;
  }
  for (const auto& rule : rules->rules()) {
    yoloscope::fuzz::Check(!rule.name.empty(), "a rule without a name");
    (void)yoloscope::RuleSet::DefaultResolveThreshold(rule, rules->hysteresis());
  }
  // The small parsers on their own, on the first line.
  std::string_view first = text.substr(0, text.find('\n'));
  double quantile = 0;
  (void)yoloscope::ParseMetricName(first);
  (void)yoloscope::ParseAggregationName(first, &quantile);
  (void)yoloscope::ParseComparator(first);
  (void)yoloscope::ParseDurationUs(first);
  (void)yoloscope::ParseGroupField(first);
  return 0;
}
