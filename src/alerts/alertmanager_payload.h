// The JSON body Alertmanager (v0.25) posts to webhook receivers, payload
// version "4", built for one alert transition so that any receiver written
// for Alertmanager can take `serve`'s alerts directly:
//
// {"version":"4","groupKey":"{}:{alertname=\"HighInferenceTime\"}","truncatedAlerts":0,
//  "status":"firing","receiver":"yoloscope","groupLabels":{"alertname":"..."},
//  "commonLabels":{...},"commonAnnotations":{...},"externalURL":"http://host:8080",
//  "alerts":[{"status":"firing","labels":{...},"annotations":{...},
//             "startsAt":"2026-01-01T00:01:05Z","endsAt":"0001-01-01T00:00:00Z",
//             "generatorURL":"...","fingerprint":"1b3c5e7a9d0f2468"}]}
//
// startsAt is when the alert fired (as Prometheus sends it); endsAt the
// resolution time, or Go's zero time while firing. The fingerprint is
// Prometheus' label-set signature (FNV-1a 64 over sorted name/value pairs
// with 0xff separators), so it matches what Prometheus would compute for the
// same labels.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "alerts/alert_engine.h"

namespace yoloscope {

struct AlertmanagerPayloadOptions {
  std::string receiver = "yoloscope";
  std::string external_url;   // "externalURL"
  std::string generator_url;  // "generatorURL" of each alert; default: external_url
};

std::string BuildAlertmanagerPayload(const AlertTransition& transition,
                                     const AlertmanagerPayloadOptions& options);

// 16 lowercase hex digits.
std::string AlertFingerprint(const std::map<std::string, std::string>& labels);

}  // namespace yoloscope
