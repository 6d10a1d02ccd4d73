// The CUDA path of TorchBackend (see torch_cuda_runner.h). The only
// translation unit that includes CUDA headers; built when YOLOSCOPE_WITH_CUDA
// is ON. It uses the subset of the libtorch API that exists in both 1.13 and
// 2.x (caching-allocator statistics are read through fields present in both;
// the CUDA graph capture mode argument only where it exists).
#include "backends/torch_cuda_runner.h"

#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#include <torch/script.h>
#include <torch/version.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace yoloscope {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;
// Index of the aggregate (all pools) entry of a caching-allocator StatArray
// (StatType::AGGREGATE; the enum moved namespaces in 2.x, its value did not).
constexpr size_t kAggregateStat = 0;
// The memory guard keeps this share of the budget for fragmentation.
constexpr double kGuardSafety = 0.85;

std::string Truncated(std::string what) {
  if (what.size() > 400) what = what.substr(0, 400) + "...";
  return what;
}

bool IsOomMessage(const std::string& what) {
  return what.find("out of memory") != std::string::npos ||
         what.find("OutOfMemory") != std::string::npos ||
         what.find("CUBLAS_STATUS_ALLOC_FAILED") != std::string::npos ||
         what.find("CUDNN_STATUS_ALLOC_FAILED") != std::string::npos;
}

Status CudaStatus(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return Status::Ok();
  cudaGetLastError();  // clear a non-sticky error so the next call starts clean
  std::string msg =
      std::string(what) + ": " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")";
  if (err == cudaErrorMemoryAllocation) return ResourceExhaustedError("CUDA out of memory: " + msg);
  return InternalError("CUDA error in " + msg);
}

#define YS_CUDA_RETURN_IF_ERROR(expr) YS_RETURN_IF_ERROR(CudaStatus((expr), #expr))

// A CUDA event with timing enabled; created by Init().
class CudaEvent {
 public:
  CudaEvent() = default;
  ~CudaEvent() {
    if (event_ != nullptr) cudaEventDestroy(event_);
  }
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;

  // `blocking`: a host thread waiting on it sleeps instead of spinning (the
  // serving process has preprocessing threads to run meanwhile).
  Status Init(bool blocking) {
    return CudaStatus(
        cudaEventCreateWithFlags(&event_, blocking ? cudaEventBlockingSync : cudaEventDefault),
        "cudaEventCreateWithFlags");
  }
  Status Record(cudaStream_t stream) {
    return CudaStatus(cudaEventRecord(event_, stream), "cudaEventRecord");
  }
  Status Synchronize() { return CudaStatus(cudaEventSynchronize(event_), "cudaEventSynchronize"); }
  // Milliseconds from `start` to this event; both recorded and complete.
  double MsSince(const CudaEvent& start) const {
    float ms = 0;
    if (cudaEventElapsedTime(&ms, start.event_, event_) != cudaSuccess) {
      cudaGetLastError();
      return 0;
    }
    return ms;
  }

 private:
  cudaEvent_t event_ = nullptr;
};

// Page-locked host memory, grown on demand, never shrunk.
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  ~PinnedBuffer() {
    if (data_ != nullptr) cudaFreeHost(data_);
  }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;

  Status Reserve(size_t floats) {
    if (floats <= capacity_) return Status::Ok();
    if (data_ != nullptr) {
      cudaFreeHost(data_);  // synchronizes with the device: only while growing
      data_ = nullptr;
      capacity_ = 0;
    }
    void* p = nullptr;
    cudaError_t err = cudaHostAlloc(&p, floats * sizeof(float), cudaHostAllocDefault);
    if (err != cudaSuccess) {
      cudaGetLastError();
      return ResourceExhaustedError("cannot allocate " +
                                    std::to_string(floats * sizeof(float) / kMiB) +
                                    " MiB of pinned host memory: " + cudaGetErrorString(err));
    }
    data_ = static_cast<float*>(p);
    capacity_ = floats;
    return Status::Ok();
  }
  float* data() const { return data_; }

 private:
  float* data_ = nullptr;
  size_t capacity_ = 0;
};

using GraphPool = decltype(at::cuda::graph_pool_handle());

struct Graph {
  std::unique_ptr<at::cuda::CUDAGraph> graph;
  std::vector<int64_t> out_shape;  // shape of the batch's output
  int64_t out_numel = 0;
};

}  // namespace

struct TorchCudaRunner::State {
  torch::jit::Module* module = nullptr;
  TorchCudaOptions opt;
  c10::DeviceIndex index = 0;
  c10::Device device{c10::kCUDA, 0};
  std::optional<c10::cuda::CUDAStream> stream;
  int max_batch = 1;
  TorchCudaMemoryEstimate estimate;

  PinnedBuffer h_in, h_out;
  at::Tensor d_in;   // device float32 staging for the input, grown; graphs read from it
  at::Tensor d_out;  // device float32 static output of the graphs, grown
  CudaEvent ev_start, ev_h2d, ev_infer, ev_done;

  std::map<std::tuple<int, int, int>, Graph> graphs;  // (batch, h, w)
  std::optional<GraphPool> graph_pool;
  // Lazy capture for callers that do not call Warmup(): plain runs per
  // (batch, h, w), and the keys whose capture failed (never retried).
  std::map<std::tuple<int, int, int>, int> plain_runs;
  std::set<std::tuple<int, int, int>> capture_failed;

  cudaStream_t raw_stream() const { return stream->stream(); }

  // The model on a device input of float32 [n, 3, h, w]; a float32
  // contiguous output on the device. Runs on the current stream.
  at::Tensor Forward(const at::Tensor& x) {
    at::Tensor in = opt.half ? x.to(at::kHalf) : x;
    c10::IValue result = module->forward({in});
    StatusOr<at::Tensor> y = TorchFirstTensor(result);
    if (!y.ok()) throw std::runtime_error(y.status().message());
    at::Tensor out = *y;
    if (out.scalar_type() != at::kFloat) out = out.to(at::kFloat);
    return out.contiguous();
  }

  // Grows the device input buffer; a new buffer invalidates the graphs
  // (they read the old address).
  void EnsureDeviceInput(size_t floats) {
    if (d_in.defined() && static_cast<size_t>(d_in.numel()) >= floats) return;
    graphs.clear();
    d_in = at::Tensor();
    d_in = at::empty({static_cast<int64_t>(floats)},
                     at::TensorOptions().dtype(at::kFloat).device(device));
  }

  void EnsureDeviceOutput(size_t floats) {
    if (d_out.defined() && static_cast<size_t>(d_out.numel()) >= floats) return;
    graphs.clear();
    d_out = at::Tensor();
    d_out = at::empty({static_cast<int64_t>(floats)},
                      at::TensorOptions().dtype(at::kFloat).device(device));
  }

  DeviceMemoryStats ReadMemory() const {
    DeviceMemoryStats m;
    const auto st = c10::cuda::CUDACachingAllocator::getDeviceStats(index);
    m.allocated_mb = static_cast<double>(st.allocated_bytes[kAggregateStat].current) / kMiB;
    m.reserved_mb = static_cast<double>(st.reserved_bytes[kAggregateStat].current) / kMiB;
    m.inactive_split_mb =
        static_cast<double>(st.inactive_split_bytes[kAggregateStat].current) / kMiB;
    m.alloc_retries = st.num_alloc_retries;
    m.oom_count = st.num_ooms;
    size_t free_bytes = 0, total_bytes = 0;
    if (cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) {
      m.used_mb = static_cast<double>(total_bytes - free_bytes) / kMiB;
      m.total_mb = static_cast<double>(total_bytes) / kMiB;
    } else {
      cudaGetLastError();
    }
    return m;
  }

  // One attempt at images [offset, offset + n) of the staged batch (already
  // in h_in). OOM comes back as ResourceExhausted, other failures as
  // Internal. Adds the event times to `timing` and writes the images'
  // output into `out` (shape set by the caller from `*per_image_shape`).
  Status RunChunk(int offset, int n, int h, int w, int batch, OutputTensor* out,
                  BatchTiming* timing, std::vector<int64_t>* per_image_shape) {
    const size_t per_in = static_cast<size_t>(3) * h * w;
    bool started = false;
    try {
      YS_RETURN_IF_ERROR(ev_start.Record(raw_stream()));
      EnsureDeviceInput(per_in * n);
      YS_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(d_in.data_ptr<float>(), h_in.data() + per_in * offset,
                                              per_in * n * sizeof(float), cudaMemcpyHostToDevice,
                                              raw_stream()));
      YS_RETURN_IF_ERROR(ev_h2d.Record(raw_stream()));
      started = true;
      at::Tensor x = d_in.narrow(0, 0, static_cast<int64_t>(per_in) * n).view({n, 3, h, w});
      at::Tensor y;
      auto it = graphs.find({n, h, w});
      if (it != graphs.end()) {
        it->second.graph->replay();
        y = d_out.narrow(0, 0, it->second.out_numel).view(it->second.out_shape);
      } else {
        y = Forward(x);
      }
      YS_RETURN_IF_ERROR(ev_infer.Record(raw_stream()));
      timing->memory = ReadMemory();  // the output is still on the device
      if (y.dim() < 1 || y.size(0) != n) {
        return InvalidArgumentError("model output's first dimension is not the batch (shape " +
                                    std::to_string(y.dim()) + "-d, first " +
                                    std::to_string(y.dim() ? y.size(0) : 0) + ")");
      }
      const size_t per_out = static_cast<size_t>(y.numel() / n);
      std::vector<int64_t> shape(y.sizes().begin() + 1, y.sizes().end());
      if (per_image_shape->empty()) {
        *per_image_shape = shape;
        out->data.resize(per_out * batch);
      } else if (*per_image_shape != shape) {
        return InternalError("output shape changed between the parts of a split batch");
      }
      YS_RETURN_IF_ERROR(h_out.Reserve(per_out * n));
      YS_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(h_out.data(), y.data_ptr<float>(),
                                              per_out * n * sizeof(float), cudaMemcpyDeviceToHost,
                                              raw_stream()));
      YS_RETURN_IF_ERROR(ev_done.Record(raw_stream()));
      y = at::Tensor();  // freed in stream order; the copy above still reads it safely
      YS_RETURN_IF_ERROR(ev_done.Synchronize());
      timing->h2d_ms = timing->h2d_ms.value_or(0) + ev_h2d.MsSince(ev_start);
      timing->inference_ms += ev_infer.MsSince(ev_h2d);
      timing->d2h_ms = timing->d2h_ms.value_or(0) + ev_done.MsSince(ev_infer);
      std::memcpy(out->data.data() + per_out * offset, h_out.data(), per_out * n * sizeof(float));
      return Status::Ok();
    } catch (const std::exception& e) {
      std::string what = e.what();
      cudaGetLastError();
      if (started) {
        // Count the failed part of the forward as inference time.
        if (ev_infer.Record(raw_stream()).ok() && ev_infer.Synchronize().ok()) {
          timing->inference_ms += ev_infer.MsSince(ev_h2d);
        }
      }
      if (IsOomMessage(what)) {
        return ResourceExhaustedError("CUDA out of memory: " + Truncated(what));
      }
      return InternalError("torch inference failed on " + device.str() + ": " + Truncated(what));
    }
  }

  // Like SimGpuModel: retry once after emptying the cache, then split.
  Status RunRecovering(int offset, int n, int h, int w, int batch, OutputTensor* out,
                       BatchTiming* timing, std::vector<int64_t>* per_image_shape) {
    Status last;
    for (int attempt = 0; attempt < 2; ++attempt) {
      last = RunChunk(offset, n, h, w, batch, out, timing, per_image_shape);
      if (last.ok() || last.code() != StatusCode::kResourceExhausted) return last;
      timing->oom = true;
      if (attempt == 0) {
        EmptyCache();
        ++timing->alloc_retries;
      }
    }
    if (n == 1) {
      return ResourceExhaustedError("CUDA out of memory on " + device.str() +
                                    ": even a batch of 1 does not fit (" + last.message() + ")");
    }
    ++timing->alloc_retries;  // split in halves
    const int first = (n + 1) / 2;
    YS_RETURN_IF_ERROR(RunRecovering(offset, first, h, w, batch, out, timing, per_image_shape));
    return RunRecovering(offset + first, n - first, h, w, batch, out, timing, per_image_shape);
  }

  void EmptyCache() {
    try {
      c10::cuda::CUDACachingAllocator::emptyCache();
    } catch (const std::exception&) {
    }
    cudaGetLastError();
  }

  // Start-up memory guard (see the header). Runs on the instance's stream.
  Status MeasureMemory() {
    const int h = opt.input_h, w = opt.input_w;
    const int64_t in_bytes = int64_t{3} * h * w * static_cast<int64_t>(sizeof(float));
    auto stats = [&] { return c10::cuda::CUDACachingAllocator::getDeviceStats(index); };
    auto sync = [&] {
      return CudaStatus(cudaStreamSynchronize(raw_stream()), "cudaStreamSynchronize");
    };
    int64_t peak[2] = {0, 0};
    int64_t out_bytes_per_image = 0;
    try {
      c10::InferenceMode guard;
      at::Tensor x = at::zeros({2, 3, h, w}, at::TensorOptions().dtype(at::kFloat).device(device));
      // First call: cuDNN/cuBLAS handles and workspaces, one-time allocations.
      { at::Tensor y = Forward(x.narrow(0, 0, 1)); }
      YS_RETURN_IF_ERROR(sync());
      for (int n = 1; n <= 2; ++n) {
        c10::cuda::CUDACachingAllocator::resetPeakStats(index);
        const int64_t base = stats().allocated_bytes[kAggregateStat].current;
        {
          at::Tensor y = Forward(x.narrow(0, 0, n));
          out_bytes_per_image = static_cast<int64_t>(y.numel() / n * sizeof(float));
        }
        YS_RETURN_IF_ERROR(sync());
        peak[n - 1] = stats().allocated_bytes[kAggregateStat].peak - base;
      }
    } catch (const std::exception& e) {
      cudaGetLastError();
      if (IsOomMessage(e.what())) {
        EmptyCache();
        return ResourceExhaustedError("CUDA out of memory on " + device.str() +
                                      " while measuring one image: " + Truncated(e.what()));
      }
      return InternalError("torch inference failed on " + device.str() + ": " +
                           Truncated(e.what()));
    }
    int64_t per_image = std::max<int64_t>(peak[1] - peak[0], 1);
    const int64_t fixed = std::max<int64_t>(peak[0] - per_image, 0);
    per_image += in_bytes;                                  // d_in
    if (opt.cuda_graphs) per_image += out_bytes_per_image;  // d_out
    size_t free_bytes = 0, total_bytes = 0;
    YS_CUDA_RETURN_IF_ERROR(cudaMemGetInfo(&free_bytes, &total_bytes));
    const auto st = stats();
    const int64_t reserved = st.reserved_bytes[kAggregateStat].current;
    const int64_t allocated = st.allocated_bytes[kAggregateStat].current;
    const int64_t cap =
        static_cast<int64_t>(opt.memory_fraction * static_cast<double>(total_bytes));
    const int64_t limit = std::min<int64_t>(cap, reserved + static_cast<int64_t>(free_bytes));
    const int64_t budget = std::max<int64_t>(limit - allocated, 0);
    const double usable = kGuardSafety * static_cast<double>(budget) - static_cast<double>(fixed);
    const int fit =
        usable <= 0
            ? 0
            : static_cast<int>(std::min<double>(usable / static_cast<double>(per_image), 1 << 20));
    estimate.per_image_bytes = per_image;
    estimate.fixed_bytes = fixed;
    estimate.budget_bytes = budget;
    estimate.fit_batch = fit;
    max_batch = std::clamp(fit, 1, std::max(1, opt.max_batch));
    std::fprintf(stderr,
                 "torch backend %s: memory guard: %.1f MiB per image + %.1f MiB fixed, budget "
                 "%.0f MiB (gpu_memory_fraction %.2f of %.0f MiB, %.0f MiB free) -> fits %d; "
                 "max_batch %d%s\n",
                 device.str().c_str(), per_image / kMiB, fixed / kMiB, budget / kMiB,
                 opt.memory_fraction, total_bytes / kMiB, free_bytes / kMiB, fit, max_batch,
                 max_batch < opt.max_batch
                     ? (" (lowered from " + std::to_string(opt.max_batch) + ")").c_str()
                     : "");
    if (fit < 1) {
      std::fprintf(stderr,
                   "torch backend %s: warning: not even one image fits the budget; batches of 1 "
                   "will rely on OOM recovery\n",
                   device.str().c_str());
    }
    return Status::Ok();
  }

  // Captures the graph of one batch size; d_in/d_out are large enough.
  Status Capture(int n, int h, int w) {
    const size_t per_in = static_cast<size_t>(3) * h * w;
    YS_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(raw_stream()));
    auto g = std::make_unique<at::cuda::CUDAGraph>();
    std::vector<int64_t> shape;
    int64_t numel = 0;
    bool began = false;
    try {
      c10::InferenceMode guard;
      at::Tensor x = d_in.narrow(0, 0, static_cast<int64_t>(per_in) * n).view({n, 3, h, w});
      if (!graph_pool) graph_pool = at::cuda::graph_pool_handle();
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
      // Only this thread's CUDA calls may break the capture (other instances
      // keep running).
      g->capture_begin(*graph_pool, cudaStreamCaptureModeThreadLocal);
#else
      g->capture_begin(*graph_pool);
#endif
      began = true;
      {
        at::Tensor y = Forward(x);
        shape.assign(y.sizes().begin(), y.sizes().end());
        numel = y.numel();
        if (numel > d_out.numel()) throw std::runtime_error("static output buffer too small");
        d_out.narrow(0, 0, numel).view(y.sizes()).copy_(y);
      }
      began = false;
      g->capture_end();
      // One replay, checked, before the graph serves requests.
      g->replay();
      YS_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(raw_stream()));
    } catch (const std::exception& e) {
      std::string what = e.what();
      if (began) {
        try {
          g->capture_end();
        } catch (const std::exception&) {
        }
      }
      // Make sure the stream has left capture mode whatever happened above.
      cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
      if (cudaStreamIsCapturing(raw_stream(), &status) == cudaSuccess &&
          status != cudaStreamCaptureStatusNone) {
        cudaGraph_t broken = nullptr;
        cudaStreamEndCapture(raw_stream(), &broken);
        if (broken != nullptr) cudaGraphDestroy(broken);
      }
      cudaGetLastError();
      g.reset();
      cudaStreamSynchronize(raw_stream());
      cudaGetLastError();
      return InternalError(Truncated(what));
    }
    graphs[{n, h, w}] = Graph{std::move(g), std::move(shape), numel};
    return Status::Ok();
  }
};

TorchCudaRunner::TorchCudaRunner(std::unique_ptr<State> state) : s_(std::move(state)) {}

TorchCudaRunner::~TorchCudaRunner() {
  if (!s_ || !s_->stream) return;
  try {
    c10::cuda::CUDAGuard device_guard(s_->index);
    cudaStreamSynchronize(s_->raw_stream());
    s_->graphs.clear();
    s_->d_in = at::Tensor();
    s_->d_out = at::Tensor();
  } catch (const std::exception&) {
  }
  cudaGetLastError();
}

StatusOr<std::unique_ptr<TorchCudaRunner>> TorchCudaRunner::Create(
    torch::jit::Module* module, const TorchCudaOptions& options) {
  if (module == nullptr) return InvalidArgumentError("no module");
  auto s = std::make_unique<State>();
  s->module = module;
  s->opt = options;
  s->index = static_cast<c10::DeviceIndex>(options.device_index);
  s->device = c10::Device(c10::kCUDA, s->index);
  s->max_batch = std::max(1, options.max_batch);
  try {
    c10::cuda::CUDAGuard device_guard(s->index);
    s->stream = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, s->index);
    c10::cuda::CUDAStreamGuard stream_guard(*s->stream);
    YS_RETURN_IF_ERROR(s->ev_start.Init(false));
    YS_RETURN_IF_ERROR(s->ev_h2d.Init(false));
    YS_RETURN_IF_ERROR(s->ev_infer.Init(false));
    YS_RETURN_IF_ERROR(s->ev_done.Init(true));
    // The allocator is initialised by now (the module's weights are on the
    // device); the fraction is process-wide for this device.
    c10::cuda::CUDACachingAllocator::setMemoryFraction(options.memory_fraction, s->index);
    YS_RETURN_IF_ERROR(s->MeasureMemory());
    // Staging for the largest batch up front, so serving allocates nothing.
    const size_t per_in = static_cast<size_t>(3) * options.input_h * options.input_w;
    YS_RETURN_IF_ERROR(s->h_in.Reserve(per_in * s->max_batch));
  } catch (const std::exception& e) {
    cudaGetLastError();
    return InternalError("cannot set up " + s->device.str() + ": " + Truncated(e.what()));
  }
  return std::unique_ptr<TorchCudaRunner>(new TorchCudaRunner(std::move(s)));
}

int TorchCudaRunner::max_batch() const { return s_->max_batch; }

const TorchCudaMemoryEstimate& TorchCudaRunner::memory_estimate() const { return s_->estimate; }

int TorchCudaRunner::graph_count() const { return static_cast<int>(s_->graphs.size()); }

Status TorchCudaRunner::Run(const float* input, int batch, int height, int width, OutputTensor* out,
                            BatchTiming* timing) {
  if (s_->opt.cuda_graphs) {
    // A size run plainly twice (warmed up) is captured on its third run.
    const auto key = std::make_tuple(batch, height, width);
    if (s_->graphs.count(key) == 0 && s_->capture_failed.count(key) == 0 &&
        ++s_->plain_runs[key] > 2) {
      CaptureGraphs({batch}, height, width);
    }
  }
  *timing = BatchTiming();
  timing->h2d_ms = 0.0;
  timing->d2h_ms = 0.0;
  try {
    c10::cuda::CUDAGuard device_guard(s_->index);
    c10::cuda::CUDAStreamGuard stream_guard(*s_->stream);
    c10::InferenceMode guard;
    const size_t per_in = static_cast<size_t>(3) * height * width;
    YS_RETURN_IF_ERROR(s_->h_in.Reserve(per_in * batch));
    std::memcpy(s_->h_in.data(), input, per_in * batch * sizeof(float));
    std::vector<int64_t> per_image_shape;
    Status st = s_->RunRecovering(0, batch, height, width, batch, out, timing, &per_image_shape);
    if (!st.ok()) {
      timing->memory = s_->ReadMemory();
      return st;
    }
    out->shape.assign(1, batch);
    out->shape.insert(out->shape.end(), per_image_shape.begin(), per_image_shape.end());
    return Status::Ok();
  } catch (const std::exception& e) {
    cudaGetLastError();
    return InternalError("torch inference failed on " + s_->device.str() + ": " +
                         Truncated(e.what()));
  }
}

Status TorchCudaRunner::SetMemoryFraction(double fraction) {
  if (!(fraction > 0 && fraction <= 1)) {
    return InvalidArgumentError("gpu memory fraction must be in (0, 1], got " +
                                std::to_string(fraction));
  }
  try {
    c10::cuda::CUDAGuard device_guard(s_->index);
    YS_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(s_->raw_stream()));
    c10::cuda::CUDACachingAllocator::setMemoryFraction(fraction, s_->index);
    s_->EmptyCache();
    s_->opt.memory_fraction = fraction;
  } catch (const std::exception& e) {
    cudaGetLastError();
    return InternalError("cannot set the memory fraction of " + s_->device.str() + ": " +
                         Truncated(e.what()));
  }
  return Status::Ok();
}

int TorchCudaRunner::CaptureGraphs(const std::vector<int>& batch_sizes, int height, int width) {
  std::vector<int> sizes;
  for (int b : batch_sizes) {
    if (b >= 1 && b <= s_->max_batch && s_->graphs.count({b, height, width}) == 0) {
      sizes.push_back(b);
    }
  }
  std::sort(sizes.begin(), sizes.end(), std::greater<int>());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  if (sizes.empty()) return graph_count();
  try {
    c10::cuda::CUDAGuard device_guard(s_->index);
    c10::cuda::CUDAStreamGuard stream_guard(*s_->stream);
    c10::InferenceMode guard;
    // Static buffers for max_batch() (what the memory guard budgeted) up
    // front: growing them later would invalidate the graphs.
    const size_t per_in = static_cast<size_t>(3) * height * width;
    const int capacity = std::max(sizes.front(), s_->max_batch);
    s_->EnsureDeviceInput(per_in * capacity);
    int64_t per_out = 0;
    {
      at::Tensor y = s_->Forward(
          s_->d_in.narrow(0, 0, static_cast<int64_t>(per_in)).view({1, 3, height, width}));
      per_out = y.numel();
    }
    s_->EnsureDeviceOutput(static_cast<size_t>(per_out) * capacity);
    cudaStreamSynchronize(s_->raw_stream());
    // The graphs get their own memory pool: hand the plain path's cached
    // blocks back first, so activations are held once, not twice.
    s_->EmptyCache();
  } catch (const std::exception& e) {
    cudaGetLastError();
    std::fprintf(stderr, "torch backend %s: CUDA graphs disabled: %s\n", s_->device.str().c_str(),
                 Truncated(e.what()).c_str());
    for (int b : sizes) s_->capture_failed.insert({b, height, width});
    return graph_count();
  }
  for (int b : sizes) {
    c10::cuda::CUDAGuard device_guard(s_->index);
    c10::cuda::CUDAStreamGuard stream_guard(*s_->stream);
    Status st = s_->Capture(b, height, width);
    if (!st.ok()) {
      s_->capture_failed.insert({b, height, width});
      std::fprintf(stderr,
                   "torch backend %s: CUDA graph capture for batch %d failed (%s); that batch "
                   "size runs without a graph\n",
                   s_->device.str().c_str(), b, st.message().c_str());
    }
  }
  return graph_count();
}

}  // namespace yoloscope
