// `yoloscope plan`: flags -> PlanOptions -> PlanCommand::Run (docs/what-if.md).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "whatif/plan_command.h"

namespace yoloscope {

int PlanMain(int argc, char** argv) {
  CLI::App app{"Recommend the cheapest batching/capacity setting that meets a p99 goal, "
               "predicted from a request log",
               "yoloscope plan"};
  PlanOptions o;
  std::vector<std::string> maps;
  app.add_option("logs", o.log.paths, "request log(s), any format analyze reads")->required();
  app.add_option("--slo-p99", o.slo_p99_ms, "goal: p99 of served requests, in ms")->required();
  app.add_option("--max-instances", o.max_instances, "search 1..N instances")
      ->capture_default_str();
  app.add_option("--max-rejection", o.max_rejection_pct,
                 "goal: at most this percent of requests rejected")
      ->capture_default_str();
  app.add_option("--rate", o.rate, "plan for another load: xF (scale) or requests/s");
  app.add_option("--setting", o.log.logged_setting,
                 "the logged setting where the log does not record it, e.g. "
                 "'max_queue_delay_us=2000,queue_size=64'");
  app.add_option("--model", o.log.model, "which model of the log");
  app.add_option("--skip-s", o.log.skip_s,
                 "leave the first S seconds (warm-up) out of every number")
      ->capture_default_str();
  app.add_option("--replays", o.log.replays,
                 "seeded replays per prediction, their median used (0 = automatic: 7 up to "
                 "20,000 requests, fewer above)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--format", o.log.format, "report format")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--input-format", o.log.input_format, "force the input format")
      ->capture_default_str();
  app.add_option("--map", maps, "map a schema field to a column or key: field=column (repeatable)");
  app.add_option("--threads", o.log.threads, "reading threads (0 = automatic)")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : PlanCommand::kExitUsage;
  }
  for (const std::string& m : maps) {
    const size_t eq = m.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == m.size()) {
      std::fprintf(stderr, "yoloscope plan: --map wants field=column, got '%s'\n", m.c_str());
      return PlanCommand::kExitUsage;
    }
    o.log.column_map[m.substr(0, eq)] = m.substr(eq + 1);
  }
  return PlanCommand(std::move(o)).Run(stdout, stderr);
}

}  // namespace yoloscope
