#include "alerts/rule_set.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace yoloscope {
namespace {

constexpr std::string_view kTopKeys[] = {"params", "hysteresis", "rules"};
constexpr std::string_view kRuleKeys[] = {"name",        "metric",    "aggregation",       "window",
                                          "comparator",  "threshold", "resolve_threshold", "for",
                                          "resolve_for", "severity",  "group_by",          "labels",
                                          "annotations"};

bool IsIdentifier(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

template <size_t N>
std::string UnknownKeyMessage(const std::string& key, const std::string_view (&known)[N]) {
  std::string best;
  size_t best_d = 3;
  for (std::string_view k : known) {
    size_t d = EditDistance(key, k);
    if (d < best_d) best_d = d, best = std::string(k);
  }
  std::string msg = "unknown key";
  if (!best.empty()) msg += " (did you mean '" + best + "'?)";
  return msg;
}

// Collects "FILE:LINE: FIELD: why" messages.
class ErrorList {
 public:
  explicit ErrorList(std::string source) : source_(std::move(source)) {}

  void Add(int line, const std::string& field, const std::string& why) {
    std::string msg = source_;
    if (line > 0) msg += ":" + std::to_string(line);
    msg += ": ";
    if (!field.empty()) msg += field + ": ";
    msg += why;
    messages_.push_back(std::move(msg));
  }
  bool empty() const { return messages_.empty(); }
  Status ToStatus() const {
    std::string all;
    for (const auto& m : messages_) {
      if (!all.empty()) all += "\n";
      all += m;
    }
    return InvalidArgumentError(all);
  }

 private:
  std::string source_;
  std::vector<std::string> messages_;
};

int LineOf(const YAML::Node& node, int fallback) {
  if (!node.IsDefined()) return fallback;
  const int line = node.Mark().line;
  return line >= 0 ? line + 1 : fallback;
}

std::string Describe(const YAML::Node& node) {
  if (node.IsScalar()) return "'" + node.Scalar() + "'";
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  return "nothing";
}

bool ReadString(const YAML::Node& node, std::string* out) {
  if (!node.IsScalar()) return false;
  *out = node.Scalar();
  return true;
}

bool ReadDouble(const YAML::Node& node, double* out) {
  if (!node.IsScalar()) return false;
  try {
    *out = node.as<double>();
    return true;
  } catch (const YAML::Exception&) {
    return false;
  }
}

class Loader {
 public:
  Loader(const std::string& source, const RuleSetOptions& options)
      : errors_(source), options_(options) {}

  Status Load(std::string_view text, std::vector<AlertRule>* rules,
              std::map<std::string, double>* params, double* hysteresis) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::ParserException& e) {
      errors_.Add(e.mark.line + 1, "", "YAML syntax error: " + e.msg);
      return errors_.ToStatus();
    } catch (const YAML::Exception& e) {
      errors_.Add(0, "", std::string("YAML error: ") + e.what());
      return errors_.ToStatus();
    }
    if (!root.IsMap()) {
      errors_.Add(LineOf(root, 1), "", "expected a map with a 'rules' list, got " + Describe(root));
      return errors_.ToStatus();
    }
    for (auto it = root.begin(); it != root.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (std::find(std::begin(kTopKeys), std::end(kTopKeys), key) == std::end(kTopKeys)) {
        errors_.Add(LineOf(it->first, 0), key, UnknownKeyMessage(key, kTopKeys));
      }
    }
    LoadParams(root["params"], params);
    *hysteresis = RuleSet::kDefaultHysteresis;
    if (YAML::Node h = root["hysteresis"]; h.IsDefined()) {
      double v = 0;
      if (!ReadDouble(h, &v) || !(v >= 0 && v < 1)) {
        errors_.Add(LineOf(h, 0), "hysteresis",
                    "must be a relative margin in [0, 1) (0.05 = 5%), got " + Describe(h));
      } else {
        *hysteresis = v;
      }
    }
    const YAML::Node list = root["rules"];
    if (!list.IsDefined() || list.IsNull()) {
      errors_.Add(LineOf(root, 1), "rules", "missing (a list of rules)");
    } else if (!list.IsSequence()) {
      errors_.Add(LineOf(list, 0), "rules", "must be a list, got " + Describe(list));
    } else {
      std::set<std::string> names;
      for (size_t i = 0; i < list.size(); ++i) {
        AlertRule rule;
        const bool ok = LoadRule(list[i], i, *params, *hysteresis, &rule);
        if (!rule.name.empty() && !names.insert(rule.name).second) {
          errors_.Add(LineOf(list[i]["name"], rule.line), "rules[" + std::to_string(i) + "].name",
                      "duplicate rule name '" + rule.name + "'");
        }
        if (ok) rules->push_back(std::move(rule));
      }
    }
    if (!errors_.empty()) return errors_.ToStatus();
    return Status::Ok();
  }

 private:
  void LoadParams(const YAML::Node& node, std::map<std::string, double>* params) {
    if (node.IsDefined() && !node.IsNull()) {
      if (!node.IsMap()) {
        errors_.Add(LineOf(node, 0), "params", "must be a map of name: number");
      } else {
        for (auto it = node.begin(); it != node.end(); ++it) {
          const std::string name = it->first.Scalar();
          double v = 0;
          if (!IsIdentifier(name)) {
            errors_.Add(LineOf(it->first, 0), "params." + name,
                        "bad name (use [A-Za-z_][A-Za-z0-9_]*)");
          } else if (!ReadDouble(it->second, &v) || !std::isfinite(v)) {
            errors_.Add(LineOf(it->second, 0), "params." + name,
                        "must be a number, got " + Describe(it->second));
          } else {
            (*params)[name] = v;
          }
        }
      }
    }
    for (const auto& [name, value] : options_.params) {
      auto it = params->find(name);
      if (it == params->end()) {
        errors_.Add(0, "params." + name, "not defined in the rule file (cannot override it)");
      } else {
        it->second = value;
      }
    }
  }

  // A number, or "${name}" / "$name" naming one of `params`.
  bool ReadThreshold(const YAML::Node& node, const std::string& field,
                     const std::map<std::string, double>& params, double* out) {
    if (ReadDouble(node, out)) {
      if (!std::isfinite(*out)) {
        errors_.Add(LineOf(node, 0), field, "must be finite");
        return false;
      }
      return true;
    }
    std::string text;
    if (ReadString(node, &text)) {
      std::string_view name = text;
      if (name.size() > 3 && name.substr(0, 2) == "${" && name.back() == '}') {
        name = name.substr(2, name.size() - 3);
      } else if (name.size() > 1 && name[0] == '$') {
        name = name.substr(1);
      } else {
        name = {};
      }
      if (!name.empty()) {
        auto it = params.find(std::string(name));
        if (it == params.end()) {
          errors_.Add(LineOf(node, 0), field,
                      "unknown param '" + std::string(name) + "' (define it under params:)");
          return false;
        }
        *out = it->second;
        return true;
      }
    }
    errors_.Add(LineOf(node, 0), field, "must be a number or \"${param}\", got " + Describe(node));
    return false;
  }

  bool ReadDuration(const YAML::Node& node, const std::string& field, int64_t* out_us) {
    std::string text;
    if (!ReadString(node, &text)) {
      errors_.Add(LineOf(node, 0), field,
                  "must be a duration such as 30s or 1m, got " + Describe(node));
      return false;
    }
    auto d = ParseDurationUs(text);
    if (!d.ok()) {
      errors_.Add(LineOf(node, 0), field, d.status().message());
      return false;
    }
    *out_us = *d;
    return true;
  }

  bool LoadRule(const YAML::Node& node, size_t index, const std::map<std::string, double>& params,
                double hysteresis, AlertRule* rule) {
    const std::string where = "rules[" + std::to_string(index) + "]";
    const int rule_line = LineOf(node, 0);
    rule->line = rule_line;
    if (!node.IsMap()) {
      errors_.Add(rule_line, where, "must be a map, got " + Describe(node));
      return false;
    }
    bool ok = true;
    auto fail = [&](const YAML::Node& n, const std::string& key, const std::string& why) {
      errors_.Add(LineOf(n, rule_line), where + "." + key, why);
      ok = false;
    };
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (std::find(std::begin(kRuleKeys), std::end(kRuleKeys), key) == std::end(kRuleKeys)) {
        fail(it->first, key, UnknownKeyMessage(key, kRuleKeys));
      }
    }

    // name
    if (YAML::Node n = node["name"]; !n.IsDefined()) {
      fail(node, "name", "missing");
    } else if (!ReadString(n, &rule->name) || !IsIdentifier(rule->name)) {
      fail(n, "name", "must be an identifier such as HighInferenceTime, got " + Describe(n));
    }
    // metric
    if (YAML::Node n = node["metric"]; !n.IsDefined()) {
      fail(node, "metric", "missing");
    } else {
      std::string text;
      std::optional<AlertMetric> m;
      if (ReadString(n, &text)) m = ParseMetricName(text);
      if (!m) {
        std::string known;
        for (const MetricInfo& info : AllMetrics()) {
          if (!known.empty()) known += ", ";
          known += info.name;
        }
        fail(n, "metric", "unknown metric " + Describe(n) + " (one of " + known + ")");
      } else {
        rule->metric = *m;
      }
    }
    // aggregation
    if (YAML::Node n = node["aggregation"]; n.IsDefined()) {
      std::string text;
      std::optional<Aggregation> a;
      if (ReadString(n, &text)) a = ParseAggregationName(text, &rule->quantile);
      if (!a) {
        fail(n, "aggregation",
             "unknown aggregation " + Describe(n) +
                 " (mean, p50, p90, p99, p99.9, max, min, sum, count, rate, last)");
      } else {
        rule->aggregation = *a;
      }
    }
    // window
    if (YAML::Node n = node["window"]; n.IsDefined()) {
      int64_t us = 0;
      if (!ReadDuration(n, where + ".window", &us)) {
        ok = false;
      } else if (us % 1'000'000 != 0 || us < 1'000'000 ||
                 us > RuleSet::kMaxWindowSeconds * 1'000'000) {
        fail(n, "window", "must be whole seconds between 1s and 1h, got " + Describe(n));
      } else {
        rule->window_s = us / 1'000'000;
      }
    }
    // comparator
    if (YAML::Node n = node["comparator"]; n.IsDefined()) {
      std::string text;
      std::optional<Comparator> c;
      if (ReadString(n, &text)) c = ParseComparator(text);
      if (!c) {
        fail(n, "comparator", "must be one of >, >=, <, <= (quote it in YAML), got " + Describe(n));
      } else {
        rule->comparator = *c;
      }
    }
    // threshold
    if (YAML::Node n = node["threshold"]; !n.IsDefined()) {
      fail(node, "threshold", "missing");
    } else if (!ReadThreshold(n, where + ".threshold", params, &rule->threshold)) {
      ok = false;
    }
    // for, resolve_for
    if (YAML::Node n = node["for"]; n.IsDefined()) {
      if (!ReadDuration(n, where + ".for", &rule->for_us)) ok = false;
    }
    if (YAML::Node n = node["resolve_for"]; n.IsDefined()) {
      if (!ReadDuration(n, where + ".resolve_for", &rule->resolve_for_us)) ok = false;
    }
    // severity
    if (YAML::Node n = node["severity"]; n.IsDefined()) {
      if (!ReadString(n, &rule->severity) || rule->severity.empty() ||
          !std::all_of(rule->severity.begin(), rule->severity.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
          })) {
        fail(n, "severity", "must be a word such as critical, warning or info, got " + Describe(n));
      }
    }
    // group_by
    if (YAML::Node n = node["group_by"]; n.IsDefined() && !n.IsNull()) {
      if (!n.IsSequence()) {
        fail(n, "group_by", "must be a list (of model, device, gpu_id, backend)");
      } else {
        for (size_t i = 0; i < n.size(); ++i) {
          std::string text;
          std::optional<GroupField> g;
          if (ReadString(n[i], &text)) g = ParseGroupField(text);
          if (!g) {
            fail(n[i], "group_by",
                 "unknown field " + Describe(n[i]) + " (model, device, gpu_id, backend)");
          } else if (std::find(rule->group_by.begin(), rule->group_by.end(), *g) !=
                     rule->group_by.end()) {
            fail(n[i], "group_by", "field " + text + " listed twice");
          } else {
            rule->group_by.push_back(*g);
          }
        }
      }
    }
    // labels
    if (YAML::Node n = node["labels"]; n.IsDefined() && !n.IsNull()) {
      if (!n.IsMap()) {
        fail(n, "labels", "must be a map of name: value");
      } else {
        for (auto it = n.begin(); it != n.end(); ++it) {
          const std::string name = it->first.Scalar();
          std::string value;
          if (!IsIdentifier(name) || name.substr(0, 2) == "__") {
            fail(it->first, "labels." + name, "bad label name (use [A-Za-z_][A-Za-z0-9_]*)");
          } else if (name == "alertname" || name == "severity") {
            fail(it->first, "labels." + name, "set by the rule's name/severity, not in labels");
          } else if (auto g = ParseGroupField(name);
                     g && std::find(rule->group_by.begin(), rule->group_by.end(), *g) !=
                              rule->group_by.end()) {
            fail(it->first, "labels." + name, "also a group_by field");
          } else if (!ReadString(it->second, &value)) {
            fail(it->second, "labels." + name, "must be a string, got " + Describe(it->second));
          } else {
            rule->labels[name] = value;
          }
        }
      }
    }
    // annotations
    if (YAML::Node n = node["annotations"]; n.IsDefined() && !n.IsNull()) {
      if (!n.IsMap()) {
        fail(n, "annotations", "must be a map of name: text");
      } else {
        for (auto it = n.begin(); it != n.end(); ++it) {
          const std::string name = it->first.Scalar();
          std::string text;
          if (!IsIdentifier(name)) {
            fail(it->first, "annotations." + name, "bad annotation name");
          } else if (!ReadString(it->second, &text)) {
            fail(it->second, "annotations." + name,
                 "must be a string, got " + Describe(it->second));
          } else {
            auto t = AlertTemplate::Parse(text);
            if (!t.ok()) {
              fail(it->second, "annotations." + name, t.status().message());
            } else {
              rule->annotations[name] = std::move(t).value();
            }
          }
        }
      }
    }
    // resolve_threshold (after comparator and threshold)
    if (YAML::Node n = node["resolve_threshold"]; n.IsDefined()) {
      double r = 0;
      if (!ReadThreshold(n, where + ".resolve_threshold", params, &r)) {
        ok = false;
      } else if (ok && (IsUpper(rule->comparator) ? r > rule->threshold : r < rule->threshold)) {
        fail(n, "resolve_threshold",
             std::string("must be ") + (IsUpper(rule->comparator) ? "<=" : ">=") +
                 " the threshold for comparator " + std::string(ComparatorText(rule->comparator)));
      } else {
        rule->resolve_threshold = r;
      }
    } else {
      rule->resolve_threshold = RuleSet::DefaultResolveThreshold(*rule, hysteresis);
    }
    return ok;
  }

  ErrorList errors_;
  const RuleSetOptions& options_;
};

Status ValidateRule(const AlertRule& r) {
  const std::string where = "rule '" + r.name + "'";
  if (!IsIdentifier(r.name)) return InvalidArgumentError(where + ": bad name");
  if (r.window_s < 1 || r.window_s > RuleSet::kMaxWindowSeconds) {
    return InvalidArgumentError(where + ": window must be 1..3600 s");
  }
  if (r.aggregation == Aggregation::kQuantile && !(r.quantile > 0 && r.quantile <= 1)) {
    return InvalidArgumentError(where + ": quantile must be in (0, 1]");
  }
  if (!std::isfinite(r.threshold))
    return InvalidArgumentError(where + ": threshold must be finite");
  if (r.for_us < 0 || r.resolve_for_us < 0) {
    return InvalidArgumentError(where + ": durations must be >= 0");
  }
  if (IsUpper(r.comparator) ? r.resolve_threshold > r.threshold
                            : r.resolve_threshold < r.threshold) {
    return InvalidArgumentError(where + ": resolve_threshold is on the wrong side of threshold");
  }
  return Status::Ok();
}

}  // namespace

double RuleSet::DefaultResolveThreshold(const AlertRule& rule, double hysteresis) {
  const double margin = std::fabs(rule.threshold) * hysteresis;
  return IsUpper(rule.comparator) ? rule.threshold - margin : rule.threshold + margin;
}

StatusOr<RuleSet> RuleSet::LoadYaml(std::string_view yaml_text, const std::string& source_name,
                                    const RuleSetOptions& options) {
  RuleSet set;
  set.source_ = source_name;
  Loader loader(source_name, options);
  YS_RETURN_IF_ERROR(loader.Load(yaml_text, &set.rules_, &set.params_, &set.hysteresis_));
  return set;
}

StatusOr<RuleSet> RuleSet::LoadFile(const std::string& path, const RuleSetOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(path + ": cannot read the rule file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return LoadYaml(ss.str(), path, options);
}

StatusOr<RuleSet> RuleSet::LoadDefaults(const RuleSetOptions& options) {
  return LoadYaml(DefaultAlertRulesYaml(), "configs/alerts/default.yaml", options);
}

StatusOr<RuleSet> RuleSet::FromRules(std::vector<AlertRule> rules, double hysteresis) {
  RuleSet set;
  set.source_ = "<code>";
  set.hysteresis_ = hysteresis;
  std::set<std::string> names;
  for (AlertRule& r : rules) {
    if (std::isnan(r.resolve_threshold))
      r.resolve_threshold = DefaultResolveThreshold(r, hysteresis);
    YS_RETURN_IF_ERROR(ValidateRule(r));
    if (!names.insert(r.name).second)
      return InvalidArgumentError("duplicate rule name '" + r.name + "'");
  }
  set.rules_ = std::move(rules);
  return set;
}

}  // namespace yoloscope
