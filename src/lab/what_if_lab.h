// WhatIfLab: `yoloscope lab whatif` -- checks what-if predictions against
// reality (docs/what-if.md, "Prediction against reality"):
//   1. runs scenario A (its server setting and recorded load) for real with
//      LabRunner and keeps its request log;
//   2. for each what-if B: predicts B from A's log alone (WhatIfEngine, the
//      logged setting taken from A's own server config);
//   3. runs B for real: A's scenario with the server config changed as B
//      says and, for rate=xF, every open-loop phase's rate multiplied and
//      its duration divided by F (the same seeded arrivals, compressed);
//   4. with repeat > 1, steps 1-3 run `repeat` times, in rounds (one A run,
//      then one run of every B, so that each B is measured minutes, not a
//      quarter of an hour, after the A run that predicts it), and the
//      medians are compared;
//   5. compares predicted and measured over the same window (skip_s of
//      warm-up left out of both) against the goals: p50 and throughput
//      within 10 %, p99 within 20 %, rejection rate within 5 points.
//
// Thread-safety: one Run at a time per object.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "common/status.h"
#include "lab/lab_runner.h"
#include "lab/scenario.h"
#include "whatif/profile_builder.h"
#include "whatif/pipeline_simulator.h"

namespace yoloscope {

struct WhatIfLabConfig {
  LabConfig lab;                      // keep_logs is forced on (the logs are compared)
  std::vector<std::string> what_ifs;  // B settings, ApplyWhatIf syntax on A's setting
  double skip_s = 0.5;                // warm-up left out of both sides (>= 0)
  // Runs of A and of each B (1..20). With more than one, each A run's log
  // predicts B on its own, and the predicted and the measured numbers
  // compared are the medians over the runs (per metric): one host stall
  // in one run moves a p99, not the comparison.
  int repeat = 1;
  // Run nothing: read the logs an earlier run with the same scenario,
  // settings and repeat left in lab.work_dir (<work_dir>/<run>/requests.jsonl)
  // and predict and compare again -- to check a change of the model against
  // the same measurements. A missing log is an error naming it.
  bool reuse_logs = false;
};

struct WhatIfPairResult {
  std::string spec;
  int runs = 1;       // runs of A and of B behind the medians
  std::string error;  // set when the pair could not be run or predicted
  SimulationResult predicted;
  ObservedRun measured;
  std::vector<std::string> misses;  // goals missed: "p50 +14% (goal 10%)"
  bool extrapolated = false;
  // The predictions' sensitivity (Prediction::sensitivity), medians over
  // the A runs: sensitive when 1 % slower service alone would break a goal.
  double sensitivity_p50_pct = 0, sensitivity_mean_pct = 0;
  bool sensitive = false;
  // The spread of the measured B runs' p50 (ms): how far one run of the
  // same setting is from another.
  double measured_p50_min = 0, measured_p50_max = 0;
  // B's runs against A's on the model's main input, the device time of one
  // batch size (the one both logged most; 0 = none in common): a miss with
  // a large drift is the machine changing between the runs, not the model.
  int drift_batch_size = 0;
  double device_drift_pct = 0;
  bool within_goals() const { return error.empty() && misses.empty(); }
};

class WhatIfLab {
 public:
  static constexpr double kP50Tolerance = 0.10;
  static constexpr double kThroughputTolerance = 0.10;
  static constexpr double kP99Tolerance = 0.20;
  static constexpr double kRejectionPoints = 5.0;

  explicit WhatIfLab(WhatIfLabConfig config);
  // Error when A cannot be run or predicted at all; per-pair problems are in
  // the pair's `error`.
  StatusOr<std::vector<WhatIfPairResult>> Run(const Scenario& a);
  static void PrintTable(const Scenario& a, const std::vector<WhatIfPairResult>& results,
                         std::FILE* out);

 private:
  WhatIfLabConfig config_;
};

}  // namespace yoloscope
