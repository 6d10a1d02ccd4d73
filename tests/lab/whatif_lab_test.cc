// The what-if lab, short: scenario A on the simulated GPU, one what-if B
// (a second instance), predicted from A's log and run for real, twice each
// (medians compared). Asserted:
// the pairs run, and the goals the model meets on this shared machine
// (throughput, rejections); latency goals are reported, not asserted (see
// docs/what-if.md, "Prediction against reality").
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "lab/what_if_lab.h"

namespace yoloscope {
namespace {

namespace fs = std::filesystem;

TEST(WhatIfLabTest, PredictsASecondInstanceFromTheLogOfOne) {
  const fs::path dir = fs::temp_directory_path() / ("ys_whatif_lab_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "sim.yaml") << "simulator: yoloscope-sim/1\n"
                                     "model: {name: whatif-sim, input_size: 320}\n"
                                     "latency: {base_ms: 4, per_image_ms: 1, jitter_pct: 2, seed: 1}\n"
                                     "memory: {weights_mb: 13, activation_mb_per_image: 10}\n"
                                     "events: []\n";
  std::ofstream(dir / "a.yaml")
      << "name: whatif_lab\n"
         "description: what-if lab test\n"
         "server:\n"
         "  model: {path: \""
      << (dir / "sim.yaml").string()
      << "\"}\n"
         "  batching: {max_batch_size: 4, max_queue_delay_us: 2000, max_queue_size: 256}\n"
         "load:\n"
         "  phases:\n"
         "    - {duration_s: 3, rate: 150, arrivals: poisson, images: \"generated:320x240\"}\n";
  auto a = LoadScenarioFile((dir / "a.yaml").string(), {});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  WhatIfLabConfig config;
  config.lab.work_dir = (dir / "work").string();
  config.what_ifs = {"instances=2"};
  config.skip_s = 1.0;
  config.repeat = 2;  // each compared number is the median of two runs
  auto results = WhatIfLab(config).Run(*a);
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  WhatIfLab::PrintTable(*a, *results, stdout);
  ASSERT_EQ(results->size(), 2u);  // A itself, then B
  for (const WhatIfPairResult& r : *results) {
    SCOPED_TRACE(r.spec);
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(r.runs, 2);
    EXPECT_GT(r.measured.served, 200);
    EXPECT_NEAR(r.predicted.throughput_per_s, r.measured.throughput_per_s,
                WhatIfLab::kThroughputTolerance * r.measured.throughput_per_s);
    EXPECT_NEAR(r.predicted.rejection_rate * 100, r.measured.rejection_rate * 100,
                WhatIfLab::kRejectionPoints);
  }
  EXPECT_TRUE((*results)[1].extrapolated);  // more instances than the log shows
  // The device-time drift between B's runs and A's: A's row compares A's
  // runs with themselves; B's compares the same simulated device (a few %
  // of host noise at most, not a different machine).
  EXPECT_GT((*results)[0].drift_batch_size, 0);
  EXPECT_DOUBLE_EQ((*results)[0].device_drift_pct, 0.0);
  EXPECT_GT((*results)[1].drift_batch_size, 0);
  EXPECT_LT(std::fabs((*results)[1].device_drift_pct), 25.0);
  // The measured spread over the runs brackets their median.
  for (const WhatIfPairResult& r : *results) {
    EXPECT_LE(r.measured_p50_min, r.measured.p50_ms);
    EXPECT_GE(r.measured_p50_max, r.measured.p50_ms);
  }
  // Both runs of A and of B kept their logs.
  for (const char* run :
       {"whatif_lab_r1", "whatif_lab_r2", "whatif_lab_whatif1_r1", "whatif_lab_whatif1_r2"}) {
    EXPECT_TRUE(fs::exists(dir / "work" / run / "requests.jsonl")) << run;
  }
  // --reuse-logs runs nothing and reads those logs: the same measured and
  // predicted numbers (the predictions are seeded).
  WhatIfLabConfig again = config;
  again.reuse_logs = true;
  auto reused = WhatIfLab(again).Run(*a);
  ASSERT_TRUE(reused.ok()) << reused.status().ToString();
  ASSERT_EQ(reused->size(), results->size());
  for (size_t i = 0; i < results->size(); ++i) {
    EXPECT_DOUBLE_EQ((*reused)[i].measured.p50_ms, (*results)[i].measured.p50_ms);
    EXPECT_DOUBLE_EQ((*reused)[i].predicted.p50_ms, (*results)[i].predicted.p50_ms);
    EXPECT_EQ((*reused)[i].measured.served, (*results)[i].measured.served);
  }
  // Run names go by position: a log of another setting is refused, naming
  // it, and one that is not there is named.
  again.what_ifs = {"max_batch=2", "max_queue_delay_us=0"};
  auto other = WhatIfLab(again).Run(*a);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  ASSERT_EQ(other->size(), 3u);
  EXPECT_NE((*other)[1].error.find("another setting"), std::string::npos) << (*other)[1].error;
  EXPECT_NE((*other)[2].error.find("no log at"), std::string::npos) << (*other)[2].error;
  again.lab.work_dir.clear();
  EXPECT_EQ(WhatIfLab(again).Run(*a).status().code(), StatusCode::kInvalidArgument);

  // The lab runs one (simulated) device: more devices cannot run.
  config.what_ifs = {"devices=2"};
  config.repeat = 1;
  auto two = WhatIfLab(config).Run(*a);
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  ASSERT_EQ(two->size(), 2u);
  EXPECT_NE((*two)[1].error.find("one device"), std::string::npos) << (*two)[1].error;
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace yoloscope
