// ys_gpu_bench: throughput and latency of the torch backend's CUDA path per
// batch size, for each precision and with/without CUDA graphs. One Run() is
// what the server's device worker does for a batch: pageable host input ->
// pinned staging -> H2D -> forward -> D2H -> host output. Latency is the
// host wall clock around Run() (the method bench/gpu/torch_loop.py uses with
// torch.cuda.synchronize), throughput = images / total timed wall time; the
// CUDA-event split (h2d, inference, d2h) comes from BatchTiming.
//
//   ys_gpu_bench --model build-gpucarry/models/yolov8n_640.torchscript
//       --batches 1,2,4,8,16,32 --precisions fp32,fp16 --graphs 0,1 --csv out.csv
//
// Input: uniform random images (never zeros). No dependency beyond
// ys_backends and the standard library.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "backends/torch_backend.h"

namespace yoloscope {
namespace {

struct Args {
  std::string model = std::string(YOLOSCOPE_MODELS_DIR) + "/yolov8n_640.torchscript";
  std::string device = "cuda:0";
  std::vector<int> batches = {1, 2, 4, 8, 16, 32};
  std::vector<std::string> precisions = {"fp32", "fp16"};
  std::vector<int> graphs = {0, 1};
  std::vector<int> jit_optimize = {0};
  double min_time_ms = 1500;
  int min_iters = 20;
  int warmup_iters = 10;
  double gpu_memory_fraction = 0.8;
  std::string csv;
};

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::vector<int> SplitInts(const std::string& s) {
  std::vector<int> out;
  for (const auto& x : Split(s)) out.push_back(std::atoi(x.c_str()));
  return out;
}

void Usage() {
  std::fprintf(stderr,
               "usage: ys_gpu_bench [--model PATH] [--device cuda:N] [--batches 1,2,4]\n"
               "         [--precisions fp32,fp16] [--graphs 0,1] [--jit-optimize 0,1]\n"
               "         [--min-time-ms 1500] [--min-iters 20] [--warmup-iters 10]\n"
               "         [--gpu-memory-fraction 0.8] [--csv PATH]\n");
}

bool Parse(int argc, char** argv, Args* a) {
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "-h" || k == "--help") return false;
    if (i + 1 >= argc) return false;
    std::string v = argv[++i];
    if (k == "--model") {
      a->model = v;
    } else if (k == "--device") {
      a->device = v;
    } else if (k == "--batches") {
      a->batches = SplitInts(v);
    } else if (k == "--precisions") {
      a->precisions = Split(v);
    } else if (k == "--graphs") {
      a->graphs = SplitInts(v);
    } else if (k == "--jit-optimize") {
      a->jit_optimize = SplitInts(v);
    } else if (k == "--min-time-ms") {
      a->min_time_ms = std::atof(v.c_str());
    } else if (k == "--min-iters") {
      a->min_iters = std::atoi(v.c_str());
    } else if (k == "--warmup-iters") {
      a->warmup_iters = std::atoi(v.c_str());
    } else if (k == "--gpu-memory-fraction") {
      a->gpu_memory_fraction = std::atof(v.c_str());
    } else if (k == "--csv") {
      a->csv = v;
    } else {
      return false;
    }
  }
  return !a->batches.empty() && !a->precisions.empty() && !a->graphs.empty();
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = p / 100.0 * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

struct Row {
  std::string precision;
  int graphs = 0, jit = 0, batch = 0, iters = 0;
  double p50 = 0, p90 = 0, mean = 0, img_per_s = 0, infer_p50 = 0, h2d_p50 = 0, d2h_p50 = 0;
  bool oom = false;
};

int Main(int argc, char** argv) {
  Args a;
  if (!Parse(argc, argv, &a)) {
    Usage();
    return 2;
  }
  const int largest = *std::max_element(a.batches.begin(), a.batches.end());
  std::vector<Row> rows;
  for (int jit : a.jit_optimize) {
    for (const std::string& precision : a.precisions) {
      for (int graphs : a.graphs) {
        BackendConfig cfg;
        cfg.kind = "torch";
        cfg.model_path = a.model;
        cfg.device = a.device;
        cfg.precision = precision;
        cfg.max_batch = largest;
        cfg.cuda_graphs = graphs != 0;
        cfg.torch_jit_optimize = jit != 0;
        cfg.gpu_memory_fraction = a.gpu_memory_fraction;
        auto created = TorchBackend::Create(cfg);
        if (!created.ok()) {
          std::fprintf(stderr, "ys_gpu_bench: %s\n", created.status().ToString().c_str());
          return 1;
        }
        std::unique_ptr<TorchBackend> backend = std::move(created).value();
        const ModelInfo& info = backend->info();
        const int h = info.input_h, w = info.input_w;
        std::vector<int> sizes;
        for (int b : a.batches) {
          if (b <= backend->max_batch()) sizes.push_back(b);
        }
        const auto tw = std::chrono::steady_clock::now();
        Status st = backend->Warmup(sizes);
        if (!st.ok()) {
          std::fprintf(stderr, "ys_gpu_bench: warm-up: %s\n", st.ToString().c_str());
          return 1;
        }
        std::fprintf(stderr,
                     "== %s precision %s graphs %d (captured %d) jit_optimize %d: warm-up %.1f s, "
                     "max_batch %d\n",
                     a.device.c_str(), precision.c_str(), graphs, backend->cuda_graph_count(), jit,
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - tw).count(),
                     backend->max_batch());
        std::vector<float> input(static_cast<size_t>(largest) * 3 * h * w);
        std::mt19937 rng(12345);
        std::uniform_real_distribution<float> u(0.f, 1.f);
        for (float& v : input) v = u(rng);
        OutputTensor out;
        for (int b : a.batches) {
          if (b > backend->max_batch()) {
            std::fprintf(stderr, "   batch %d skipped: above max_batch %d (memory guard)\n", b,
                         backend->max_batch());
            continue;
          }
          Row r;
          r.precision = precision;
          r.graphs = graphs;
          r.jit = jit;
          r.batch = b;
          BatchTiming t;
          for (int i = 0; i < a.warmup_iters; ++i) {
            st = backend->Run(input.data(), b, h, w, &out, &t);
            if (!st.ok()) {
              std::fprintf(stderr, "ys_gpu_bench: batch %d: %s\n", b, st.ToString().c_str());
              return 1;
            }
          }
          std::vector<double> lat, infer, h2d, d2h;
          const auto start = std::chrono::steady_clock::now();
          double elapsed_ms = 0;
          while (static_cast<int>(lat.size()) < a.min_iters || elapsed_ms < a.min_time_ms) {
            const auto t0 = std::chrono::steady_clock::now();
            st = backend->Run(input.data(), b, h, w, &out, &t);
            const auto t1 = std::chrono::steady_clock::now();
            if (!st.ok()) {
              std::fprintf(stderr, "ys_gpu_bench: batch %d: %s\n", b, st.ToString().c_str());
              return 1;
            }
            lat.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
            infer.push_back(t.inference_ms);
            h2d.push_back(t.h2d_ms.value_or(0));
            d2h.push_back(t.d2h_ms.value_or(0));
            r.oom |= t.oom;
            elapsed_ms = std::chrono::duration<double, std::milli>(t1 - start).count();
          }
          r.iters = static_cast<int>(lat.size());
          r.p50 = Percentile(lat, 50);
          r.p90 = Percentile(lat, 90);
          double sum = 0;
          for (double x : lat) sum += x;
          r.mean = sum / static_cast<double>(lat.size());
          r.img_per_s = 1000.0 * b * static_cast<double>(lat.size()) / elapsed_ms;
          r.infer_p50 = Percentile(infer, 50);
          r.h2d_p50 = Percentile(h2d, 50);
          r.d2h_p50 = Percentile(d2h, 50);
          std::fprintf(stderr,
                       "   batch %2d: %4d iters  p50 %8.3f ms  p90 %8.3f ms  %9.1f img/s  "
                       "(events: h2d %.3f, infer %.3f, d2h %.3f ms)%s\n",
                       b, r.iters, r.p50, r.p90, r.img_per_s, r.h2d_p50, r.infer_p50, r.d2h_p50,
                       r.oom ? "  OOM-recovered" : "");
          rows.push_back(r);
        }
      }
    }
  }
  std::string csv =
      "impl,precision,graphs,jit_optimize,batch,iters,lat_p50_ms,lat_p90_ms,lat_mean_ms,"
      "img_per_s,infer_p50_ms,h2d_p50_ms,d2h_p50_ms,oom\n";
  char line[512];
  for (const Row& r : rows) {
    std::snprintf(line, sizeof(line), "cpp,%s,%d,%d,%d,%d,%.4f,%.4f,%.4f,%.2f,%.4f,%.4f,%.4f,%d\n",
                  r.precision.c_str(), r.graphs, r.jit, r.batch, r.iters, r.p50, r.p90, r.mean,
                  r.img_per_s, r.infer_p50, r.h2d_p50, r.d2h_p50, r.oom ? 1 : 0);
    csv += line;
  }
  std::fputs(csv.c_str(), stdout);
  if (!a.csv.empty()) {
    std::ofstream f(a.csv);
    f << csv;
    if (!f) {
      std::fprintf(stderr, "ys_gpu_bench: cannot write %s\n", a.csv.c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace yoloscope

int main(int argc, char** argv) { return yoloscope::Main(argc, argv); }
