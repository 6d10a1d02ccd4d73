// Tests of the simulated GPU (SimBackend, SimGpuModel, SimCachingAllocator,
// SimTelemetrySource). All run on a FakeClock: the sim "waits" by advancing
// it, so simulated seconds cost no real time.
#include "backends/sim_backend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "model/yolo_decoder.h"

namespace yoloscope {
namespace {

constexpr int kSize = 320;  // 2100 anchors: keeps the fake outputs small.
constexpr int64_t kAnchors = 40 * 40 + 20 * 20 + 10 * 10;

SimGpuConfig TestConfig() {
  SimGpuConfig c;
  c.input_w = c.input_h = kSize;
  c.latency.jitter_pct = 0;
  c.latency.base_ms = 1.0;
  c.latency.per_image_ms = 0.5;
  c.memory.activation_mb_per_image = 30;
  return c;
}

double ExpectedCopyMs(const SimGpuConfig& c, int64_t bytes) {
  return c.device.copy_latency_us / 1000.0 + bytes / (c.device.pcie_gbps * 1e9) * 1000.0;
}

// A SimBackend on a FakeClock with an input buffer for up to 16 images.
class SimHarness {
 public:
  explicit SimHarness(const SimGpuConfig& config, int max_batch = 16) {
    BackendConfig bc;
    bc.kind = "sim";
    bc.max_batch = max_batch;
    auto b = SimBackend::Create(bc, config, &clock_);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    if (b.ok()) backend_ = std::move(b).value();
    input_.assign(static_cast<size_t>(max_batch) * 3 * kSize * kSize, 0.5f);
  }

  Status Run(int batch, BatchTiming* timing) {
    *timing = BatchTiming();
    return backend_->Run(input_.data(), batch, kSize, kSize, &out_, timing);
  }
  BatchTiming MustRun(int batch) {
    BatchTiming t;
    Status s = Run(batch, &t);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return t;
  }
  // Moves the clock to `seconds` after the model's creation.
  void AdvanceTo(double seconds) {
    double now = backend_->gpu().ElapsedSeconds();
    if (seconds > now) clock_.AdvanceNs(static_cast<int64_t>((seconds - now) * 1e9));
  }

  FakeClock clock_;
  std::unique_ptr<SimBackend> backend_;
  std::vector<float> input_;
  OutputTensor out_;
};

// ------------------------------------------------------------------ basics --

TEST(SimBackendTest, IsLabelledAsASimulator) {
  SimHarness h(TestConfig());
  EXPECT_EQ(h.backend_->name(), "sim");
  EXPECT_EQ(h.backend_->device(), "sim:0");
  EXPECT_EQ(h.backend_->max_batch(), 16);
  EXPECT_EQ(h.backend_->info().layout, OutputLayout::kYoloV8);
  EXPECT_EQ(h.backend_->info().input_w, kSize);
  EXPECT_EQ(h.backend_->info().metadata.at("simulated"), "true");
}

TEST(SimBackendTest, ValidatesItsInput) {
  SimHarness h(TestConfig());
  BatchTiming t;
  OutputTensor out;
  std::vector<float> in(3 * kSize * kSize, 0.f);
  SimBackend& b = *h.backend_;
  EXPECT_EQ(b.Run(nullptr, 1, kSize, kSize, &out, &t).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b.Run(in.data(), 0, kSize, kSize, &out, &t).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b.Run(in.data(), 17, kSize, kSize, &out, &t).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b.Run(in.data(), 1, 0, kSize, &out, &t).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b.Run(in.data(), 1, 330, kSize, &out, &t).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b.Run(in.data(), 1, kSize, kSize, nullptr, &t).code(), StatusCode::kInvalidArgument);
  int64_t before = h.clock_.NowNs();
  EXPECT_EQ(b.Run(in.data(), 1, kSize, kSize, &out, &t).code(), StatusCode::kOk);
  EXPECT_GT(h.clock_.NowNs(), before);  // it waited (on the fake clock).
}

TEST(SimBackendTest, WritesAValidV8OutputTheDecoderAccepts) {
  SimGpuConfig c = TestConfig();
  c.output.detections_per_image = 4;
  SimHarness h(c);
  // Image 0 and image 2 are the same picture; image 1 differs.
  const size_t image = 3 * kSize * kSize;
  for (size_t i = 0; i < image; ++i) h.input_[image + i] = static_cast<float>(i % 255) / 255.f;
  h.MustRun(3);
  ASSERT_EQ(h.out_.shape, (std::vector<int64_t>{3, 84, kAnchors}));
  ASSERT_EQ(h.out_.data.size(), static_cast<size_t>(3 * 84 * kAnchors));

  auto layout = YoloDecoder::DetectLayout(h.out_.shape, h.backend_->info());
  ASSERT_TRUE(layout.ok()) << layout.status().ToString();
  EXPECT_EQ(*layout, OutputLayout::kYoloV8);
  YoloDecoder decoder;
  LetterboxTransform identity;
  identity.orig_w = identity.orig_h = kSize;
  std::vector<Detections> per_image(3);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(decoder
                    .Decode(h.out_.data.data(), h.out_.shape, i, *layout, identity,
                            PostprocessConfig{}, &per_image[i])
                    .ok());
    EXPECT_EQ(per_image[i].size(), 4u) << "image " << i;  // non-overlapping: NMS keeps all.
    for (const Detection& d : per_image[i]) {
      EXPECT_GE(d.x1, 0);
      EXPECT_LE(d.x2, kSize);
      EXPECT_LT(d.x1, d.x2);
      EXPECT_GE(d.score, 0.3f);
    }
  }
  // Deterministic per image content, whatever the batch position.
  ASSERT_EQ(per_image[0].size(), per_image[2].size());
  for (size_t k = 0; k < per_image[0].size(); ++k) {
    EXPECT_EQ(per_image[0][k].x1, per_image[2][k].x1);
    EXPECT_EQ(per_image[0][k].class_id, per_image[2][k].class_id);
  }
}

TEST(SimBackendTest, ReusedBufferHoldsTheSameAsAFreshOne) {
  SimHarness h(TestConfig());
  h.MustRun(2);
  // Different pictures into the same (reused) buffer...
  for (size_t i = 0; i < 2 * 3 * kSize * kSize; i += 7) h.input_[i] = 0.1f;
  h.MustRun(2);
  // ...equal what a fresh buffer gets.
  OutputTensor fresh;
  BatchTiming t;
  ASSERT_TRUE(h.backend_->Run(h.input_.data(), 2, kSize, kSize, &fresh, &t).ok());
  EXPECT_EQ(h.out_.shape, fresh.shape);
  EXPECT_TRUE(h.out_.data == fresh.data);
}

TEST(SimBackendTest, NoDetectionsWhenConfiguredSo) {
  SimGpuConfig c = TestConfig();
  c.output.detections_per_image = 0;
  SimHarness h(c);
  h.MustRun(2);
  EXPECT_EQ(h.out_.shape, (std::vector<int64_t>{2, 84, kAnchors}));
  EXPECT_TRUE(std::all_of(h.out_.data.begin(), h.out_.data.end(), [](float v) { return v == 0; }));
}

// ----------------------------------------------------------------- latency --

TEST(SimBackendTest, LatencyFollowsTheFormulaAndTheClockReallyMoves) {
  SimGpuConfig c = TestConfig();
  SimHarness h(c);
  for (int b : {1, 4, 16}) {
    int64_t before = h.clock_.NowNs();
    BatchTiming t = h.MustRun(b);
    EXPECT_NEAR(t.inference_ms, 1.0 + 0.5 * b, 1e-9) << "batch " << b;
    ASSERT_TRUE(t.h2d_ms.has_value());
    ASSERT_TRUE(t.d2h_ms.has_value());
    EXPECT_NEAR(*t.h2d_ms, ExpectedCopyMs(c, int64_t{b} * 3 * kSize * kSize * 4), 1e-9);
    EXPECT_NEAR(*t.d2h_ms, ExpectedCopyMs(c, int64_t{b} * 84 * kAnchors * 4), 1e-9);
    double waited_ms = (h.clock_.NowNs() - before) / 1e6;
    EXPECT_NEAR(waited_ms, *t.h2d_ms + t.inference_ms + *t.d2h_ms, 1e-3);
    EXPECT_FALSE(t.oom);
    EXPECT_EQ(t.alloc_retries, 0);
  }
}

TEST(SimBackendTest, LatencyFollowsAMeasuredCurve) {
  SimGpuConfig c = TestConfig();
  c.latency.curve = {{1, 2.0}, {8, 4.0}, {16, 6.0}};
  SimHarness h(c);
  EXPECT_NEAR(h.MustRun(1).inference_ms, 2.0, 1e-9);
  EXPECT_NEAR(h.MustRun(8).inference_ms, 4.0, 1e-9);
  EXPECT_NEAR(h.MustRun(4).inference_ms, 2.0 + 3.0 / 7.0 * 2.0, 1e-9);  // interpolated
  EXPECT_NEAR(h.MustRun(12).inference_ms, 5.0, 1e-9);
  // Beyond the last point: the last segment's slope (0.25 ms per image).
  EXPECT_NEAR(h.backend_->gpu().BaseLatencyMs(32), 6.0 + 0.25 * 16, 1e-9);
}

TEST(SimBackendTest, JitterIsSeededAndBounded) {
  SimGpuConfig c = TestConfig();
  c.latency.jitter_pct = 5;
  SimHarness a(c), b(c);
  double sum = 0;
  for (int i = 0; i < 50; ++i) {
    double ta = a.MustRun(4).inference_ms;
    EXPECT_EQ(ta, b.MustRun(4).inference_ms);  // same seed, same sequence.
    EXPECT_GT(ta, 3.0 * 0.5);
    sum += ta;
  }
  EXPECT_NEAR(sum / 50, 3.0, 0.15);
}

// -------------------------------------------------------- squeeze and OOM --

SimGpuConfig SqueezeConfig() {
  SimGpuConfig c = TestConfig();
  c.device.memory_mb = 4000;
  c.device.context_mb = 300;
  c.memory.weights_mb = 13;
  c.memory.activation_mb_per_image = 100;
  SimEvent squeeze;  // leaves 4000 - 313 - 3000 = 687 MiB to us in [1, 3) s.
  squeeze.type = SimEventType::kCotenant;
  squeeze.start_s = 1;
  squeeze.end_s = 3;
  squeeze.mb = 3000;
  squeeze.evict_cache = true;
  SimEvent crush = squeeze;  // leaves ~37 MiB in [2, 3) s: not even one image fits.
  crush.start_s = 2;
  crush.mb = 650;
  c.events = {squeeze, crush};
  return c;
}

TEST(SimBackendTest, CotenantSqueezeCausesOomFlushSplitAndRetry) {
  SimHarness h(SqueezeConfig());
  BatchTiming before = h.MustRun(16);  // t = 0: the whole card is ours.
  EXPECT_FALSE(before.oom);
  EXPECT_EQ(before.alloc_retries, 0);
  EXPECT_EQ(before.memory.alloc_retries, 0);
  EXPECT_NEAR(*before.memory.used_mb - *before.memory.reserved_mb, 313, 1e-6);

  // The co-tenant takes 3000 MiB at t = 1 s: 16 images (800 MiB per stage
  // tensor) no longer fit; neither do 8; halves of 4 do.
  h.AdvanceTo(1.5);
  EXPECT_NEAR(h.backend_->gpu().OtherProcessesMb(), 3000, 1e-6);
  BatchTiming squeezed;
  ASSERT_TRUE(h.Run(16, &squeezed).ok());
  EXPECT_TRUE(squeezed.oom);
  // 16: flush + split; each 8: flush + split; the 4s run.
  EXPECT_EQ(squeezed.alloc_retries, 6);
  EXPECT_GT(*squeezed.memory.alloc_retries, 0);  // allocator-level retries (cumulative)
  EXPECT_GT(*squeezed.memory.oom_count, 0);
  EXPECT_GT(squeezed.inference_ms, before.inference_ms);  // the latency spike.
  EXPECT_LE(*squeezed.memory.used_mb, *squeezed.memory.total_mb + 1e-6);
  // Every image still got its output.
  EXPECT_EQ(h.out_.shape, (std::vector<int64_t>{16, 84, kAnchors}));

  // At t = 2 s a second co-tenant leaves ~37 MiB: even batch 1 cannot run.
  h.AdvanceTo(2.2);
  BatchTiming crushed;
  int64_t t0 = h.clock_.NowNs();
  Status s = h.Run(1, &crushed);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
  EXPECT_TRUE(crushed.oom);
  EXPECT_EQ(crushed.alloc_retries, 1);  // the flush + retry.
  EXPECT_GT(h.clock_.NowNs(), t0);      // the failed attempts took time.
  EXPECT_NE(s.message().find("out of memory"), std::string::npos);

  // Both leave at t = 3 s: a full batch runs without OOM again.
  h.AdvanceTo(3.1);
  EXPECT_NEAR(h.backend_->gpu().OtherProcessesMb(), 0, 1e-6);
  BatchTiming after = h.MustRun(16);
  EXPECT_FALSE(after.oom);
  EXPECT_EQ(after.alloc_retries, 0);
}

TEST(SimBackendTest, CotenantOnlyTakesFreeMemoryWithoutEviction) {
  SimGpuConfig c = SqueezeConfig();
  c.events.resize(1);
  c.events[0].evict_cache = false;
  SimHarness h(c);
  h.MustRun(16);  // our cache now holds what 16 images need (~1.6 GiB).
  h.AdvanceTo(1.5);
  // The co-tenant got only what was free, and our cached segments still
  // serve the same batch: no OOM.
  EXPECT_LT(h.backend_->gpu().OtherProcessesMb(), 3000);
  BatchTiming t = h.MustRun(16);
  EXPECT_FALSE(t.oom);
  EXPECT_NEAR(*t.memory.used_mb, 4000, 1.0);  // the card is full.
}

TEST(SimBackendTest, WarmupSucceedsUnderSqueezeBySplitting) {
  SimGpuConfig c = SqueezeConfig();
  c.events.resize(1);
  c.events[0].start_s = 0;  // present from the start.
  SimHarness h(c);
  EXPECT_TRUE(h.backend_->Warmup({1, 2, 4, 8, 16}).ok());
}

// ------------------------------------------------------------ fragmentation --

TEST(SimBackendTest, MixedBatchSizesFragmentASingleSizeDoesNot) {
  // Batch sizes an adaptive batcher might form as load moves, 1..16, versus
  // always the largest, 16.
  const std::vector<int> mix = {2, 5, 3, 9, 4, 12, 7, 16, 6, 11, 1, 14, 8, 13, 10, 15};
  SimHarness single(TestConfig()), mixed(TestConfig());
  std::vector<BatchTiming> s_runs, m_runs;
  for (int i = 0; i < 64; ++i) {
    s_runs.push_back(single.MustRun(16));
    m_runs.push_back(mixed.MustRun(mix[i % mix.size()]));
  }
  // One size: the cache reaches a fixed state after the first batch.
  for (size_t i = 1; i < s_runs.size(); ++i) {
    EXPECT_EQ(*s_runs[i].memory.reserved_mb, *s_runs[1].memory.reserved_mb);
    EXPECT_EQ(*s_runs[i].memory.inactive_split_mb, *s_runs[1].memory.inactive_split_mb);
  }
  // Varied sizes: reserved keeps growing while new sizes arrive (cached
  // blocks of other sizes stay reserved, live skip tensors pin segments),
  // well past what the largest batch alone needs; no batch ever needed more
  // than the single-size run's largest.
  auto reserved = [](const BatchTiming& t) { return *t.memory.reserved_mb; };
  EXPECT_GT(reserved(m_runs[15]), 2 * reserved(m_runs[0]));
  EXPECT_GT(reserved(m_runs.back()), 1.3 * reserved(s_runs.back()))
      << "mixed " << reserved(m_runs.back()) << " single " << reserved(s_runs.back());
  for (size_t i = 1; i < m_runs.size(); ++i)
    EXPECT_GE(reserved(m_runs[i]), reserved(m_runs[i - 1]));
  // Small batches run inside segments cut for larger ones: far more reserved
  // per allocated byte than the single size.
  auto gap = [](const BatchTiming& t) { return *t.memory.reserved_mb - *t.memory.allocated_mb; };
  EXPECT_GT(gap(m_runs.back()), gap(s_runs.back()));

  // empty_cache gives it all back (nothing is allocated between batches).
  EXPECT_GT(mixed.backend_->gpu().EmptyCache(), 0);
  DeviceMemoryStats after = mixed.backend_->gpu().MemoryStats();
  EXPECT_EQ(*after.reserved_mb, 0);
  EXPECT_EQ(*after.inactive_split_mb, 0);
}

TEST(SimCachingAllocatorTest, FollowsPyTorchBlockPolicy) {
  SimCachingAllocator a;
  const int64_t mib = 1 << 20;
  const int64_t big = int64_t{1} << 40;
  auto x = a.Malloc(100 * mib, big);  // >= 10 MiB: a segment of the rounded size.
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(a.stats().reserved_bytes, 100 * mib);
  auto y = a.Malloc(3 * mib, big);  // 1..10 MiB: a 20 MiB segment, split.
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(a.stats().reserved_bytes, 120 * mib);
  EXPECT_EQ(a.stats().allocated_bytes, 103 * mib);
  EXPECT_EQ(a.stats().inactive_split_bytes, 17 * mib);
  auto s = a.Malloc(1000, big);  // small pool: a 2 MiB segment.
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(a.stats().reserved_bytes, 122 * mib);
  a.Free(*x);
  // Best fit: 40 MiB comes out of the cached 100 MiB block, split.
  auto z = a.Malloc(40 * mib, big);
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(*z, *x);
  EXPECT_EQ(a.stats().reserved_bytes, 122 * mib);
  EXPECT_EQ(a.stats().inactive_split_bytes, (17 + 60) * mib + 2 * mib - 1024);
  a.Free(*z);  // merges back into one 100 MiB free segment.
  a.Free(*y);
  a.Free(*s);
  EXPECT_EQ(a.stats().inactive_split_bytes, 0);
  EXPECT_EQ(a.EmptyCache(), 122 * mib);
  EXPECT_EQ(a.stats().reserved_bytes, 0);
}

TEST(SimCachingAllocatorTest, FlushesTheCacheBeforeFailing) {
  SimCachingAllocator a;
  const int64_t mib = 1 << 20;
  auto x = a.Malloc(60 * mib, 100 * mib);
  ASSERT_TRUE(x.ok());
  a.Free(*x);                              // cached, 60 MiB reserved.
  auto y = a.Malloc(80 * mib, 100 * mib);  // needs a new segment: flush, retry, ok.
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(a.stats().num_alloc_retries, 1);
  EXPECT_EQ(a.stats().num_ooms, 0);
  EXPECT_EQ(a.stats().reserved_bytes, 80 * mib);
  auto z = a.Malloc(30 * mib, 100 * mib);  // 80 + 30 > 100 even after the flush.
  EXPECT_EQ(z.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(a.stats().num_alloc_retries, 2);
  EXPECT_EQ(a.stats().num_ooms, 1);
}

// -------------------------------------------------------------------- leak --

TEST(SimBackendTest, LeakGrowsAllocatedAtConstantLoad) {
  SimGpuConfig c = TestConfig();
  SimEvent leak;
  leak.type = SimEventType::kLeak;
  leak.mb_per_batch = 2;
  c.events = {leak};
  SimHarness h(c);
  std::vector<double> allocated;
  for (int i = 0; i < 30; ++i) allocated.push_back(*h.MustRun(4).memory.allocated_mb);
  for (size_t i = 1; i < allocated.size(); ++i) {
    EXPECT_NEAR(allocated[i] - allocated[i - 1], 2.0, 1e-6);
  }
  // empty_cache cannot give leaked memory back.
  h.backend_->gpu().EmptyCache();
  EXPECT_GE(*h.backend_->gpu().MemoryStats().allocated_mb, 60 - 1e-6);
  EXPECT_GE(*h.backend_->gpu().MemoryStats().reserved_mb, 60 - 1e-6);
}

// -------------------------------------------------- throttling, contention --

TEST(SimBackendTest, ThrottlingMultipliesLatencyInItsWindowOnly) {
  SimGpuConfig c = TestConfig();
  SimEvent th;
  th.type = SimEventType::kThrottle;
  th.start_s = 1;
  th.end_s = 2;
  th.clock_factor = 0.5;
  th.reason = "hw_thermal_slowdown";
  c.events = {th};
  SimHarness h(c);
  auto source = h.backend_->NewTelemetrySource();
  EXPECT_NEAR(h.MustRun(4).inference_ms, 3.0, 1e-9);
  h.AdvanceTo(1.2);
  EXPECT_NEAR(h.MustRun(4).inference_ms, 6.0, 1e-9);
  auto during = source->Sample();
  ASSERT_TRUE(during.ok());
  EXPECT_EQ((*during)[0].sm_clock_mhz, c.device.sm_clock_mhz * 0.5);
  EXPECT_EQ((*during)[0].throttle_reasons, "hw_thermal_slowdown");
  h.AdvanceTo(2.05);
  EXPECT_NEAR(h.MustRun(4).inference_ms, 3.0, 1e-9);
  auto after = source->Sample();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ((*after)[0].sm_clock_mhz, c.device.sm_clock_mhz);
  EXPECT_EQ((*after)[0].throttle_reasons, "");
}

TEST(SimBackendTest, ContentionSlowsUsAndShowsBusyGpuAtFlatLoad) {
  SimGpuConfig c = TestConfig();
  SimEvent ct;
  ct.type = SimEventType::kContention;
  ct.start_s = 10;
  ct.end_s = 20;
  ct.latency_factor = 1.8;
  ct.util_pct = 97;
  c.events = {ct};
  SimHarness h(c);
  auto source = h.backend_->NewTelemetrySource();
  // One batch of 4 every 100 ms, before and during the episode.
  auto run_second = [&] {
    double ms = 0;
    for (int i = 0; i < 10; ++i) {
      int64_t start = h.clock_.NowNs();
      ms = h.MustRun(4).inference_ms;
      h.clock_.AdvanceNs(start + 100'000'000 - h.clock_.NowNs());
    }
    return ms;
  };
  (void)source->Sample();
  double quiet_ms = run_second();
  auto quiet = source->Sample();
  h.AdvanceTo(12);
  (void)source->Sample();
  double busy_ms = run_second();
  auto busy = source->Sample();
  ASSERT_TRUE(quiet.ok() && busy.ok());
  EXPECT_NEAR(quiet_ms, 3.0, 1e-9);
  EXPECT_NEAR(busy_ms, 3.0 * 1.8, 1e-9);
  EXPECT_LT(*(*quiet)[0].gpu_util, 10);  // 3 ms of kernels per 100 ms.
  EXPECT_GE(*(*busy)[0].gpu_util, 97);   // the other process's kernels.
}

// ---------------------------------------------------------------- telemetry --

TEST(SimTelemetryTest, ReflectsLoadMemoryAndCotenants) {
  SimHarness h(SqueezeConfig());
  auto source = h.backend_->NewTelemetrySource();
  EXPECT_EQ(source->kind(), "sim");
  EXPECT_NE(source->description().find("not a measurement"), std::string::npos);
  h.clock_.AdvanceMs(500);
  auto idle = source->Sample();
  ASSERT_TRUE(idle.ok());
  ASSERT_EQ(idle->size(), 1u);
  const DeviceSample& i = (*idle)[0];
  EXPECT_EQ(i.device, "sim:0");
  EXPECT_EQ(i.gpu_id, 0);
  EXPECT_EQ(i.gpu_util, 0.0);
  EXPECT_EQ(i.mem_total_mb, 4000.0);
  EXPECT_EQ(i.mem_this_process_mb, 313.0);  // context + weights, nothing cached yet.
  EXPECT_EQ(i.mem_other_processes_mb, 0.0);
  EXPECT_EQ(i.mem_used_mb, 313.0);
  EXPECT_EQ(i.pcie_rx_mbs, 0.0);
  EXPECT_NEAR(*i.temp_c, 35, 1e-6);
  EXPECT_FALSE(i.process_cpu_util.has_value());

  // Back-to-back batches for ~0.4 s: busy most of the time, copies flowing,
  // power up.
  while (h.backend_->gpu().ElapsedSeconds() < 0.9) h.MustRun(8);
  auto loaded = source->Sample();
  ASSERT_TRUE(loaded.ok());
  const DeviceSample& l = (*loaded)[0];
  EXPECT_GT(*l.gpu_util, 50);
  EXPECT_GT(*l.pcie_rx_mbs, 100);
  EXPECT_GT(*l.pcie_tx_mbs, 10);
  EXPECT_GT(*l.power_w, *i.power_w);
  EXPECT_GT(*l.temp_c, *i.temp_c);
  EXPECT_GT(*l.mem_this_process_mb, 313.0);  // the cache.

  // During the squeeze: other processes' memory shows, used <= total.
  h.AdvanceTo(1.5);
  auto squeezed = source->Sample();
  ASSERT_TRUE(squeezed.ok());
  const DeviceSample& q = (*squeezed)[0];
  EXPECT_EQ(q.mem_other_processes_mb, 3000.0);
  EXPECT_NEAR(*q.mem_used_mb, *q.mem_this_process_mb + 3000.0, 1e-6);
  EXPECT_LE(*q.mem_used_mb, 4000.0 + 1e-6);
  EXPECT_LT(*q.gpu_util, 1.0);  // idle since the last batch.
}

TEST(SimBackendTest, InstancesShareOneDevice) {
  SimHarness h(TestConfig());
  std::unique_ptr<SimBackend> second = h.backend_->NewInstance();
  EXPECT_EQ(&second->gpu(), &h.backend_->gpu());
  h.MustRun(8);
  double reserved = *h.backend_->gpu().MemoryStats().reserved_mb;
  BatchTiming t;
  OutputTensor out;
  ASSERT_TRUE(second->Run(h.input_.data(), 8, kSize, kSize, &out, &t).ok());
  EXPECT_EQ(*t.memory.reserved_mb, reserved);  // served from the shared cache.
}

// ----------------------------------------------------------------- configs --

std::string WriteTemp(const std::string& name, const std::string& text) {
  std::string path = (std::filesystem::temp_directory_path() / name).string();
  std::ofstream(path) << text;
  return path;
}

TEST(SimConfigTest, ParsesYamlWithEventsAndDefaults) {
  auto c = ParseSimGpuConfig(R"(
model: {name: tiny, input_size: [320, 480]}
device: {memory_mb: 16384, pcie_gbps: 12}
latency: {base_ms: 2, per_image_ms: 0.3, jitter_pct: 0}
memory: {activation_mb_per_image: 25}
events:
  - {type: cotenant, start_s: 5, end_s: 10, mb: 8000, ramp_s: 1, evict_cache: true}
  - {type: throttle, start_s: 1, end_s: 2, clock_factor: 0.7, reason: sw_power_cap}
  - {type: leak, mb_per_batch: 0.5}
  - {type: contention, start_s: 3, end_s: 4, latency_factor: 2, util_pct: 90, note: "x"}
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->model_name, "tiny");
  EXPECT_EQ(c->input_h, 320);
  EXPECT_EQ(c->input_w, 480);
  EXPECT_EQ(c->device.memory_mb, 16384);
  EXPECT_EQ(c->device.context_mb, SimDeviceConfig{}.context_mb);  // default kept
  EXPECT_EQ(c->memory.activation_mb_per_image, 25);
  ASSERT_EQ(c->events.size(), 4u);
  EXPECT_EQ(c->events[0].type, SimEventType::kCotenant);
  EXPECT_TRUE(c->events[0].evict_cache);
  EXPECT_EQ(c->events[1].reason, "sw_power_cap");
  EXPECT_TRUE(std::isinf(c->events[2].end_s));
  EXPECT_EQ(c->events[3].util_pct, 90);
}

TEST(SimConfigTest, RejectsUnknownKeysAndBadValues) {
  auto typo = ParseSimGpuConfig("latency: {base_msec: 2}\n");
  ASSERT_FALSE(typo.ok());
  EXPECT_EQ(typo.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(typo.status().message().find("latency.base_msec"), std::string::npos);
  EXPECT_FALSE(ParseSimGpuConfig("events: [{type: meteor}]\n").ok());
  EXPECT_FALSE(ParseSimGpuConfig("memory: {memory_fraction: 1.5}\n").ok());
  EXPECT_FALSE(ParseSimGpuConfig("model: {input_size: 300}\n").ok());
  EXPECT_FALSE(ParseSimGpuConfig("events: [{type: throttle, clock_factor: 0}]\n").ok());
  EXPECT_FALSE(ParseSimGpuConfig("latency: {base_ms: fast}\n").ok());
  EXPECT_FALSE(ParseSimGpuConfig("[1, 2\n").ok());
  EXPECT_EQ(LoadSimGpuConfig("/nonexistent/sim.yaml").status().code(), StatusCode::kNotFound);
  BackendConfig bc;
  bc.model_path = "/nonexistent/sim.yaml";
  EXPECT_EQ(SimBackend::Create(bc).status().code(), StatusCode::kNotFound);
}

TEST(SimConfigTest, LoadsLatencyCurvesFromCsvAndJson) {
  std::string csv = WriteTemp("ys_sim_curve.csv",
                              "# bench --engine\nbatch_size,p99_ms,latency_ms\n1,3,1.5\n8,9,3.5\n");
  auto a = LoadLatencyCurve(csv);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(*a, (std::vector<std::pair<int, double>>{{1, 1.5}, {8, 3.5}}));
  std::string json_map = WriteTemp("ys_sim_curve1.json", R"({"8": 3.5, "1": 1.5})");
  auto b = LoadLatencyCurve(json_map);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(*b, *a);
  std::string json_list = WriteTemp(
      "ys_sim_curve2.json",
      R"({"results": [{"batch_size": 8, "latency_ms": 3.5}, {"batch_size": 1, "latency_ms": 1.5}]})");
  auto c = LoadLatencyCurve(json_list);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*c, *a);
  EXPECT_FALSE(LoadLatencyCurve(WriteTemp("ys_sim_bad.csv", "x,y\n1,2\n")).ok());
  // Referenced from a YAML, relative to it.
  std::string yaml =
      WriteTemp("ys_sim_with_curve.yaml", "latency: {curve_file: ys_sim_curve.csv}\n");
  auto cfg = LoadSimGpuConfig(yaml);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->latency.curve, *a);
}

TEST(SimConfigTest, ExampleConfigsLoadAndRun) {
  const std::string dir = std::string(YOLOSCOPE_SOURCE_DIR) + "/configs/sim";
  std::set<std::string> seen;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    seen.insert(entry.path().filename().string());
    BackendConfig bc;
    bc.kind = "sim";
    bc.model_path = entry.path().string();
    bc.max_batch = 4;
    FakeClock clock;
    auto b = SimBackend::Create(bc, &clock);
    ASSERT_TRUE(b.ok()) << entry.path() << ": " << b.status().ToString();
    EXPECT_TRUE((*b)->Warmup({1, 4}).ok()) << entry.path();
  }
  for (const char* name : {"default.yaml", "squeeze.yaml", "fragmentation.yaml", "leak.yaml",
                           "throttle.yaml", "contention.yaml"}) {
    EXPECT_TRUE(seen.count(name)) << name;
  }
}

// The lab's model files (scenarios/sim/, docs/diagnosis.md) load and run; the
// degraded-PCIe one makes copies, not compute, the device's work at 640.
TEST(SimConfigTest, LabScenarioModelsLoadAndTheSlowLinkDominates) {
  const std::string dir = std::string(YOLOSCOPE_SOURCE_DIR) + "/scenarios/sim";
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    ++n;
    BackendConfig bc;
    bc.kind = "sim";
    bc.model_path = entry.path().string();
    bc.max_batch = 4;
    FakeClock clock;
    auto b = SimBackend::Create(bc, &clock);
    ASSERT_TRUE(b.ok()) << entry.path() << ": " << b.status().ToString();
    EXPECT_TRUE((*b)->Warmup({1}).ok()) << entry.path();
  }
  EXPECT_GE(n, 6);
  BackendConfig bc;
  bc.kind = "sim";
  bc.model_path = dir + "/transfer.yaml";
  bc.max_batch = 1;
  FakeClock clock;
  auto b = SimBackend::Create(bc, &clock);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  std::vector<float> input(3 * 640 * 640, 0.5f);
  OutputTensor out;
  BatchTiming t;
  ASSERT_TRUE((*b)->Run(input.data(), 1, 640, 640, &out, &t).ok());
  ASSERT_TRUE(t.h2d_ms && t.d2h_ms);
  EXPECT_NEAR(*t.h2d_ms, 0.01 + 3.0 * 640 * 640 * 4 / 0.8e9 * 1e3, 1e-6);  // 6.15 ms
  EXPECT_NEAR(*t.d2h_ms, 0.01 + 84.0 * 8400 * 4 / 0.8e9 * 1e3, 1e-6);      // 3.54 ms
  EXPECT_GT(*t.h2d_ms + *t.d2h_ms, 4 * t.inference_ms);
}

TEST(SimConfigTest, DefaultConfigMatchesItsIllustrativeNumbers) {
  BackendConfig bc;
  bc.model_path = std::string(YOLOSCOPE_SOURCE_DIR) + "/configs/sim/default.yaml";
  FakeClock clock;
  auto b = SimBackend::Create(bc, &clock);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_NEAR((*b)->gpu().BaseLatencyMs(1), 1.6, 0.05);
  EXPECT_NEAR((*b)->gpu().BaseLatencyMs(32), 6.0, 0.1);
  EXPECT_EQ((*b)->info().input_w, 640);
}

}  // namespace
}  // namespace yoloscope
