// RuleSet: the validated rules of one alert rule file (YAML, docs/alerts.md).
//
//   params:                 # optional: named numbers that thresholds may use
//     slo_p99_ms: 300
//   hysteresis: 0.05        # optional: default relative resolve margin
//   rules:
//     - name: HighInferenceTime
//       metric: inference_ms
//       aggregation: mean   # mean | pNN | max | min | sum | count | rate | last
//       window: 1m
//       comparator: ">"
//       threshold: 100      # or "${slo_p99_ms}"
//       for: 30s
//       severity: warning
//       annotations:
//         summary: "mean inference {{ $value }} ms > {{ $threshold }} ms"
//
// Loading checks everything (types, names, ranges, templates, unknown keys)
// and reports every problem, one per line, as "FILE:LINE: FIELD: why" in an
// InvalidArgument status.
//
// Value type; immutable after loading; safe to share between threads.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "alerts/alert_rule.h"
#include "common/status.h"

namespace yoloscope {

struct RuleSetOptions {
  // Overrides of the file's `params` (e.g. {"slo_p99_ms", 250}); a name the
  // file does not define is an error.
  std::map<std::string, double> params;
};

class RuleSet {
 public:
  // Default relative hysteresis margin: an alert on `value > 100` resolves
  // once the value is <= 95 (and `< 10` once >= 10.5).
  static constexpr double kDefaultHysteresis = 0.05;
  static constexpr int64_t kMaxWindowSeconds = 3600;

  RuleSet() = default;

  // NotFound when the file cannot be read; InvalidArgument listing every
  // problem otherwise.
  static StatusOr<RuleSet> LoadFile(const std::string& path, const RuleSetOptions& options = {});
  // `source_name` is the FILE of the error messages.
  static StatusOr<RuleSet> LoadYaml(std::string_view yaml_text, const std::string& source_name,
                                    const RuleSetOptions& options = {});
  // The shipped rules (configs/alerts/default.yaml, compiled in).
  static StatusOr<RuleSet> LoadDefaults(const RuleSetOptions& options = {});

  const std::vector<AlertRule>& rules() const { return rules_; }
  const std::map<std::string, double>& params() const { return params_; }
  double hysteresis() const { return hysteresis_; }
  const std::string& source() const { return source_; }

  // Builds a set from rules made in code (tests, embedding). Fills
  // resolve_threshold from `hysteresis` where it is NaN; InvalidArgument for
  // an invalid rule or a duplicate name.
  static StatusOr<RuleSet> FromRules(std::vector<AlertRule> rules,
                                     double hysteresis = kDefaultHysteresis);

  // The default resolve threshold of `rule` for a relative margin.
  static double DefaultResolveThreshold(const AlertRule& rule, double hysteresis);

 private:
  std::vector<AlertRule> rules_;
  std::map<std::string, double> params_;
  double hysteresis_ = kDefaultHysteresis;
  std::string source_;
};

// The text of configs/alerts/default.yaml, embedded at build time.
std::string_view DefaultAlertRulesYaml();

}  // namespace yoloscope
