// Reading a log into the what-if model: what is taken from which records,
// the logged run reproduced, and degenerate logs refused with "cannot
// predict: needs ...".
#include "whatif/profile_builder.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "whatif/what_if_engine.h"

namespace yoloscope {
namespace {

namespace fs = std::filesystem;

std::string TimeOf(int64_t us) {
  // 2026-01-01T00:MM:SS.ffffffZ for us < 1 hour.
  return fmt::format("2026-01-01T00:{:02d}:{:02d}.{:06d}Z", us / 60'000'000, (us / 1'000'000) % 60,
                     us % 1'000'000);
}

class ProfileBuilderTest : public ::testing::Test {
 protected:
  fs::path Write(const std::string& name, const std::string& text) {
    const fs::path p = fs::temp_directory_path() /
                       fmt::format("ys_whatif_{}_{}_{}", getpid(), counter_++, name);
    std::ofstream(p, std::ios::binary) << text;
    paths_.push_back(p);
    return p;
  }
  void TearDown() override {
    for (const auto& p : paths_) fs::remove(p);
  }
  static StatusOr<PipelineProfile> Load(const fs::path& p, const std::string& model = "") {
    ReadOptions ro;
    ro.threads = 2;
    ProfileOptions po;
    po.model = model;
    return ProfileBuilder::Load({p.string()}, ro, po);
  }

  // A queue-free log written as the server would: one request every 20 ms,
  // each alone in its batch: decode 1 + preprocess 1 ms, device 0.5 + 3 +
  // 0.5 ms (batch of one), postprocess 2 ms, 0.25 ms of HTTP outside.
  // Sizes alternate 1 and 2 in the batch records to give the curve a slope.
  static std::string QueueFreeLog(int n, const std::string& model = "m") {
    std::string out;
    for (int i = 0; i < n; ++i) {
      const int64_t t = 1'000'000 + i * 20'000;
      out += fmt::format(
          R"({{"event":"request","schema":"yoloscope.v1","ts":"{}","request_id":"r{}","model":"{}","batch_id":{},"batch_size":1,"queue_len":0,"queue_ms":0,"decode_ms":1,"preprocess_ms":1,"h2d_ms":0.5,"inference_ms":3,"d2h_ms":0.5,"postprocess_ms":2,"total_ms":8.25,"status":"ok"}})"
          "\n",
          TimeOf(t), i, model, i + 1);
      out += fmt::format(
          R"({{"event":"batch","schema":"yoloscope.v1","ts":"{}","batch_id":{},"batch_size":1,"model":"{}","instance":0,"h2d_ms":0.5,"inference_ms":3,"d2h_ms":0.5}})"
          "\n",
          TimeOf(t + 2000), i + 1, model);
    }
    // A few batches of two from an earlier warm-up, to have two sizes.
    for (int i = 0; i < 5; ++i) {
      out += fmt::format(
          R"({{"event":"batch","schema":"yoloscope.v1","ts":"{}","batch_id":{},"batch_size":2,"model":"{}","instance":0,"h2d_ms":0.8,"inference_ms":4.4,"d2h_ms":0.8}})"
          "\n",
          TimeOf(500'000 + i), 10'000 + i, model);
    }
    return out;
  }

  std::vector<fs::path> paths_;
  int counter_ = 0;
};

TEST_F(ProfileBuilderTest, ReadsArrivalsStagesAndBatches) {
  auto p = Load(Write("ok.jsonl", QueueFreeLog(100)));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->model, "m");
  ASSERT_EQ(p->requests.size(), 100u);
  EXPECT_EQ(p->requests[1].arrival_us - p->requests[0].arrival_us, 20'000);
  EXPECT_DOUBLE_EQ(p->requests[0].preprocess_ms, 2.0);
  EXPECT_DOUBLE_EQ(p->requests[0].postprocess_ms, 2.0);
  EXPECT_NEAR(p->requests[0].other_ms, 0.25, 1e-9);
  EXPECT_EQ(p->device_source, "batch records");
  ASSERT_EQ(p->device_us.size(), 2u);
  EXPECT_EQ(p->device_us.at(1).size(), 100u);
  EXPECT_DOUBLE_EQ(p->device_us.at(1).front(), 4000.0);
  EXPECT_EQ(p->observed.served, 100);
  EXPECT_DOUBLE_EQ(p->observed.p50_ms, 8.25);
  EXPECT_EQ(p->observed.instances, 1);
  EXPECT_EQ(p->observed.largest_batch, 2);
}

// serve's `config` records: the latest of the model is the logged setting;
// another model's is ignored, and different settings are noted.
TEST_F(ProfileBuilderTest, ConfigRecordsGiveTheLoggedSetting) {
  auto config = [](int64_t us, const char* model, int batch, int window_us) {
    return fmt::format(
        R"({{"event":"config","schema":"yoloscope.v1","ts":"{}","model":"{}","backend":"sim","instances":1,"max_batch_size":{},"max_queue_delay_us":{},"max_queue_size":32,"preprocess_workers":3,"postprocess_workers":2,"batch_policy":"fixed"}})"
        "\n",
        TimeOf(us), model, batch, window_us);
  };
  auto one = Load(Write("one.jsonl", config(900'000, "m", 4, 1500) + QueueFreeLog(50)));
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  ASSERT_TRUE(one->logged_config.has_value());
  EXPECT_EQ(one->logged_config->max_batch_size, 4);
  EXPECT_EQ(one->logged_config->max_queue_delay_us, 1500);
  EXPECT_EQ(one->logged_config->max_queue_size, 32);
  EXPECT_EQ(one->logged_config->preprocess_workers, 3);
  EXPECT_EQ(one->logged_config->postprocess_workers, 2);
  EXPECT_EQ(one->logged_config->batch_policy, "fixed");
  EXPECT_EQ(one->logged_config->records, 1);
  EXPECT_EQ(one->logged_config->distinct, 1);
  for (const std::string& n : one->notes) EXPECT_EQ(n.find("config records"), std::string::npos);

  // A restart with another window: the latest wins, and it is noted; the
  // other model's record (later still) is not this model's.
  auto two = Load(
      Write("two.jsonl", config(900'000, "m", 4, 1500) + QueueFreeLog(50) +
                             config(2'500'000, "m", 8, 500) + config(3'000'000, "other", 16, 0)),
      "m");
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  ASSERT_TRUE(two->logged_config.has_value());
  EXPECT_EQ(two->logged_config->max_batch_size, 8);
  EXPECT_EQ(two->logged_config->max_queue_delay_us, 500);
  EXPECT_EQ(two->logged_config->records, 2);
  EXPECT_EQ(two->logged_config->distinct, 2);
  bool noted = false;
  for (const std::string& n : two->notes)
    noted |= n.find("2 different settings") != std::string::npos;
  EXPECT_TRUE(noted);

  // Without one: nothing.
  auto none = Load(Write("none.jsonl", QueueFreeLog(50)));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->logged_config.has_value());
}

// The wake-up of an idle instance: batch start - (first member ready +
// window) for a batch that is not full, over batches whose instance had
// finished its previous one.
TEST_F(ProfileBuilderTest, WakeUpIsTheLatenessOfAnIdleInstancesBatchStart) {
  auto log = [](int window_us, bool with_config) {
    std::string out;
    if (with_config) {
      out += fmt::format(
          R"({{"event":"config","schema":"yoloscope.v1","ts":"{}","model":"m","instances":1,"max_batch_size":4,"max_queue_delay_us":{},"max_queue_size":64,"batch_policy":"fixed"}})"
          "\n",
          TimeOf(100'000), window_us);
    }
    // One request every 20 ms, ready 2 ms after arrival (decode 1 +
    // preprocess 1); its batch of one starts 100-140 us after the window
    // ends (median 120 us), three of them 1.5 ms after (a stall, not a
    // wake-up: more than 3x the median).
    for (int i = 0; i < 40; ++i) {
      const int64_t t = 1'000'000 + i * 20'000;
      const int64_t late = i % 14 == 7 ? 1500 : 100 + 10 * (i % 5);
      out += fmt::format(
          R"({{"event":"request","schema":"yoloscope.v1","ts":"{}","request_id":"r{}","model":"m","batch_id":{},"batch_size":1,"queue_ms":1,"decode_ms":1,"preprocess_ms":1,"inference_ms":3,"postprocess_ms":1,"total_ms":7,"status":"ok"}})"
          "\n",
          TimeOf(t), i, i + 1);
      out += fmt::format(
          R"({{"event":"batch","schema":"yoloscope.v1","ts":"{}","batch_id":{},"batch_size":{},"model":"m","instance":0,"inference_ms":{},"busy_ms":{}}})"
          "\n",
          TimeOf(t + 2000 + 1000 + late), i + 1, 1, 3, 3.2);
    }
    // Two batches of two elsewhere, to have two sizes.
    for (int i = 0; i < 5; ++i) {
      out += fmt::format(
          R"({{"event":"batch","schema":"yoloscope.v1","ts":"{}","batch_id":{},"batch_size":2,"model":"m","instance":1,"inference_ms":5}})"
          "\n",
          TimeOf(500'000 + i), 10'000 + i);
    }
    return out;
  };
  auto p = Load(Write("wake.jsonl", log(1000, true)));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->wake_us.size(), 37u);  // the three stalls left out
  std::vector<double> w = p->wake_us;
  std::sort(w.begin(), w.end());
  EXPECT_NEAR(w[18], 120.0, 1.0);
  EXPECT_NEAR(w.front(), 100.0, 1.0);
  EXPECT_NEAR(w.back(), 140.0, 1.0);
  for (const std::string& n : p->notes) EXPECT_EQ(n.find("wake-up"), std::string::npos) << n;

  // The same log read as if the window were 1.5 ms: every batch started
  // before the policy's moment, which the fixed policy cannot do -- none
  // is taken, and that is noted.
  auto wrong = Load(Write("wrong.jsonl", log(1500, true)));
  ASSERT_TRUE(wrong.ok());
  EXPECT_TRUE(wrong->wake_us.empty());
  // Without a config record the policy's moment is unknown: none.
  auto none = Load(Write("none.jsonl", log(1000, false)));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->wake_us.empty());
  bool noted = false;
  for (const std::string& n : none->notes) noted |= n.find("wake-up") != std::string::npos;
  EXPECT_TRUE(noted);

  // The engine draws them: a prediction of the logged setting is later
  // than the same profile's without them, by about the wake-up.
  auto with = WhatIfEngine::Create(*p);
  ASSERT_TRUE(with.ok());
  PipelineProfile stripped = *p;
  stripped.wake_us.clear();
  auto without = WhatIfEngine::Create(stripped);
  ASSERT_TRUE(without.ok());
  WhatIfSetting s;
  s.max_batch_size = 4;
  s.max_queue_delay_us = 1000;
  auto a = (*with)->Predict(s);
  auto b = (*without)->Predict(s);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NEAR(a->result.p50_ms - b->result.p50_ms, 0.12, 0.03);
}

TEST_F(ProfileBuilderTest, BusyMsGivesTheHostWorkPerBatchAndGpuIdsTheDevices) {
  // Two instances on GPU 0: busy_ms 5.5 over 4 ms of device time.
  std::string log = QueueFreeLog(20);
  for (int i = 0; i < 10; ++i) {
    log += fmt::format(
        R"({{"event":"batch","schema":"yoloscope.v1","ts":"{}","batch_id":{},"batch_size":1,"model":"m","instance":{},"gpu_id":0,"h2d_ms":0.5,"inference_ms":3,"d2h_ms":0.5,"busy_ms":5.5}})"
        "\n",
        TimeOf(3'000'000 + i * 20'000), 20'000 + i, i % 2);
  }
  auto p = Load(Write("busy.jsonl", log));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->overhead_us.size(), 1u);
  ASSERT_EQ(p->overhead_us.at(1).size(), 10u);  // only the records with busy_ms
  EXPECT_DOUBLE_EQ(p->overhead_us.at(1).front(), 1500.0);
  EXPECT_EQ(p->observed.instances, 2);
  EXPECT_EQ(p->observed.devices, 1);
  // Two instances on one device: their busy_ms holds waits for it.
  bool noted = false;
  for (const auto& n : p->notes) noted |= n.find("share 1 device") != std::string::npos;
  EXPECT_TRUE(noted);
  auto engine = WhatIfEngine::Create(*p);
  ASSERT_TRUE(engine.ok());
  EXPECT_EQ((*engine)->logged_devices(), 1);
  EXPECT_NEAR((*engine)->curve().median_overhead_us(), 1500.0, 1e-9);
  // Without gpu_id (a CPU backend) each instance counts as a device.
  auto cpu = Load(Write("cpu.jsonl", QueueFreeLog(20)));
  ASSERT_TRUE(cpu.ok());
  EXPECT_EQ(cpu->observed.devices, 0);
  EXPECT_TRUE(cpu->overhead_us.empty());
}

TEST_F(ProfileBuilderTest, PredictingTheLoggedSettingReproducesAQueueFreeLog) {
  auto p = Load(Write("ok.jsonl", QueueFreeLog(200)));
  ASSERT_TRUE(p.ok());
  auto engine = WhatIfEngine::Create(*p);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  WhatIfSetting logged;
  logged.max_batch_size = 2;
  logged.max_queue_delay_us = 0;
  auto pred = (*engine)->Predict(logged);
  ASSERT_TRUE(pred.ok()) << pred.status().ToString();
  EXPECT_EQ(pred->result.served, 200);
  EXPECT_NEAR(pred->result.p50_ms, p->observed.p50_ms, 1e-6);
  EXPECT_NEAR(pred->result.p99_ms, p->observed.p99_ms, 1e-6);
  EXPECT_NEAR(pred->result.throughput_per_s, p->observed.throughput_per_s, 1e-6);
  EXPECT_FALSE(pred->extrapolated);
  // The same traffic 6x faster (a request every 3.3 ms, 4 ms on the
  // device alone) no longer fits unbatched: queueing, flagged extrapolated.
  WhatIfSetting faster = logged;
  faster.rate_scale = 6;
  auto f = (*engine)->Predict(faster);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->extrapolated);
  EXPECT_GT(f->result.p99_ms, pred->result.p99_ms + 1.0);
  EXPECT_GT(f->result.mean_batch_size, 1.2);
}

// Sensitivity: what 1 % slower service does to the prediction. Far from
// capacity, nothing; at capacity (arrivals just faster than the device),
// the queue's growth, and so the latency, moves by far more than 1 %.
TEST_F(ProfileBuilderTest, SensitivityFlagsPredictionsAtCapacityOnly) {
  auto p = Load(Write("ok.jsonl", QueueFreeLog(400)));
  ASSERT_TRUE(p.ok());
  auto engine = WhatIfEngine::Create(*p);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  WhatIfSetting logged;
  logged.max_batch_size = 1;
  logged.max_queue_delay_us = 0;
  auto light = (*engine)->Predict(logged);
  ASSERT_TRUE(light.ok()) << light.status().ToString();
  ASSERT_TRUE(light->sensitivity.has_value());
  EXPECT_DOUBLE_EQ(light->sensitivity->service_pct, 1.0);
  // 4 ms of the 8.25 ms are device time: +0.04 ms, +0.5 %.
  EXPECT_NEAR(light->sensitivity->p50_pct, 100 * 0.04 / 8.25, 0.1);
  EXPECT_FALSE(light->sensitivity->sensitive);
  for (const std::string& a : light->assumptions) EXPECT_EQ(a.find("sensitive"), std::string::npos);
  // A request every 20 / 5.1 = 3.92 ms against 4 ms of device time (one
  // at a time, no spread): each request waits 0.08 ms more than the one
  // before; 1 % slower, 0.12 ms more -- half as much waiting again.
  WhatIfSetting busy = logged;
  busy.rate_scale = 5.1;
  auto b = (*engine)->Predict(busy);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_TRUE(b->sensitivity.has_value());
  EXPECT_GT(b->sensitivity->p50_pct, kSensitivePct) << b->result.p50_ms;
  EXPECT_GT(b->sensitivity->mean_pct, kSensitivePct) << b->result.mean_ms;
  EXPECT_TRUE(b->sensitivity->sensitive);
  EXPECT_NE(b->assumptions.back().find("sensitive: near capacity"), std::string::npos);
  // Its range: 1 % faster to 1 % slower brackets the prediction.
  EXPECT_LT(b->sensitivity->p50_range_ms[0], b->result.p50_ms);
  EXPECT_GT(b->sensitivity->p50_range_ms[1], b->result.p50_ms);
  EXPECT_LE(b->sensitivity->p99_range_ms[0], b->result.p99_ms);
  EXPECT_GE(b->sensitivity->p99_range_ms[1], b->result.p99_ms);
  EXPECT_NE(b->assumptions.back().find("service 1 % faster to 1 % slower, p50 "), std::string::npos)
      << b->assumptions.back();
  EXPECT_DOUBLE_EQ(light->sensitivity->p50_range_ms[1], 0.0);  // not sensitive: no range
  // Not asked for: not computed.
  PredictOptions without;
  without.sensitivity = false;
  auto n = (*engine)->Predict(busy, without);
  ASSERT_TRUE(n.ok());
  EXPECT_FALSE(n->sensitivity.has_value());
  EXPECT_DOUBLE_EQ(n->result.p99_ms, b->result.p99_ms);
}

TEST_F(ProfileBuilderTest, APredictionIsTheMedianOfSeededReplays) {
  // A request every 4 ms against batches of 3 ms, and one batch in 40 held
  // up 25 ms: a queue builds behind each drawn stall, so one replay's p99
  // depends on how many stalls it draws.
  std::string log;
  for (int i = 0; i < 400; ++i) {
    const int64_t t = 1'000'000 + i * 4'000;
    log += fmt::format(
        R"({{"event":"request","schema":"yoloscope.v1","ts":"{}","request_id":"r{}","model":"m","batch_id":{},"batch_size":1,"queue_ms":0,"preprocess_ms":0.2,"inference_ms":3,"postprocess_ms":0.2,"total_ms":3.5,"status":"ok"}})"
        "\n",
        TimeOf(t), i, i + 1);
    log += fmt::format(
        R"({{"event":"batch","schema":"yoloscope.v1","ts":"{}","batch_id":{},"batch_size":1,"model":"m","instance":0,"inference_ms":{}}})"
        "\n",
        TimeOf(t + 300), i + 1, i % 40 == 7 ? 25 : 3);
  }
  for (int i = 0; i < 5; ++i) {
    log += fmt::format(
        R"({{"event":"batch","schema":"yoloscope.v1","ts":"{}","batch_id":{},"batch_size":2,"model":"m","instance":0,"inference_ms":4.5}})"
        "\n",
        TimeOf(500'000 + i), 10'000 + i);
  }
  auto p = Load(Write("stalls.jsonl", log));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  WhatIfSetting setting;
  setting.max_batch_size = 1;
  setting.max_queue_delay_us = 0;
  constexpr uint64_t kStep = 0x9e3779b97f4a7c15ULL;  // the engine's seed step between replays
  std::vector<double> p99s, rates;
  for (int k = 0; k < 7; ++k) {
    auto one = WhatIfEngine::Create(*p, 1 + k * kStep, /*replays=*/1);
    ASSERT_TRUE(one.ok()) << one.status().ToString();
    auto pred = (*one)->Predict(setting);
    ASSERT_TRUE(pred.ok()) << pred.status().ToString();
    EXPECT_EQ(pred->replays, 1);
    p99s.push_back(pred->result.p99_ms);
    rates.push_back(pred->result.throughput_per_s);
  }
  std::sort(p99s.begin(), p99s.end());
  std::sort(rates.begin(), rates.end());
  EXPECT_GT(p99s.back() - p99s.front(), 1.0) << "the draws should move a single replay's p99";

  auto seven = WhatIfEngine::Create(*p, 1, 7);
  ASSERT_TRUE(seven.ok());
  EXPECT_EQ((*seven)->replays(), 7);
  auto pred = (*seven)->Predict(setting);
  ASSERT_TRUE(pred.ok());
  EXPECT_EQ(pred->replays, 7);
  EXPECT_DOUBLE_EQ(pred->result.p99_ms, p99s[3]);
  EXPECT_DOUBLE_EQ(pred->result.throughput_per_s, rates[3]);
  // A short log gets seven replays without asking; a negative count is refused.
  auto automatic = WhatIfEngine::Create(*p);
  ASSERT_TRUE(automatic.ok());
  EXPECT_EQ((*automatic)->replays(), 7);
  EXPECT_FALSE(WhatIfEngine::Create(*p, 1, -1).ok());
}

TEST(WhatIfEngineTest, DefaultReplaysShrinkAsTheLogGrows) {
  EXPECT_EQ(WhatIfEngine::DefaultReplays(10), 7);
  EXPECT_EQ(WhatIfEngine::DefaultReplays(20'000), 7);
  EXPECT_EQ(WhatIfEngine::DefaultReplays(20'001), 5);
  EXPECT_EQ(WhatIfEngine::DefaultReplays(30'000), 3);
  EXPECT_EQ(WhatIfEngine::DefaultReplays(50'000), 1);
  EXPECT_EQ(WhatIfEngine::DefaultReplays(10'000'000), 1);
}

TEST_F(ProfileBuilderTest, TurnaroundIsTheFloorOfBacklogGapsOnly) {
  // The queue-free log: 16 ms idle gaps between batches are no turnaround.
  auto idle = Load(Write("ok.jsonl", QueueFreeLog(100)));
  ASSERT_TRUE(idle.ok());
  EXPECT_EQ(idle->turnaround_ms, 0);
  // A backlogged instance: each batch starts 0.2 ms (+ up to 0.03 ms of
  // noise) after the previous one ended, with an idle period now and then.
  std::string log;
  int64_t t = 1'000'000;
  for (int i = 0; i < 200; ++i) {
    log += fmt::format(
        R"({{"event":"request","ts":"{}","model":"m","batch_id":{},"batch_size":4,"status":"ok","total_ms":20}})"
        "\n",
        TimeOf(t), i);
    log += fmt::format(
        R"({{"event":"batch","ts":"{}","batch_id":{},"batch_size":4,"model":"m","instance":0,"inference_ms":5}})"
        "\n",
        TimeOf(t), i);
    t += 5000 + 200 + (i * 7) % 30 + (i % 25 == 0 ? 40'000 : 0);
  }
  auto busy = Load(Write("busy.jsonl", log));
  ASSERT_TRUE(busy.ok()) << busy.status().ToString();
  EXPECT_NEAR(busy->turnaround_ms, 0.215, 0.02);
}

TEST_F(ProfileBuilderTest, SkipLeavesTheWarmUpOutOfTheObservedRunAndThePrediction) {
  // The first 10 requests (200 ms) are slow: a cold start outside any stage.
  std::string log = QueueFreeLog(100);
  for (int i = 0; i < 10; ++i) {
    const std::string from = fmt::format("\"r{}\",", i);
    const size_t at = log.find(from);
    ASSERT_NE(at, std::string::npos);
    const std::string fast = "\"total_ms\":8.25";
    const size_t total = log.find(fast, at);
    log.replace(total, fast.size(), "\"total_ms\":58.25");
  }
  const fs::path path = Write("cold.jsonl", log);
  auto cold = Load(path);
  ASSERT_TRUE(cold.ok());
  EXPECT_GT(cold->observed.p99_ms, 50);
  ReadOptions ro;
  ProfileOptions po;
  po.skip_s = 0.2;
  auto warm = ProfileBuilder::Load({path.string()}, ro, po);
  ASSERT_TRUE(warm.ok()) << warm.status().ToString();
  EXPECT_EQ(warm->observed.offered, 90);
  EXPECT_EQ(warm->requests.size(), 100u);  // all still replayed
  EXPECT_DOUBLE_EQ(warm->observed.p99_ms, 8.25);
  auto engine = WhatIfEngine::Create(*warm);
  ASSERT_TRUE(engine.ok());
  WhatIfSetting s;
  s.max_batch_size = 2;
  s.max_queue_delay_us = 0;
  auto pred = (*engine)->Predict(s);
  ASSERT_TRUE(pred.ok());
  EXPECT_EQ(pred->result.offered, 90);
  EXPECT_NEAR(pred->result.p99_ms, 8.25, 1e-6);
  // Scaled in rate, the window scales with it: still the last 90.
  s.rate_scale = 2;
  auto fast = (*engine)->Predict(s);
  ASSERT_TRUE(fast.ok());
  EXPECT_EQ(fast->result.offered, 90);
  po.skip_s = 60;
  EXPECT_EQ(ProfileBuilder::Load({path.string()}, ro, po).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(ProfileBuilderTest, RequestRecordsAloneGiveOneSamplePerBatchId) {
  std::string log;
  for (int i = 0; i < 40; ++i) {
    const int batch = i / 2;  // two requests per batch
    log += fmt::format(
        R"({{"event":"request","ts":"{}","model":"m","batch_id":{},"batch_size":2,"inference_ms":{},"status":"ok","total_ms":9}})"
        "\n",
        TimeOf(1'000'000 + i * 5000), batch, 5 + batch % 3);
  }
  auto p = Load(Write("req.jsonl", log));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->device_source, "request records");
  EXPECT_EQ(p->device_us.at(2).size(), 20u);
  EXPECT_DOUBLE_EQ(p->observed.mean_batch_size, 2.0);
}

TEST_F(ProfileBuilderTest, NoBatchDataCannotPredict) {
  std::string log;
  for (int i = 0; i < 50; ++i) {
    log += fmt::format(R"({{"event":"request","ts":"{}","model":"m","total_ms":9,"status":"ok"}})"
                       "\n",
                       TimeOf(1'000'000 + i * 5000));
  }
  auto p = Load(Write("nobatch.jsonl", log));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(p.status().message().find("cannot predict: needs per-batch device times"),
            std::string::npos)
      << p.status().message();
}

TEST_F(ProfileBuilderTest, ForeignFormatsWithoutBatchDataCannotPredict) {
  // A Triton trace: inference times but no batch size.
  std::string trace = "[";
  for (int i = 0; i < 20; ++i) {
    const long long t = 1'000'000'000LL + i * 10'000'000LL;
    trace += fmt::format(
        R"({}{{"id":{},"model_name":"m","timestamps":[{{"name":"REQUEST_START","ns":{}}},{{"name":"QUEUE_START","ns":{}}},{{"name":"COMPUTE_START","ns":{}}},{{"name":"COMPUTE_INPUT_END","ns":{}}},{{"name":"COMPUTE_OUTPUT_START","ns":{}}},{{"name":"COMPUTE_END","ns":{}}},{{"name":"REQUEST_END","ns":{}}}]}})",
        i ? "," : "", i + 1, t, t + 100'000, t + 200'000, t + 300'000, t + 3'300'000,
        t + 3'400'000, t + 3'500'000);
  }
  trace += "]";
  auto p = Load(Write("trace.json", trace));
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("cannot predict: needs per-batch device times"),
            std::string::npos)
      << p.status().message();
  // A CSV with latencies only.
  std::string csv = "timestamp,latency_ms,status\n";
  for (int i = 0; i < 20; ++i) csv += fmt::format("{},12.5,ok\n", 1767225600 + i);
  auto c = Load(Write("t.csv", csv));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("cannot predict: needs"), std::string::npos);
}

TEST_F(ProfileBuilderTest, OneBatchSizeOnlyCannotPredictOtherSizes) {
  // max_batch 1 logged under load: every batch has one image.
  std::string log;
  for (int i = 0; i < 100; ++i) {
    log += fmt::format(
        R"({{"event":"request","ts":"{}","model":"m","batch_id":{},"batch_size":1,"inference_ms":4,"status":"ok","total_ms":9}})"
        "\n",
        TimeOf(1'000'000 + i * 3000), i);
  }
  auto p = Load(Write("one.jsonl", log));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto engine = WhatIfEngine::Create(*p);
  ASSERT_TRUE(engine.ok());
  WhatIfSetting s;
  s.max_batch_size = 1;
  EXPECT_TRUE((*engine)->Predict(s).ok());  // the logged setting: predictable
  s.max_batch_size = 8;
  auto r = (*engine)->Predict(s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cannot predict: needs batch times for at least two batch "
                                      "sizes"),
            std::string::npos)
      << r.status().message();
}

TEST_F(ProfileBuilderTest, SeveralModelsNeedAChoice) {
  const fs::path p = Write("two.jsonl", QueueFreeLog(20, "a") + QueueFreeLog(30, "b"));
  auto both = Load(p);
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.status().message().find("choose one with --model"), std::string::npos);
  auto b = Load(p, "b");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->requests.size(), 30u);
  EXPECT_EQ(Load(p, "c").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ProfileBuilderTest, HttpRefusalsAreNotOfferedAndRejectionsAre) {
  std::string log = QueueFreeLog(20);
  log += fmt::format(R"({{"event":"request","ts":"{}","model":"m","status":"payload_too_large"}})"
                     "\n",
                     TimeOf(1'100'000));
  log += fmt::format(R"({{"event":"request","ts":"{}","model":"m","status":"queue_full","queue_len":256}})"
                     "\n",
                     TimeOf(1'100'001));
  auto p = Load(Write("mixed.jsonl", log));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->observed.offered, 21);
  EXPECT_EQ(p->observed.refused_by_http, 1);
  EXPECT_EQ(p->observed.rejected, 1);
  EXPECT_NEAR(p->observed.rejection_rate, 1.0 / 21, 1e-12);
}

}  // namespace
}  // namespace yoloscope
