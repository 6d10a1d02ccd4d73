// End to end: a real server (the simulated GPU backend) under recorded
// load, run by `yoloscope lab`, writes a request log; `analyze --what-if`
// and `plan` read it through the built binary.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "testing/shell_run.h"

namespace yoloscope {
namespace {

namespace fs = std::filesystem;

using Result = testing::ShellResult;
using testing::Sh;
using testing::ShOut;

class WhatIfCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("ys_whatif_cli_" + std::to_string(getpid())));
    fs::create_directories(*dir_);
    // A simulated device: 4 ms + 1 ms per image, so batching pays.
    std::ofstream(*dir_ / "sim.yaml") << R"yaml(simulator: yoloscope-sim/1
description: "what-if test device (illustrative)"
model: {name: whatif-sim, input_size: 320}
latency: {base_ms: 4, per_image_ms: 1, jitter_pct: 2, seed: 1}
memory: {weights_mb: 13, activation_mb_per_image: 10}
events: []
)yaml";
    std::ofstream(*dir_ / "whatif.yaml")
        << "name: whatif_e2e\n"
           "description: what-if end to end\n"
           "server:\n"
           "  model: {path: \"" << (*dir_ / "sim.yaml").string() << "\"}\n"
           "  batching: {max_batch_size: 4, max_queue_delay_us: 2000, max_queue_size: 256}\n"
           "load:\n"
           "  phases:\n"
           "    - {duration_s: 4, rate: 150, arrivals: poisson, images: \"generated:320x240\"}\n"
           "expect:\n"
           "  kinds: []\n";
    const Result lab = Sh(std::string(YOLOSCOPE_BINARY) + " lab run " +
                          (*dir_ / "whatif.yaml").string() + " --work-dir " + dir_->string() +
                          " --keep-logs");
    log_ = new std::string((*dir_ / "whatif_e2e" / "requests.jsonl").string());
    lab_output_ = new std::string(lab.out);
    // An overload against a queue of 8: about half the requests refused.
    std::ofstream(*dir_ / "overload.yaml")
        << "name: whatif_overload\n"
           "description: what-if overload against a bounded queue\n"
           "server:\n"
           "  model: {path: \""
        << (*dir_ / "sim.yaml").string()
        << "\"}\n"
           "  batching: {max_batch_size: 2, max_queue_delay_us: 0, max_queue_size: 8}\n"
           "load:\n"
           "  phases:\n"
           "    - {duration_s: 1, rate: 30, arrivals: poisson, images: \"generated:320x240\"}\n"
           "    - {duration_s: 3, rate: 600, arrivals: poisson, images: \"generated:320x240\"}\n"
           "expect:\n"
           "  kinds: []\n";
    // (The light first second gives batches of one: a log of batches of two
    // only cannot predict the batch of one a replay may form.)
    const Result overload =
        Sh(std::string(YOLOSCOPE_BINARY) + " lab run " + (*dir_ / "overload.yaml").string() +
           " --work-dir " + dir_->string() + " --keep-logs");
    overload_log_ = new std::string((*dir_ / "whatif_overload" / "requests.jsonl").string());
    lab_output_->append(overload.out);
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
    delete log_;
    delete overload_log_;
    delete lab_output_;
  }
  void SetUp() override {
    ASSERT_TRUE(fs::exists(*log_)) << "lab run wrote no log:\n" << *lab_output_;
  }
  static std::string Bin() { return YOLOSCOPE_BINARY; }

  static fs::path* dir_;
  static std::string* log_;
  static std::string* overload_log_;
  static std::string* lab_output_;
};

fs::path* WhatIfCliTest::dir_ = nullptr;
std::string* WhatIfCliTest::log_ = nullptr;
std::string* WhatIfCliTest::overload_log_ = nullptr;
std::string* WhatIfCliTest::lab_output_ = nullptr;

TEST_F(WhatIfCliTest, WhatIfJsonComparesSettingsSideBySide) {
  const Result r = ShOut(Bin() + " analyze " + *log_ +
                         " --setting max_queue_delay_us=2000 --what-if max_batch=8"
                         " --what-if devices=2 --what-if rate=x1.5 --format json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["schema"], "yoloscope.whatif.v1");
  const auto& observed = j["log"]["observed"];
  const auto& logged = j["logged"]["predicted"];
  EXPECT_EQ(j["logged"]["setting"]["max_batch"], 4);  // from the log's largest batch
  EXPECT_EQ(j["logged"]["setting"]["max_queue_delay_us"], 2000);
  EXPECT_GT(j["curve"]["observed"].size(), 1u);
  // The model reproduces the logged run (loosely: a shared 2-core machine).
  EXPECT_EQ(logged["rejected"], 0);
  EXPECT_NEAR(logged["throughput_per_s"].get<double>(), observed["throughput_per_s"].get<double>(),
              0.1 * observed["throughput_per_s"].get<double>());
  EXPECT_NEAR(logged["p50_ms"].get<double>(), observed["p50_ms"].get<double>(),
              0.5 * observed["p50_ms"].get<double>());
  ASSERT_EQ(j["what_if"].size(), 3u);
  const auto& two = j["what_if"][1];
  EXPECT_EQ(two["setting"]["instances"], 2);  // an instance on each device
  EXPECT_EQ(two["setting"]["devices"], 2);
  EXPECT_TRUE(two["extrapolated"].get<bool>());
  EXPECT_LE(two["predicted"]["p99_ms"].get<double>(), logged["p99_ms"].get<double>() * 1.05);
  EXPECT_LT(two["predicted"]["device_busy_fraction"].get<double>(),
            logged["device_busy_fraction"].get<double>());
  const auto& faster = j["what_if"][2];
  EXPECT_TRUE(faster["extrapolated"].get<bool>());
  EXPECT_GT(faster["predicted"]["throughput_per_s"].get<double>(),
            1.3 * logged["throughput_per_s"].get<double>());
  EXPECT_GT(faster["predicted"]["mean_batch_size"].get<double>(),
            logged["mean_batch_size"].get<double>());
  EXPECT_TRUE(faster["change_vs_logged"].contains("p99_ms_pct"));
}

TEST_F(WhatIfCliTest, WhatIfTextNamesEachSettingAndItsAssumptions) {
  const Result r = ShOut(Bin() + " analyze " + *log_ + " --what-if instances=2");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("p99 ms"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("logged (pred.)"), std::string::npos);
  EXPECT_NE(r.out.find("[1] instances=2  (extrapolated)"), std::string::npos) << r.out;
  // serve's config record gives every value of the setting (the window is
  // not serve's default 10000 here).
  EXPECT_NE(r.out.find("max_queue_delay_us=2000 (from the log: config record)"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("max_batch=4 (from the log: config record)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("queue_size=256 (from the log: config record)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("(serve default)"), std::string::npos) << r.out;
  // A warm-up left out: fewer requests measured, all still replayed.
  const Result skip = ShOut(Bin() + " analyze " + *log_ + " --what-if instances=2 --skip-s 1 --format json");
  ASSERT_EQ(skip.code, 0) << skip.out;
  const auto j = nlohmann::json::parse(skip.out);
  EXPECT_NEAR(j["log"]["skip_s"].get<double>(), 1.0, 1e-6);
  EXPECT_LT(j["log"]["offered"].get<int64_t>(), j["log"]["replayed"].get<int64_t>());
  EXPECT_EQ(j["logged"]["predicted"]["offered"], j["log"]["offered"]);
}

// The logged setting's queue bound: serve's `config` record states it; a
// log without one (an older serve, another server) still shows it, as
// serve logs a full queue's length on each queue_full refusal. Replayed
// with serve's default bound (256) instead, this overload's logged setting
// was predicted at seconds of queueing where the log shows tens of ms.
TEST_F(WhatIfCliTest, AnOverloadLogGivesItsQueueBoundAndIsReproduced) {
  ASSERT_TRUE(fs::exists(*overload_log_)) << *lab_output_;
  const std::string without_config = (*dir_ / "overload_without_config.jsonl").string();
  ASSERT_EQ(Sh("grep -v '\"event\":\"config\"' " + *overload_log_ + " > " + without_config).code,
            0);
  const Result r =
      ShOut(Bin() + " analyze " + without_config + " --what-if max_batch=4 --format json");
  ASSERT_EQ(r.code, 0) << Sh(Bin() + " analyze " + without_config + " --what-if max_batch=4").out;
  const auto j = nlohmann::json::parse(r.out);
  bool named = false;
  for (const auto& s : j["logged_setting_sources"]) {
    named |= s.get<std::string>().rfind("queue_size=8 (from the log: queue_len of ", 0) == 0;
  }
  EXPECT_TRUE(named) << j["logged_setting_sources"].dump();
  // With serve's config record: the same bound, from the record.
  const Result with =
      ShOut(Bin() + " analyze " + *overload_log_ + " --what-if max_batch=4 --format json");
  ASSERT_EQ(with.code, 0);
  bool from_record = false;
  const auto with_json = nlohmann::json::parse(with.out);
  for (const auto& s : with_json["logged_setting_sources"]) {
    from_record |= s.get<std::string>() == "queue_size=8 (from the log: config record)";
  }
  EXPECT_TRUE(from_record) << with.out;
  const auto& observed = j["log"]["observed"];
  const auto& logged = j["logged"]["predicted"];
  ASSERT_GT(observed["rejection_rate"].get<double>(), 0.2) << observed.dump();
  EXPECT_NEAR(logged["rejection_rate"].get<double>(), observed["rejection_rate"].get<double>(),
              0.05);
  // The log's own p99 is tens of ms (a queue of 8 at ~6 ms per pair of
  // images); the replay of the same setting lands close to it.
  EXPECT_NEAR(logged["p99_ms"].get<double>(), observed["p99_ms"].get<double>(),
              0.35 * observed["p99_ms"].get<double>());
}

TEST_F(WhatIfCliTest, PlanRecommendsASettingThatMeetsAReachableGoal) {
  const Result probe = ShOut(Bin() + " analyze " + *log_ + " --what-if rate=x1 --format json");
  ASSERT_EQ(probe.code, 0);
  const double p99 = nlohmann::json::parse(probe.out)["logged"]["predicted"]["p99_ms"];
  const Result r = ShOut(Bin() + " plan " + *log_ + " --slo-p99 " + std::to_string(p99 * 1.5) +
                         " --max-instances 2 --format json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_FALSE(j["recommended"].is_null());
  EXPECT_EQ(j["recommended"]["setting"]["instances"], 1);  // the cheapest
  EXPECT_LE(j["recommended"]["predicted"]["p99_ms"].get<double>(), p99 * 1.5);
  // An impossible goal: exit 3 and no recommendation.
  const Result none = ShOut(Bin() + " plan " + *log_ + " --slo-p99 0.01 --max-instances 2");
  EXPECT_EQ(none.code, 3) << none.out;
  EXPECT_NE(none.out.find("no setting meets the goal"), std::string::npos) << none.out;
}

TEST_F(WhatIfCliTest, LogWithoutBatchDataSaysWhatItNeeds) {
  const fs::path p = *dir_ / "nobatch.jsonl";
  std::ofstream out(p);
  for (int i = 0; i < 30; ++i) {
    out << R"({"event":"request","schema":"yoloscope.v1","ts":)" << 1767225600000000LL + i * 10000
        << R"(,"total_ms":12.5,"status":"ok"})" << "\n";
  }
  out.close();
  const Result r = Sh(Bin() + " analyze " + p.string() + " --what-if max_batch=8");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("cannot predict: needs per-batch device times"), std::string::npos) << r.out;
  const Result plan = Sh(Bin() + " plan " + p.string() + " --slo-p99 100");
  EXPECT_EQ(plan.code, 2) << plan.out;
  EXPECT_NE(plan.out.find("cannot predict"), std::string::npos) << plan.out;
}

}  // namespace
}  // namespace yoloscope
