// PlanCommand: `yoloscope plan LOG --slo-p99 MS [--max-instances N]` as a
// library call: the logged setting and engine as for --what-if
// (WhatIfCommand), then CapacityPlanner's search, then the report.
//
// Exit codes (Run): 0 a setting meets the goal (recommended); 3 none does
// within the search (the closest is shown); 2 unusable arguments or input,
// or a log from which nothing can be predicted.
//
// Thread-safety: one Run at a time per object.
#pragma once

#include <cstdio>
#include <string>

#include "whatif/capacity_planner.h"
#include "whatif/what_if_command.h"

namespace yoloscope {

struct PlanOptions {
  WhatIfOptions log;  // paths, formats, --model, --setting (what_ifs unused)
  double slo_p99_ms = 0;
  int max_instances = 4;
  double max_rejection_pct = 0.1;  // percent of offered requests
  std::string rate;                // "" or a rate for the future load: "x1.5", "300"
};

class PlanCommand {
 public:
  static constexpr int kExitOk = 0;
  static constexpr int kExitUsage = 2;
  static constexpr int kExitNoSetting = 3;

  explicit PlanCommand(PlanOptions options) : options_(std::move(options)) {}
  int Run(std::FILE* out, std::FILE* err);

 private:
  PlanOptions options_;
};

}  // namespace yoloscope
