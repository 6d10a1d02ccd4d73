// WhatIfReport: renders what-if comparisons (`analyze --what-if`) and plans
// (`yoloscope plan`) as text for people and as JSON (schema
// "yoloscope.whatif.v1", docs/what-if.md). Pure functions; no I/O.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "whatif/capacity_planner.h"
#include "whatif/what_if_engine.h"

namespace yoloscope {

struct WhatIfRow {
  std::string spec;                      // as given on the command line
  std::optional<Prediction> prediction;  // empty when it cannot be predicted
  std::string error;                     // "cannot predict: ..." / a bad setting
};

struct WhatIfReportInput {
  std::string source;               // the log file(s)
  const WhatIfEngine* engine = nullptr;  // not owned
  Prediction logged;                // the logged setting, predicted
  // Where each logged value came from: "max_batch=4 (from the log: largest batch)".
  std::vector<std::string> logged_sources;
  std::vector<WhatIfRow> rows;
};

class WhatIfReport {
 public:
  static constexpr const char* kJsonSchema = "yoloscope.whatif.v1";

  static std::string Text(const WhatIfReportInput& input);
  static nlohmann::ordered_json Json(const WhatIfReportInput& input);

  // `input.rows` is ignored; the plan's candidates are shown instead.
  static std::string PlanText(const WhatIfReportInput& input, const PlanConfig& config,
                              const PlanResult& plan);
  static nlohmann::ordered_json PlanJson(const WhatIfReportInput& input, const PlanConfig& config,
                                         const PlanResult& plan);
};

}  // namespace yoloscope
