// Per-backend inference: every generated model (tiny and n, 320 and 640) on
// every backend at batch 1/2/4/8. Reports ms per batch (the benchmark time)
// and ms per image (counter "ms_per_image").
//
//   build/bench/backend_bench --benchmark_min_time=1 [--benchmark_filter=...]
// Models come from build/models (YOLOSCOPE_TEST_MODELS_DIR overrides).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "backends/backend.h"

namespace yoloscope {
namespace {

struct BenchModel {
  std::string name, torchscript, onnx;
  int h = 0, w = 0;
  bool onnx_ok = false;
};

std::vector<BenchModel> Models() {
  const char* env = std::getenv("YOLOSCOPE_TEST_MODELS_DIR");
  std::string dir = env && *env ? env : YOLOSCOPE_MODELS_DIR;
  std::ifstream in(dir + "/manifest.json");
  std::vector<BenchModel> out;
  if (!in) return out;
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) return out;
  for (const auto& m : j["models"]) {
    BenchModel b;
    b.name = m["name"];
    if (b.name.find("e2e") != std::string::npos || b.name.find("v5") != std::string::npos) {
      continue;  // the layout variants share the v8 backbone cost; keep the table small
    }
    b.torchscript = dir + "/" + m["torchscript"].get<std::string>();
    if (m["onnx"].is_string()) b.onnx = dir + "/" + m["onnx"].get<std::string>();
    b.onnx_ok = m.value("onnx_opencv_loadable", !b.onnx.empty());
    b.h = m["imgsz"][0];
    b.w = m["imgsz"][1];
    out.push_back(b);
  }
  return out;
}

void RunBackend(benchmark::State& state, std::string kind, std::string path, int h, int w) {
  const int batch = static_cast<int>(state.range(0));
  const int threads = static_cast<int>(state.range(1));
  BackendConfig cfg;
  cfg.kind = kind;
  cfg.model_path = path;
  cfg.max_batch = batch;
  cfg.num_threads = threads;
  auto backend = CreateBackend(cfg);
  if (!backend.ok()) {
    state.SkipWithError(backend.status().ToString().c_str());
    return;
  }
  std::vector<float> input(static_cast<size_t>(batch) * 3 * h * w);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  for (float& v : input) v = u(rng);
  OutputTensor out;
  BatchTiming timing;
  // Warm-up: libtorch keeps paying for a new shape for several calls (its
  // graph executor profiles and rewrites it), so run until two consecutive
  // calls agree within 20% (at most 12 calls).
  double prev_ms = 0;
  for (int i = 0; i < 12; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    (void)(*backend)->Run(input.data(), batch, h, w, &out, &timing);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (i >= 2 && prev_ms > 0 && ms < 1.2 * prev_ms && prev_ms < 1.2 * ms) break;
    prev_ms = ms;
  }
  double total_ms = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    Status s = (*backend)->Run(input.data(), batch, h, w, &out, &timing);
    total_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                    .count();
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(out.data.data());
  }
  const double images = static_cast<double>(batch) * static_cast<double>(state.iterations());
  state.counters["ms_per_image"] = total_ms / images;
  state.counters["images_per_s"] = images / (total_ms / 1e3);
}

// Arguments: {batch, intra-op threads}. Batches 1, 2, 4, 8 with 2 threads,
// and 1 and 8 with 1 thread (the engines' per-thread efficiency).
void Sizes(benchmark::internal::Benchmark* b) {
  for (int batch : {1, 2, 4, 8}) b->Args({batch, 2});
  for (int batch : {1, 8}) b->Args({batch, 1});
  b->ArgNames({"batch", "threads"})->Unit(benchmark::kMillisecond)->UseRealTime();
}

int RegisterAll() {
  for (const auto& m : Models()) {
    benchmark::RegisterBenchmark(("torch/" + m.name).c_str(), RunBackend, std::string("torch"),
                                 m.torchscript, m.h, m.w)
        ->Apply(Sizes);
    if (!m.onnx.empty()) {
      benchmark::RegisterBenchmark(("onnxruntime/" + m.name).c_str(), RunBackend,
                                   std::string("onnxruntime"), m.onnx, m.h, m.w)
          ->Apply(Sizes);
    }
    if (m.onnx_ok) {
      benchmark::RegisterBenchmark(("opencv/" + m.name).c_str(), RunBackend,
                                   std::string("opencv"), m.onnx, m.h, m.w)
          ->Apply(Sizes);
    }
  }
  return 0;
}

const int kRegistered = RegisterAll();

}  // namespace
}  // namespace yoloscope

BENCHMARK_MAIN();
