// TorchBackend: runs a TorchScript YOLO model through libtorch.
//
// Device handling lives here and nowhere else: "cpu" runs on the host;
// "cuda:N" runs on that GPU through TorchCudaRunner (torch_cuda_runner.h:
// per-instance stream, pinned staging buffers, CUDA-event timing, allocator
// statistics, OOM recovery by splitting the batch, a start-up memory guard
// that may lower max_batch(), optional CUDA graphs). The CUDA path exists
// when the build was configured with YOLOSCOPE_WITH_CUDA=ON against a CUDA
// libtorch; otherwise (Debian's libtorch) Create answers Unimplemented for
// "cuda:N". Model metadata is read from the TorchScript extra file
// "config.txt" (Ultralytics convention) and, when given, a sidecar names file.
//
// CPU threads: num_threads > 0 sets libtorch's intra-op threads and also caps
// OpenBLAS's own pool (openblas_set_num_threads, looked up at run time) and,
// once per process, libtorch's inter-op pool. All three are process-wide: the
// last instance created sets them.
//
// No torch type appears in this header; every libtorch exception is caught in
// torch_backend.cc / torch_cuda_runner.cc and returned as a Status.
// Thread-safety: Run() and Warmup() are for one thread at a time (see
// Backend); the accessors are const and safe from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "backends/backend.h"

namespace yoloscope {

// What the CUDA memory guard measured at start-up (bytes).
struct TorchCudaMemoryEstimate {
  int64_t per_image_bytes = 0;  // forward activations + staging per image
  int64_t fixed_bytes = 0;      // batch-independent part of one forward
  int64_t budget_bytes = 0;     // what the allocator could still take (fraction cap, free memory)
  int fit_batch = 0;            // largest batch that fits the budget (before the max_batch cap)
};

class TorchBackend final : public Backend {
 public:
  static StatusOr<std::unique_ptr<TorchBackend>> Create(const BackendConfig& config);
  ~TorchBackend() override;

  const ModelInfo& info() const override { return info_; }
  std::string name() const override { return "torch"; }
  std::string device() const override { return device_; }
  int max_batch() const override { return max_batch_; }
  Status Run(const float* input, int batch, int height, int width, OutputTensor* out,
             BatchTiming* timing) override;
  // Backend::Warmup, then (CUDA with cuda_graphs) one graph capture per size.
  Status Warmup(const std::vector<int>& batch_sizes) override;

  // CUDA only: the start-up memory guard's measurement; empty on CPU.
  std::optional<TorchCudaMemoryEstimate> cuda_memory_estimate() const;
  // CUDA only: batch sizes that replay a captured CUDA graph (0 on CPU).
  int cuda_graph_count() const;
  // CUDA only: a new cap on the caching allocator (process-wide for the
  // device, like BackendConfig::gpu_memory_fraction), e.g. to make room for a
  // co-tenant; the cache is emptied so it applies at once; max_batch() stays.
  // InvalidArgument outside (0, 1], FailedPrecondition on CPU.
  Status SetGpuMemoryFraction(double fraction);

 private:
  struct Impl;  // holds the torch::jit::Module, the device and the CUDA runner
  TorchBackend() = default;

  std::unique_ptr<Impl> impl_;
  ModelInfo info_;
  std::string device_ = "cpu";
  int max_batch_ = 1;
  bool cuda_graphs_ = false;
};

}  // namespace yoloscope
