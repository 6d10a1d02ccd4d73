// Test helpers for tests/report: the checked-in analysis fixture (the real
// analyzer's `--format json` output for a log recorded from `yoloscope serve
// --backend sim --model configs/sim/squeeze.yaml` under load; see
// fixtures/README.md) and synthetic analysis documents. Header-only.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace yoloscope::testing {

inline std::string ReportFixture(const std::string& name) {
  return std::string(YOLOSCOPE_SOURCE_DIR) + "/tests/report/fixtures/" + name;
}

inline nlohmann::json LoadJsonFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
}

// The squeeze analysis plus two alerts (the alerting work adds `alerts` to
// the analysis document: rule, severity, fired_at, resolved_at, value), one
// resolved and one still firing, inside the log's time range.
inline nlohmann::json SqueezeAnalysisWithAlerts() {
  nlohmann::json j = LoadJsonFile(ReportFixture("squeeze_analysis.json"));
  if (j.is_discarded()) return j;
  j["alerts"] = nlohmann::json::array({{{"rule", "gpu_memory_high"},
                                        {"severity", "critical"},
                                        {"fired_at", "2026-11-24T16:14:35Z"},
                                        {"resolved_at", "2026-11-24T16:15:05Z"},
                                        {"value", 0.99}},
                                       {{"rule", "p99_latency_high"},
                                        {"severity", "warning"},
                                        {"fired_at", "2026-11-24T16:14:50Z"},
                                        {"resolved_at", nullptr},
                                        {"value", 250}}});
  return j;
}

}  // namespace yoloscope::testing
