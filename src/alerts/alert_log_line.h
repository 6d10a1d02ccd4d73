// The `alert` record of the request log (schema yoloscope.v1, spec in
// docs/alerts.md), written by `serve` for every firing and resolved alert:
//
// {"event":"alert","schema":"yoloscope.v1","ts":"2026-01-01T00:01:05.000000Z",
//  "rule":"HighInferenceTime","state":"firing","severity":"warning",
//  "metric":"inference_ms","aggregation":"mean","window_s":60,"comparator":">",
//  "threshold":100,"value":153.25,"peak":180.4,
//  "started_at":"...","fired_at":"...","resolved_at":"...",
//  "labels":{"alertname":"HighInferenceTime","severity":"warning"},
//  "annotations":{"summary":"..."}}
//
// `ts` is the evaluation time of the transition; `value` is omitted when the
// window held no samples; `fired_at` / `resolved_at` only when known. Values
// keep at most 3 decimals. Uses reqlog's escaping, so every line is valid
// UTF-8 JSON ending in '\n'.
//
// Thread-safety: pure function.
#pragma once

#include <string>

#include "alerts/alert_engine.h"

namespace yoloscope {

void AppendAlertJsonLine(const AlertTransition& transition, std::string* out);

}  // namespace yoloscope
