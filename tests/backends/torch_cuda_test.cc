// The CUDA path of TorchBackend (src/backends/torch_cuda_runner.cc). Label
// `gpu`: built only with YOLOSCOPE_WITH_CUDA=ON; every test skips when no
// CUDA device is visible.
//
// - GPU output == CPU output for every generated model at batch 1..4, FP32
//   (tight: TF32 is switched off for this process) and FP16 (loose);
// - allocator statistics and CUDA-event timings are filled and plausible;
// - the memory guard lowers max_batch() under a small fraction and under a
//   co-tenant holding most of the memory;
// - an OOM is recovered by splitting the batch (same output), and a batch of
//   1 that cannot fit comes back as ResourceExhausted (HTTP 507 in serve);
// - CUDA graphs give the same output as the plain path, for new inputs too;
// - NVML telemetry reads the device.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "backends/torch_backend.h"
#include "telemetry/nvml_telemetry.h"
#include "testing/test_models.h"

namespace yoloscope {
namespace {

using testing::LoadManifest;
using testing::ModelPath;
using testing::TestModel;

// cuDNN and cuBLAS use TF32 for float32 convolutions and matrix products by
// default on Ampere and later; NVIDIA_TF32_OVERRIDE=0 turns that off for the
// process (read when the libraries initialise, so before any CUDA call) and
// FP32 is compared at FP32 accuracy.
const bool kTf32Off = [] {
  setenv("NVIDIA_TF32_OVERRIDE", "0", 1);
  return true;
}();

constexpr double kMiB = 1024.0 * 1024.0;

bool HaveGpu() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return n > 0;
}

#define REQUIRE_GPU()                                 \
  do {                                                \
    ASSERT_TRUE(kTf32Off);                            \
    if (!HaveGpu()) GTEST_SKIP() << "no CUDA device"; \
  } while (0)

// Uniform [0, 1) images: never zeros (they hide unwritten outputs).
std::vector<float> RandomImages(int n, int h, int w, uint32_t seed) {
  std::vector<float> v(static_cast<size_t>(n) * 3 * h * w);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  for (float& x : v) x = u(rng);
  return v;
}

struct Options {
  std::string device = "cuda:0";
  std::string precision = "fp32";
  int max_batch = 4;
  bool cuda_graphs = false;
  double fraction = 0.8;
};

std::unique_ptr<TorchBackend> Make(const std::string& path, const Options& o) {
  BackendConfig cfg;
  cfg.kind = "torch";
  cfg.model_path = path;
  cfg.device = o.device;
  cfg.precision = o.precision;
  cfg.max_batch = o.max_batch;
  cfg.cuda_graphs = o.cuda_graphs;
  cfg.gpu_memory_fraction = o.fraction;
  auto b = TorchBackend::Create(cfg);
  EXPECT_TRUE(b.ok()) << b.status().ToString();
  return b.ok() ? std::move(b).value() : nullptr;
}

// Runs with the output poisoned (NaN) first, so unwritten elements show.
Status RunPoisoned(Backend* b, const std::vector<float>& input, int n, int h, int w,
                   OutputTensor* out, BatchTiming* timing) {
  std::fill(out->data.begin(), out->data.end(), std::numeric_limits<float>::quiet_NaN());
  return b->Run(input.data(), n, h, w, out, timing);
}

// |got - want| <= abs + rel |want| for every element, and
// ||got - want|| / ||want|| <= norm. `score` bounds the scores of the
// end-to-end layout (values in [0, 1]).
struct Tolerance {
  double abs, rel, norm, score;
};
constexpr Tolerance kFp32{1e-2, 1e-3, 1e-4, 1e-3};
constexpr Tolerance kFp16{0.5, 2e-2, 1e-2, 2e-2};
constexpr Tolerance kSame{1e-4, 1e-5, 1e-5, 1e-5};  // one instance, graph vs plain

// Elementwise and normwise comparison; returns "" or what failed.
std::string Compare(const std::vector<float>& got, const std::vector<float>& want,
                    const Tolerance& tol) {
  if (got.size() != want.size()) {
    return "size " + std::to_string(got.size()) + " vs " + std::to_string(want.size());
  }
  double diff2 = 0, ref2 = 0, worst = 0;
  size_t worst_i = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i])) return "element " + std::to_string(i) + " not finite (unwritten?)";
    const double d = std::fabs(static_cast<double>(got[i]) - want[i]);
    diff2 += d * d;
    ref2 += static_cast<double>(want[i]) * want[i];
    const double excess = d - tol.abs - tol.rel * std::fabs(want[i]);
    if (excess > worst) {
      worst = excess;
      worst_i = i;
    }
  }
  const double norm = ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
  if (worst > 0) {
    return "element " + std::to_string(worst_i) + ": got " + std::to_string(got[worst_i]) +
           " want " + std::to_string(want[worst_i]) + " (relative norm error " +
           std::to_string(norm) + ")";
  }
  if (norm > tol.norm) return "relative norm error " + std::to_string(norm);
  return "";
}

// End-to-end layout [B, K, 6] = x1, y1, x2, y2, score, class, rows sorted by
// score: rows whose scores nearly tie may come in either order, so compare
// the sorted score column of each image, and the whole row only for rows
// whose score stands clear of its neighbours.
std::string CompareE2E(const std::vector<float>& got, const std::vector<float>& want, int batch,
                       const Tolerance& tol) {
  if (got.size() != want.size()) return "size differs";
  const size_t rows = want.size() / batch / 6;
  std::vector<float> gs, ws, grow, wrow;
  for (int b = 0; b < batch; ++b) {
    gs.clear();
    ws.clear();
    const size_t base = static_cast<size_t>(b) * rows * 6;
    for (size_t r = 0; r < rows; ++r) {
      gs.push_back(got[base + r * 6 + 4]);
      ws.push_back(want[base + r * 6 + 4]);
    }
    std::sort(gs.begin(), gs.end());
    std::sort(ws.begin(), ws.end());
    std::string s = Compare(gs, ws, Tolerance{tol.score, 0, tol.norm, tol.score});
    if (!s.empty()) return "image " + std::to_string(b) + " scores: " + s;
    for (size_t r = 0; r < rows; ++r) {
      const float score = want[base + r * 6 + 4];
      const float gap = 2 * static_cast<float>(tol.score);
      const bool clear_above = r == 0 || want[base + (r - 1) * 6 + 4] - score > gap;
      const bool clear_below = r + 1 == rows || score - want[base + (r + 1) * 6 + 4] > gap;
      if (score < 0.25f || !clear_above || !clear_below) continue;
      grow.assign(got.begin() + base + r * 6, got.begin() + base + r * 6 + 6);
      wrow.assign(want.begin() + base + r * 6, want.begin() + base + r * 6 + 6);
      Tolerance row_tol = tol;
      row_tol.norm = 1;  // a handful of numbers: the elementwise bound decides
      s = Compare(grow, wrow, row_tol);
      if (!s.empty()) return "image " + std::to_string(b) + " row " + std::to_string(r) + ": " + s;
    }
  }
  return "";
}

std::vector<TestModel> Models() {
  auto models = LoadManifest();
  return models;
}

class TorchCudaModels : public ::testing::TestWithParam<TestModel> {};

TEST_P(TorchCudaModels, MatchesCpuAtBatch1To4InFp32AndFp16) {
  REQUIRE_GPU();
  const TestModel& m = GetParam();
  const int h = m.imgsz_h, w = m.imgsz_w;
  Options cpu_opt;
  cpu_opt.device = "cpu";
  auto cpu = Make(m.torchscript, cpu_opt);
  ASSERT_NE(cpu, nullptr);
  const std::vector<float> input = RandomImages(4, h, w, 1234 + h);
  std::vector<OutputTensor> want(5);
  for (int n = 1; n <= 4; ++n) {
    BatchTiming t;
    ASSERT_TRUE(cpu->Run(input.data(), n, h, w, &want[n], &t).ok());
  }
  for (const std::string precision : {"fp32", "fp16"}) {
    SCOPED_TRACE(precision);
    Options o;
    o.precision = precision;
    auto gpu = Make(m.torchscript, o);
    ASSERT_NE(gpu, nullptr);
    EXPECT_EQ(gpu->device(), "cuda:0");
    EXPECT_EQ(gpu->max_batch(), 4);
    const Tolerance& tol = precision == "fp32" ? kFp32 : kFp16;
    OutputTensor got;
    for (int n = 1; n <= 4; ++n) {
      SCOPED_TRACE("batch " + std::to_string(n));
      BatchTiming t;
      ASSERT_TRUE(RunPoisoned(gpu.get(), input, n, h, w, &got, &t).ok());
      ASSERT_EQ(got.shape, want[n].shape);
      const std::string diff = m.layout == "e2e" ? CompareE2E(got.data, want[n].data, n, tol)
                                                 : Compare(got.data, want[n].data, tol);
      EXPECT_EQ(diff, "");
      EXPECT_FALSE(t.oom);
      EXPECT_EQ(t.alloc_retries, 0);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllModels, TorchCudaModels, ::testing::ValuesIn(Models()),
                         [](const ::testing::TestParamInfo<TestModel>& info) {
                           std::string n = info.param.name;
                           for (char& c : n) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(TorchCudaModels);

std::string V8n640() { return ModelPath("yolov8n_640", "torchscript"); }

TEST(TorchCuda, FillsAllocatorStatsAndEventTimings) {
  REQUIRE_GPU();
  const std::string path = V8n640();
  ASSERT_FALSE(path.empty()) << "no yolov8n_640 in " << testing::ModelsDir();
  Options o;
  o.max_batch = 8;
  auto gpu = Make(path, o);
  ASSERT_NE(gpu, nullptr);
  const auto est = gpu->cuda_memory_estimate();
  ASSERT_TRUE(est.has_value());
  EXPECT_GT(est->per_image_bytes, 3 * 640 * 640 * 4);  // at least the input itself
  EXPECT_GE(est->fixed_bytes, 0);
  EXPECT_GT(est->budget_bytes, 0);
  EXPECT_GE(est->fit_batch, gpu->max_batch());
  const std::vector<float> input = RandomImages(8, 640, 640, 7);
  OutputTensor out;
  for (int n : {1, 8}) {
    SCOPED_TRACE("batch " + std::to_string(n));
    BatchTiming t;
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(RunPoisoned(gpu.get(), input, n, 640, 640, &out, &t).ok());
    const double wall_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    const DeviceMemoryStats& m = t.memory;
    ASSERT_TRUE(m.allocated_mb && m.reserved_mb && m.inactive_split_mb && m.used_mb && m.total_mb &&
                m.alloc_retries && m.oom_count);
    EXPECT_GT(*m.allocated_mb, 0);
    EXPECT_GE(*m.reserved_mb, *m.allocated_mb);
    EXPECT_GE(*m.inactive_split_mb, 0);
    EXPECT_GT(*m.total_mb, 0);
    EXPECT_GE(*m.used_mb, *m.reserved_mb);  // the device-wide view includes ours
    EXPECT_LE(*m.used_mb, *m.total_mb);
    EXPECT_GE(*m.alloc_retries, 0);
    EXPECT_GE(*m.oom_count, 0);
    ASSERT_TRUE(t.h2d_ms && t.d2h_ms);
    EXPECT_GT(*t.h2d_ms, 0);
    EXPECT_GT(t.inference_ms, 0);
    EXPECT_GT(*t.d2h_ms, 0);
    EXPECT_LT(*t.h2d_ms + t.inference_ms + *t.d2h_ms, wall_ms);
    // The whole output was written.
    for (float v : out.data) ASSERT_TRUE(std::isfinite(v));
  }
}

TEST(TorchCuda, MemoryGuardLowersMaxBatchUnderASmallFraction) {
  REQUIRE_GPU();
  Options o;
  o.max_batch = 1024;
  o.fraction = 0.05;
  auto gpu = Make(V8n640(), o);
  ASSERT_NE(gpu, nullptr);
  EXPECT_LT(gpu->max_batch(), 1024);
  EXPECT_GE(gpu->max_batch(), 1);
  const std::vector<float> input = RandomImages(gpu->max_batch(), 640, 640, 9);
  OutputTensor out;
  BatchTiming t;
  Status s = RunPoisoned(gpu.get(), input, gpu->max_batch(), 640, 640, &out, &t);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(out.shape[0], gpu->max_batch());
}

TEST(TorchCuda, MemoryGuardLowersMaxBatchUnderACoTenant) {
  REQUIRE_GPU();
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  size_t free_bytes = 0, total_bytes = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_bytes, &total_bytes), cudaSuccess);
  // A co-tenant holds all but 2 GiB (plain cudaMalloc: outside our allocator).
  const size_t leave = size_t{2} << 30;
  void* hog = nullptr;
  if (free_bytes > leave + (size_t{1} << 30)) {
    ASSERT_EQ(cudaMalloc(&hog, free_bytes - leave), cudaSuccess);
  }
  Options o;
  o.max_batch = 1024;
  auto gpu = Make(V8n640(), o);
  if (gpu != nullptr) {
    EXPECT_LT(gpu->max_batch(), 1024);
    const std::vector<float> input = RandomImages(gpu->max_batch(), 640, 640, 11);
    OutputTensor out;
    BatchTiming t;
    Status s = RunPoisoned(gpu.get(), input, gpu->max_batch(), 640, 640, &out, &t);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  gpu.reset();
  if (hog != nullptr) {
    EXPECT_EQ(cudaFree(hog), cudaSuccess);
  }
}

TEST(TorchCuda, RecoversFromOomBySplittingThenReportsResourceExhausted) {
  REQUIRE_GPU();
  const std::string path = V8n640();
  Options cpu_opt;
  cpu_opt.device = "cpu";
  cpu_opt.max_batch = 16;
  auto cpu = Make(path, cpu_opt);
  Options o;
  o.max_batch = 16;
  auto gpu = Make(path, o);
  ASSERT_TRUE(cpu && gpu);
  ASSERT_EQ(gpu->max_batch(), 16);
  const std::vector<float> input = RandomImages(16, 640, 640, 21);
  OutputTensor want, got;
  BatchTiming t;
  ASSERT_TRUE(cpu->Run(input.data(), 16, 640, 640, &want, &t).ok());

  // What one image and the idle state take.
  ASSERT_TRUE(gpu->Run(input.data(), 1, 640, 640, &got, &t).ok());
  const auto est = gpu->cuda_memory_estimate();
  ASSERT_TRUE(est && t.memory.allocated_mb && t.memory.total_mb && t.memory.oom_count);
  const double total = *t.memory.total_mb * kMiB;
  const double idle = *t.memory.allocated_mb * kMiB;
  const int64_t ooms_before = *t.memory.oom_count;

  // Room for about three images: 16 cannot run whole, halves of halves can.
  const double room = idle + est->fixed_bytes + 3.5 * est->per_image_bytes;
  ASSERT_TRUE(gpu->SetGpuMemoryFraction(room / total).ok());
  t = BatchTiming();
  Status s = RunPoisoned(gpu.get(), input, 16, 640, 640, &got, &t);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(t.oom);
  EXPECT_GE(t.alloc_retries, 2);  // an empty-cache retry and at least one split
  ASSERT_TRUE(t.memory.oom_count);
  EXPECT_GT(*t.memory.oom_count, ooms_before);
  EXPECT_EQ(got.shape, want.shape);
  EXPECT_EQ(Compare(got.data, want.data, kFp32), "");

  // Nothing fits: the cap is below what is already allocated.
  ASSERT_TRUE(gpu->SetGpuMemoryFraction(0.5 * idle / total).ok());
  t = BatchTiming();
  s = gpu->Run(input.data(), 1, 640, 640, &got, &t);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
  EXPECT_TRUE(t.oom);
  EXPECT_TRUE(t.memory.allocated_mb.has_value());

  // Memory comes back: whole batches again.
  ASSERT_TRUE(gpu->SetGpuMemoryFraction(0.8).ok());
  t = BatchTiming();
  s = RunPoisoned(gpu.get(), input, 16, 640, 640, &got, &t);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(t.oom);
  EXPECT_EQ(Compare(got.data, want.data, kFp32), "");

  EXPECT_EQ(gpu->SetGpuMemoryFraction(0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(gpu->SetGpuMemoryFraction(1.5).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(cpu->SetGpuMemoryFraction(0.5).code(), StatusCode::kFailedPrecondition);
}

TEST(TorchCuda, CudaGraphsGiveTheSameOutputAsThePlainPath) {
  REQUIRE_GPU();
  for (const std::string precision : {"fp32", "fp16"}) {
    SCOPED_TRACE(precision);
    Options o;
    o.precision = precision;
    o.cuda_graphs = true;
    auto gpu = Make(V8n640(), o);
    ASSERT_NE(gpu, nullptr);
    // Plain outputs of this very instance first (before any capture), for two
    // input sets: a graph must read the new input every time.
    const std::vector<std::vector<float>> inputs = {RandomImages(4, 640, 640, 31),
                                                    RandomImages(4, 640, 640, 32)};
    std::vector<OutputTensor> plain(8);
    for (int k = 0; k < 2; ++k) {
      for (int n = 1; n <= 4; ++n) {
        BatchTiming t;
        ASSERT_TRUE(gpu->Run(inputs[k].data(), n, 640, 640, &plain[k * 4 + n - 1], &t).ok());
      }
    }
    EXPECT_EQ(gpu->cuda_graph_count(), 0);
    ASSERT_TRUE(gpu->Warmup({1, 2, 3, 4}).ok());
    EXPECT_EQ(gpu->cuda_graph_count(), 4);
    for (int k = 0; k < 2; ++k) {
      for (int n = 1; n <= 4; ++n) {
        SCOPED_TRACE("batch " + std::to_string(n) + " input set " + std::to_string(k));
        OutputTensor got;
        BatchTiming t;
        ASSERT_TRUE(RunPoisoned(gpu.get(), inputs[k], n, 640, 640, &got, &t).ok());
        const OutputTensor& want = plain[k * 4 + n - 1];
        EXPECT_EQ(got.shape, want.shape);
        EXPECT_EQ(Compare(got.data, want.data, kSame), "");
        EXPECT_GT(t.inference_ms, 0);
        ASSERT_TRUE(t.h2d_ms && t.d2h_ms);
        EXPECT_GT(*t.h2d_ms, 0);
        EXPECT_TRUE(t.memory.reserved_mb.has_value());
      }
    }
  }
  // Only some sizes captured: the others keep the plain path until they
  // have run twice, then are captured on their third run.
  Options o;
  o.cuda_graphs = true;
  o.max_batch = 8;
  auto mixed = Make(V8n640(), o);
  ASSERT_NE(mixed, nullptr);
  const std::vector<float> input = RandomImages(8, 640, 640, 41);
  OutputTensor before2, after2, plain8, graph8;
  BatchTiming t;
  ASSERT_TRUE(mixed->Run(input.data(), 2, 640, 640, &before2, &t).ok());
  ASSERT_TRUE(mixed->Warmup({2}).ok());
  EXPECT_EQ(mixed->cuda_graph_count(), 1);
  ASSERT_TRUE(RunPoisoned(mixed.get(), input, 2, 640, 640, &after2, &t).ok());
  EXPECT_EQ(Compare(after2.data, before2.data, kSame), "");
  ASSERT_TRUE(RunPoisoned(mixed.get(), input, 8, 640, 640, &plain8, &t).ok());
  EXPECT_EQ(plain8.shape[0], 8);
  EXPECT_EQ(mixed->cuda_graph_count(), 1);
  ASSERT_TRUE(RunPoisoned(mixed.get(), input, 8, 640, 640, &graph8, &t).ok());
  EXPECT_EQ(mixed->cuda_graph_count(), 1);
  ASSERT_TRUE(RunPoisoned(mixed.get(), input, 8, 640, 640, &graph8, &t).ok());
  EXPECT_EQ(mixed->cuda_graph_count(), 2);  // captured on the third run
  EXPECT_EQ(Compare(graph8.data, plain8.data, kSame), "");
  // The first two images of the batch of 8 are the batch of 2.
  graph8.data.resize(after2.data.size());
  EXPECT_EQ(Compare(graph8.data, after2.data, kFp32), "");
}

TEST(TorchCuda, RejectsBadDeviceAndFraction) {
  REQUIRE_GPU();
  BackendConfig cfg;
  cfg.kind = "torch";
  cfg.model_path = V8n640();
  cfg.device = "cuda:99";
  EXPECT_EQ(TorchBackend::Create(cfg).status().code(), StatusCode::kInvalidArgument);
  cfg.device = "cuda:0";
  cfg.gpu_memory_fraction = 0;
  EXPECT_EQ(TorchBackend::Create(cfg).status().code(), StatusCode::kInvalidArgument);
  cfg.gpu_memory_fraction = 0.8;
  cfg.precision = "int8";
  EXPECT_EQ(TorchBackend::Create(cfg).status().code(), StatusCode::kInvalidArgument);
}

TEST(TorchCuda, NvmlTelemetryReadsTheDevice) {
  REQUIRE_GPU();
  auto gpu = Make(V8n640(), Options{});  // a context, so this process shows up
  auto nvml = NvmlTelemetry::Create(NvmlTelemetryConfig{});
  ASSERT_TRUE(nvml.ok()) << nvml.status().ToString();
  auto samples = (*nvml)->Sample();
  ASSERT_TRUE(samples.ok()) << samples.status().ToString();
  ASSERT_FALSE(samples->empty());
  const DeviceSample& s = samples->front();
  ASSERT_TRUE(s.gpu_util.has_value());
  EXPECT_GE(*s.gpu_util, 0);
  EXPECT_LE(*s.gpu_util, 100);
  ASSERT_TRUE(s.mem_total_mb.has_value());
  EXPECT_GT(*s.mem_total_mb, 0);
  ASSERT_TRUE(s.mem_used_mb.has_value());
  EXPECT_GT(*s.mem_used_mb, 0);
  EXPECT_LE(*s.mem_used_mb, *s.mem_total_mb);
}

}  // namespace
}  // namespace yoloscope
