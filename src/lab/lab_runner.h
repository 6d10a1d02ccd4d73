// LabRunner: runs bottleneck-lab scenarios end to end, for real: starts the
// real server (InferenceServer, loopback, free port) with the scenario's
// config, drives the scenario's load through LoadGenerator phase by phase,
// stops the server (flushing the request log), runs the analyzer on that
// log alone, and compares the finding kinds with the expected ones.
//
// Thread-safety: one Run at a time per object.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "common/status.h"
#include "lab/scenario.h"

namespace yoloscope {

struct LabConfig {
  std::string models_dir;   // ${MODELS}
  std::string photos_dir = "/usr/share/darknet/data";  // ${PHOTOS}
  std::string work_dir;     // logs and images go here ("" = a temp folder)
  bool keep_logs = false;   // keep the work folder afterwards
};

struct ScenarioResult {
  std::string name;
  bool passed = false;
  std::vector<std::string> found;    // "kind(severity)"
  std::vector<std::string> missing;  // expected kinds not found
  std::vector<std::string> unexpected;  // absent kinds found, or warnings in a healthy run
  std::string evidence;  // the key evidence line of the first expected finding
  int64_t requests = 0;  // request records in the log
  double seconds = 0;    // wall time of the scenario
  std::string log_path;
  std::string error;     // set when the scenario could not run
};

class LabRunner {
 public:
  explicit LabRunner(LabConfig config);
  ScenarioResult Run(const Scenario& scenario);
  // Prints the pass/fail table.
  static void PrintTable(const std::vector<ScenarioResult>& results, std::FILE* out);

 private:
  Status RunScenario(const Scenario& s, const std::string& dir, ScenarioResult* r);
  LabConfig config_;
};

}  // namespace yoloscope
