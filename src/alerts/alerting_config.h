// AlertingConfig: everything `serve` needs to alert by itself, as a plain
// struct with documented defaults, the YAML section that fills it (the
// `alerts:` key of serve's config file) and the factory that builds the
// LiveAlerter with its notifiers.
//
//   alerts:
//     enabled: true
//     rules: configs/alerts/default.yaml   # "" = the built-in defaults
//     params: {slo_p99_ms: 250}            # overrides of the rule file's params
//     labels: {instance: gpu-box-1}        # added to every alert
//     log: true                            # `alert` records in the request log
//     stderr: true                         # one line per transition on stderr
//     evaluation_delay_ms: 200
//     max_series_per_rule: 64
//     webhook:                             # off while url is empty
//       url: http://127.0.0.1:9094/hook
//       receiver: yoloscope
//       external_url: http://gpu-box-1:8080
//       bearer_token: ""
//       timeout_ms: 5000
//       max_attempts: 5
//       initial_backoff_ms: 500
//       max_backoff_ms: 30000
//       queue_capacity: 256
//       close_timeout_ms: 5000
//     detection_rules:                     # per-frame rules on stream detections
//       - {name: DogAtDoor, class: dog, consecutive_frames: 3}   # detection_rule.h
//     command:                             # off while argv is empty
//       argv: [/usr/local/bin/scale-out.sh, --pool, gpu]
//       on_resolved: true
//       timeout_ms: 10000
//       kill_grace_ms: 1000
//       queue_capacity: 64
//       close_timeout_ms: 10000
//
// Plain value types and free functions; not synchronized.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <memory>
#include <string>

#include "alerts/command_notifier.h"
#include "alerts/detection_rule.h"
#include "alerts/live_alerter.h"
#include "alerts/log_record_notifier.h"
#include "alerts/rule_set.h"
#include "alerts/webhook_notifier.h"
#include "common/clock.h"
#include "common/status.h"

namespace yoloscope {

struct AlertingConfig {
  bool enabled = false;
  std::string rules_path;                // "" = RuleSet::LoadDefaults()
  std::map<std::string, double> params;  // overrides of the rule file's params
  bool log_records = true;               // needs a log sink at CreateLiveAlerter
  bool stderr_lines = true;
  WebhookNotifierConfig webhook;  // off while webhook.url is empty
  CommandNotifierConfig command;  // off while command.argv is empty
  LiveAlerterConfig live;         // live.engine.external_labels = `labels`
  // Rules on what video streams' frames show (detection_rule.h), evaluated
  // by serve's stream front end, delivered by these notifiers.
  std::vector<DetectionRuleConfig> detection_rules;
};

// Applies the keys present in `node` (the value of `alerts:`) onto
// `*config`. InvalidArgument "SOURCE:LINE: alerts.KEY: why" for an unknown
// key or a wrong type.
Status ApplyAlertingConfigYaml(const YAML::Node& node, const std::string& source,
                               AlertingConfig* config);

// Emits `config` as a YAML map (the shape ApplyAlertingConfigYaml reads).
void EmitAlertingConfigYaml(const AlertingConfig& config, YAML::Emitter* out);

// Loads the rules (with params) and builds the alerter with its notifiers:
// log records (when config.log_records and `log_sink` is set), stderr,
// webhook, command. Not started. Errors name the part that failed.
StatusOr<std::unique_ptr<LiveAlerter>> CreateLiveAlerter(const AlertingConfig& config, Clock* clock,
                                                         AlertLineSink log_sink = nullptr);

}  // namespace yoloscope
