// `yoloscope lab run [SCENARIO...]`: runs bottleneck scenarios end to end and
// prints a pass/fail table. `yoloscope lab list` lists them. `yoloscope lab
// whatif SCENARIO --what-if SPEC...`: predicts each B from A's log, runs B,
// compares (docs/what-if.md).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "lab/lab_runner.h"
#include "lab/what_if_lab.h"

namespace yoloscope {

int LabMain(int argc, char** argv) {
  CLI::App app{"Bottleneck lab: real server, real load, diagnosis from the log alone.",
               "yoloscope lab"};
  app.require_subcommand(1);
  LabConfig cfg;
  cfg.models_dir = YOLOSCOPE_DEFAULT_MODELS_DIR;
  std::string scenarios_dir = YOLOSCOPE_DEFAULT_SCENARIOS_DIR;
  std::vector<std::string> names;
  auto* run = app.add_subcommand("run", "run scenarios (all when none is named)");
  auto* list = app.add_subcommand("list", "list the scenarios");
  for (auto* sub : {run, list}) {
    sub->add_option("--scenarios", scenarios_dir, "folder of scenario YAML files");
  }
  run->add_option("scenario", names, "scenario names or YAML files");
  run->add_option("--models", cfg.models_dir, "generated models folder (${MODELS})");
  run->add_option("--photos", cfg.photos_dir, "sample photos folder (${PHOTOS})");
  run->add_option("--work-dir", cfg.work_dir, "where logs go (default: a temp folder)");
  run->add_flag("--keep-logs", cfg.keep_logs, "keep every scenario's request log");
  auto* whatif = app.add_subcommand(
      "whatif", "run scenario A, predict each what-if B from A's log, run B, compare");
  std::string whatif_scenario;
  WhatIfLabConfig wcfg;
  whatif->add_option("scenario", whatif_scenario, "scenario A: a name or a YAML file")->required();
  whatif->add_option("--what-if", wcfg.what_ifs, "setting B, e.g. 'instances=2' (repeatable)")
      ->required();
  whatif->add_option("--skip-s", wcfg.skip_s, "warm-up left out of both sides (s)")
      ->capture_default_str();
  whatif
      ->add_option("--repeat", wcfg.repeat, "runs of A and of each B; medians are compared (1..20)")
      ->capture_default_str();
  whatif->add_option("--scenarios", scenarios_dir, "folder of scenario YAML files");
  whatif->add_option("--models", cfg.models_dir, "generated models folder (${MODELS})");
  whatif->add_option("--photos", cfg.photos_dir, "sample photos folder (${PHOTOS})");
  whatif->add_option("--work-dir", cfg.work_dir, "where logs go (default: a temp folder)");
  whatif->add_flag("--reuse-logs", wcfg.reuse_logs,
                   "run nothing: predict again from the logs an earlier run (same scenario, "
                   "settings, --repeat) left in --work-dir");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(scenarios_dir, ec)) {
    if (e.path().extension() == ".yaml") files.push_back(e.path().string());
  }
  if (ec) {
    std::fprintf(stderr, "yoloscope lab: cannot list %s: %s\n", scenarios_dir.c_str(),
                 ec.message().c_str());
    return 2;
  }
  std::sort(files.begin(), files.end());
  std::map<std::string, std::string> vars = {{"MODELS", cfg.models_dir},
                                             {"PHOTOS", cfg.photos_dir}};
  std::vector<Scenario> scenarios;
  for (const auto& f : files) {
    auto s = LoadScenarioFile(f, vars);
    if (!s.ok()) {
      std::fprintf(stderr, "yoloscope lab: %s\n", s.status().message().c_str());
      return 2;
    }
    scenarios.push_back(*s);
  }
  if (*whatif) names = {whatif_scenario};
  if (*list) {
    for (const auto& s : scenarios) std::printf("%-26s %s\n", s.name.c_str(), s.description.c_str());
    return 0;
  }
  std::vector<Scenario> chosen;
  for (const auto& n : names) {
    if (std::filesystem::exists(n) && std::filesystem::path(n).extension() == ".yaml") {
      auto s = LoadScenarioFile(n, vars);
      if (!s.ok()) {
        std::fprintf(stderr, "yoloscope lab: %s\n", s.status().message().c_str());
        return 2;
      }
      chosen.push_back(*s);
      continue;
    }
    auto it = std::find_if(scenarios.begin(), scenarios.end(),
                           [&](const Scenario& s) { return s.name == n; });
    if (it == scenarios.end()) {
      std::fprintf(stderr, "yoloscope lab: no scenario named '%s' in %s\n", n.c_str(),
                   scenarios_dir.c_str());
      return 2;
    }
    chosen.push_back(*it);
  }
  if (names.empty()) chosen = scenarios;
  if (*whatif) {
    wcfg.lab = cfg;
    WhatIfLab lab(wcfg);
    auto results = lab.Run(chosen.front());
    if (!results.ok()) {
      std::fprintf(stderr, "yoloscope lab whatif: %s\n", results.status().message().c_str());
      return 2;
    }
    WhatIfLab::PrintTable(chosen.front(), *results, stdout);
    for (const auto& r : *results) {
      if (!r.error.empty()) return 2;
    }
    return std::all_of(results->begin(), results->end(),
                       [](const auto& r) { return r.within_goals(); })
               ? 0
               : 3;
  }

  LabRunner runner(cfg);
  std::vector<ScenarioResult> results;
  for (size_t i = 0; i < chosen.size(); ++i) {
    std::fprintf(stderr, "[lab %zu/%zu] %s: %s\n", i + 1, chosen.size(), chosen[i].name.c_str(),
                 chosen[i].description.c_str());
    results.push_back(runner.Run(chosen[i]));
    const auto& r = results.back();
    std::fprintf(stderr, "[lab %zu/%zu] %s %s in %.1f s\n", i + 1, chosen.size(),
                 chosen[i].name.c_str(), r.passed ? "passed" : "FAILED", r.seconds);
  }
  LabRunner::PrintTable(results, stdout);
  return std::all_of(results.begin(), results.end(), [](const auto& r) { return r.passed; }) ? 0
                                                                                            : 1;
}

}  // namespace yoloscope
