// Renderers of an alert timeline (AlertTimeline::Finish) for the output
// formats of `yoloscope analyze`: a JSON `alerts` array, plain text and
// Markdown. Times are RFC 3339 UTC; values keep at most 3 decimals.
//
// JSON element:
//   {"rule":"HighInferenceTime","severity":"warning",
//    "expression":"mean(inference_ms[1m]) > 100","threshold":100,
//    "started_at":"...","fired_at":"...","resolved_at":"..." | null,
//    "duration_s":125 | null,"value":153.2,"peak":180.4,
//    "labels":{...},"annotations":{...}}
//
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "alerts/alert_timeline.h"

namespace yoloscope {

nlohmann::json AlertTimelineToJson(const std::vector<TimelineAlert>& alerts);
// A section starting with "Alerts" (or "Alerts: none fired" when empty).
std::string RenderAlertTimelineText(const std::vector<TimelineAlert>& alerts);
// A "## Alerts" section with a table.
std::string RenderAlertTimelineMarkdown(const std::vector<TimelineAlert>& alerts);

}  // namespace yoloscope
