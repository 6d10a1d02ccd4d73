#include "whatif/plan_command.h"

#include <fmt/format.h>

namespace yoloscope {

int PlanCommand::Run(std::FILE* out, std::FILE* err) {
  auto fail = [&](const Status& st) {
    std::fprintf(err, "yoloscope plan: %s\n", st.message().c_str());
    return kExitUsage;
  };
  if (!(options_.slo_p99_ms > 0)) return fail(InvalidArgumentError("--slo-p99 must be > 0 ms"));
  auto engine = WhatIfCommand::LoadEngine(options_.log);
  if (!engine.ok()) return fail(engine.status());
  auto in = WhatIfCommand::PredictLogged(**engine, options_.log);
  if (!in.ok()) return fail(in.status());
  PlanConfig config;
  config.slo_p99_ms = options_.slo_p99_ms;
  config.max_instances = options_.max_instances;
  config.max_rejection_rate = options_.max_rejection_pct / 100;
  config.base = in->logged.setting;
  if (!options_.rate.empty()) {
    auto s = ApplyWhatIf("rate=" + options_.rate, config.base);
    if (!s.ok()) return fail(s.status().WithContext("--rate"));
    config.base = *s;
  }
  auto plan = CapacityPlanner::Plan(**engine, config);
  if (!plan.ok()) return fail(plan.status());
  const std::string text = options_.log.format == "json"
                               ? WhatIfReport::PlanJson(*in, config, *plan).dump(2) + "\n"
                               : WhatIfReport::PlanText(*in, config, *plan);
  std::fputs(text.c_str(), out);
  return plan->recommended ? kExitOk : kExitNoSetting;
}

}  // namespace yoloscope
