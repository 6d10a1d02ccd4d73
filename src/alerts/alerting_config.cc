#include "alerts/alerting_config.h"

#include <functional>

#include "alerts/stderr_notifier.h"

namespace yoloscope {
namespace {

using Setter = std::function<Status(const YAML::Node&, const std::string& field)>;

class SectionReader {
 public:
  explicit SectionReader(std::string source) : source_(std::move(source)) {}

  Status Error(const YAML::Node& node, const std::string& field, const std::string& why) const {
    std::string msg = source_;
    if (node.IsDefined() && node.Mark().line >= 0) {
      msg += ':';
      msg += std::to_string(node.Mark().line + 1);
    }
    return InvalidArgumentError(msg + ": " + field + ": " + why);
  }

  template <typename T>
  Setter Value(T* out) const {
    return [this, out](const YAML::Node& n, const std::string& field) -> Status {
      try {
        if (!n.IsScalar()) return Error(n, field, "must be a single value");
        *out = n.as<T>();
        return Status::Ok();
      } catch (const YAML::Exception&) {
        return Error(n, field, "wrong type for '" + n.Scalar() + "'");
      }
    };
  }

  Setter StringMap(std::map<std::string, std::string>* out) const {
    return [this, out](const YAML::Node& n, const std::string& field) -> Status {
      if (n.IsNull()) return Status::Ok();
      if (!n.IsMap()) return Error(n, field, "must be a map of name: value");
      for (auto it = n.begin(); it != n.end(); ++it) {
        if (!it->second.IsScalar())
          return Error(it->second, field + "." + it->first.Scalar(), "must be a string");
        (*out)[it->first.Scalar()] = it->second.Scalar();
      }
      return Status::Ok();
    };
  }

  Setter NumberMap(std::map<std::string, double>* out) const {
    return [this, out](const YAML::Node& n, const std::string& field) -> Status {
      if (n.IsNull()) return Status::Ok();
      if (!n.IsMap()) return Error(n, field, "must be a map of name: number");
      for (auto it = n.begin(); it != n.end(); ++it) {
        double v = 0;
        YS_RETURN_IF_ERROR(Value(&v)(it->second, field + "." + it->first.Scalar()));
        (*out)[it->first.Scalar()] = v;
      }
      return Status::Ok();
    };
  }

  Setter StringList(std::vector<std::string>* out) const {
    return [this, out](const YAML::Node& n, const std::string& field) -> Status {
      if (n.IsScalar()) {  // a single word
        *out = {n.Scalar()};
        return Status::Ok();
      }
      if (!n.IsSequence()) return Error(n, field, "must be a list of strings");
      out->clear();
      for (size_t i = 0; i < n.size(); ++i) {
        if (!n[i].IsScalar()) return Error(n[i], field, "must be a list of strings");
        out->push_back(n[i].Scalar());
      }
      return Status::Ok();
    };
  }

  // Applies `node` (a map) with `setters`, naming fields `prefix.key`.
  Status Apply(
      const YAML::Node& node, const std::string& prefix,
      const std::map<std::string, Setter>& setters,
      const std::map<std::string, std::function<Status(const YAML::Node&)>>& sections) const {
    if (node.IsNull()) return Status::Ok();
    if (!node.IsMap()) return Error(node, prefix, "must be a map");
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string key = it->first.Scalar();
      const std::string field = prefix + "." + key;
      if (auto s = setters.find(key); s != setters.end()) {
        YS_RETURN_IF_ERROR(s->second(it->second, field));
      } else if (auto sec = sections.find(key); sec != sections.end()) {
        YS_RETURN_IF_ERROR(sec->second(it->second));
      } else {
        return Error(it->first, field, "unknown key");
      }
    }
    return Status::Ok();
  }

 private:
  std::string source_;
};

}  // namespace

Status ApplyAlertingConfigYaml(const YAML::Node& node, const std::string& source,
                               AlertingConfig* c) {
  SectionReader r(source);
  WebhookNotifierConfig& w = c->webhook;
  CommandNotifierConfig& cmd = c->command;
  std::map<std::string, Setter> webhook = {
      {"url", r.Value(&w.url)},
      {"receiver", r.Value(&w.receiver)},
      {"external_url", r.Value(&w.external_url)},
      {"bearer_token", r.Value(&w.bearer_token)},
      {"timeout_ms", r.Value(&w.timeout_ms)},
      {"max_attempts", r.Value(&w.max_attempts)},
      {"initial_backoff_ms", r.Value(&w.initial_backoff_ms)},
      {"max_backoff_ms", r.Value(&w.max_backoff_ms)},
      {"queue_capacity", r.Value(&w.queue_capacity)},
      {"close_timeout_ms", r.Value(&w.close_timeout_ms)},
  };
  std::map<std::string, Setter> command = {
      {"argv", r.StringList(&cmd.argv)},
      {"on_resolved", r.Value(&cmd.on_resolved)},
      {"timeout_ms", r.Value(&cmd.timeout_ms)},
      {"kill_grace_ms", r.Value(&cmd.kill_grace_ms)},
      {"queue_capacity", r.Value(&cmd.queue_capacity)},
      {"close_timeout_ms", r.Value(&cmd.close_timeout_ms)},
  };
  std::map<std::string, Setter> top = {
      {"enabled", r.Value(&c->enabled)},
      {"rules", r.Value(&c->rules_path)},
      {"params", r.NumberMap(&c->params)},
      {"labels", r.StringMap(&c->live.engine.external_labels)},
      {"log", r.Value(&c->log_records)},
      {"stderr", r.Value(&c->stderr_lines)},
      {"evaluation_delay_ms", r.Value(&c->live.evaluation_delay_ms)},
      {"max_series_per_rule", r.Value(&c->live.engine.max_series_per_rule)},
  };
  auto detection_rules = [&](const YAML::Node& n) -> Status {
    if (n.IsNull()) {
      c->detection_rules.clear();
      return Status::Ok();
    }
    if (!n.IsSequence()) {
      return r.Error(n, "alerts.detection_rules", "must be a list of {name, class, ...}");
    }
    std::vector<DetectionRuleConfig> rules(n.size());
    for (size_t i = 0; i < n.size(); ++i) {
      DetectionRuleConfig& d = rules[i];
      std::map<std::string, Setter> keys = {
          {"name", r.Value(&d.name)},
          {"class", r.Value(&d.class_name)},
          {"min_confidence", r.Value(&d.min_confidence)},
          {"consecutive_frames", r.Value(&d.consecutive_frames)},
          {"resolve_frames", r.Value(&d.resolve_frames)},
          {"streams", r.StringList(&d.streams)},
          {"severity", r.Value(&d.severity)},
          {"labels", r.StringMap(&d.labels)},
          {"annotations", r.StringMap(&d.annotations)},
      };
      YS_RETURN_IF_ERROR(
          r.Apply(n[i], "alerts.detection_rules[" + std::to_string(i) + "]", keys, {}));
    }
    c->detection_rules = std::move(rules);
    return Status::Ok();
  };
  std::map<std::string, std::function<Status(const YAML::Node&)>> sections = {
      {"webhook", [&](const YAML::Node& n) { return r.Apply(n, "alerts.webhook", webhook, {}); }},
      {"command", [&](const YAML::Node& n) { return r.Apply(n, "alerts.command", command, {}); }},
      {"detection_rules", detection_rules},
  };
  return r.Apply(node, "alerts", top, sections);
}

void EmitAlertingConfigYaml(const AlertingConfig& c, YAML::Emitter* out) {
  YAML::Emitter& e = *out;
  e << YAML::BeginMap;
  e << YAML::Key << "enabled" << YAML::Value << c.enabled;
  e << YAML::Key << "rules" << YAML::Value << c.rules_path;
  e << YAML::Key << "params" << YAML::Value << YAML::BeginMap;
  for (const auto& [k, v] : c.params) e << YAML::Key << k << YAML::Value << v;
  e << YAML::EndMap;
  e << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
  for (const auto& [k, v] : c.live.engine.external_labels) e << YAML::Key << k << YAML::Value << v;
  e << YAML::EndMap;
  e << YAML::Key << "log" << YAML::Value << c.log_records;
  e << YAML::Key << "stderr" << YAML::Value << c.stderr_lines;
  e << YAML::Key << "evaluation_delay_ms" << YAML::Value << c.live.evaluation_delay_ms;
  e << YAML::Key << "max_series_per_rule" << YAML::Value << c.live.engine.max_series_per_rule;
  const WebhookNotifierConfig& w = c.webhook;
  e << YAML::Key << "webhook" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "url" << YAML::Value << w.url;
  e << YAML::Key << "receiver" << YAML::Value << w.receiver;
  e << YAML::Key << "external_url" << YAML::Value << w.external_url;
  e << YAML::Key << "bearer_token" << YAML::Value << (w.bearer_token.empty() ? "" : "<redacted>");
  e << YAML::Key << "timeout_ms" << YAML::Value << w.timeout_ms;
  e << YAML::Key << "max_attempts" << YAML::Value << w.max_attempts;
  e << YAML::Key << "initial_backoff_ms" << YAML::Value << w.initial_backoff_ms;
  e << YAML::Key << "max_backoff_ms" << YAML::Value << w.max_backoff_ms;
  e << YAML::Key << "queue_capacity" << YAML::Value << w.queue_capacity;
  e << YAML::Key << "close_timeout_ms" << YAML::Value << w.close_timeout_ms;
  e << YAML::EndMap;
  const CommandNotifierConfig& cmd = c.command;
  e << YAML::Key << "command" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "argv" << YAML::Value << YAML::Flow << cmd.argv;
  e << YAML::Key << "on_resolved" << YAML::Value << cmd.on_resolved;
  e << YAML::Key << "timeout_ms" << YAML::Value << cmd.timeout_ms;
  e << YAML::Key << "kill_grace_ms" << YAML::Value << cmd.kill_grace_ms;
  e << YAML::Key << "queue_capacity" << YAML::Value << cmd.queue_capacity;
  e << YAML::Key << "close_timeout_ms" << YAML::Value << cmd.close_timeout_ms;
  e << YAML::EndMap;
  e << YAML::Key << "detection_rules" << YAML::Value << YAML::BeginSeq;
  for (const DetectionRuleConfig& d : c.detection_rules) {
    e << YAML::BeginMap;
    e << YAML::Key << "name" << YAML::Value << d.name;
    e << YAML::Key << "class" << YAML::Value << d.class_name;
    e << YAML::Key << "min_confidence" << YAML::Value << d.min_confidence;
    e << YAML::Key << "consecutive_frames" << YAML::Value << d.consecutive_frames;
    e << YAML::Key << "resolve_frames" << YAML::Value << d.resolve_frames;
    e << YAML::Key << "streams" << YAML::Value << YAML::Flow << d.streams;
    e << YAML::Key << "severity" << YAML::Value << d.severity;
    e << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
    for (const auto& [k, v] : d.labels) e << YAML::Key << k << YAML::Value << v;
    e << YAML::EndMap;
    e << YAML::Key << "annotations" << YAML::Value << YAML::BeginMap;
    for (const auto& [k, v] : d.annotations) e << YAML::Key << k << YAML::Value << v;
    e << YAML::EndMap;
    e << YAML::EndMap;
  }
  e << YAML::EndSeq;
  e << YAML::EndMap;
}

StatusOr<std::unique_ptr<LiveAlerter>> CreateLiveAlerter(const AlertingConfig& config, Clock* clock,
                                                         AlertLineSink log_sink) {
  RuleSetOptions options;
  options.params = config.params;
  StatusOr<RuleSet> rules = config.rules_path.empty()
                                ? RuleSet::LoadDefaults(options)
                                : RuleSet::LoadFile(config.rules_path, options);
  if (!rules.ok()) return rules.status().WithContext("alert rules");
  std::vector<std::unique_ptr<AlertNotifier>> notifiers;
  if (config.log_records && log_sink) {
    notifiers.push_back(std::make_unique<LogRecordNotifier>(std::move(log_sink)));
  }
  if (config.stderr_lines) notifiers.push_back(std::make_unique<StderrNotifier>(stderr));
  if (!config.webhook.url.empty()) {
    auto w = WebhookNotifier::Create(config.webhook);
    if (!w.ok()) return w.status().WithContext("alerts.webhook");
    notifiers.push_back(std::move(w).value());
  }
  if (!config.command.argv.empty()) {
    auto cmd = CommandNotifier::Create(config.command);
    if (!cmd.ok()) return cmd.status().WithContext("alerts.command");
    notifiers.push_back(std::move(cmd).value());
  }
  return LiveAlerter::Create(std::move(rules).value(), config.live, clock, std::move(notifiers));
}

}  // namespace yoloscope
