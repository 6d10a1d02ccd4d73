// TorchCudaRunner: the CUDA path of TorchBackend. Internal to the torch
// backend: included by torch_backend.cc and torch_cuda_runner.cc only, never
// by code outside src/backends. This header names libtorch types but no CUDA
// type, so the CPU-only build compiles it too; torch_cuda_runner.cc (the only
// translation unit that includes CUDA headers) is built when
// YOLOSCOPE_WITH_CUDA is ON (YOLOSCOPE_HAVE_CUDA=1).
//
// Per instance (one TorchBackend object = one runner):
// - one CUDA stream from libtorch's pool on cuda:N; every copy, kernel and
//   event of the instance goes to it;
// - pinned host staging buffers for the input and the output, grown to the
//   largest batch seen and reused (no per-request allocation), and a device
//   input buffer likewise; H2D and D2H are cudaMemcpyAsync on the stream;
// - H2D, inference and D2H timed with CUDA events (device time, ms) into
//   BatchTiming; caching-allocator statistics read after the forward with
//   the output still on the device (BatchTiming::memory);
// - a CUDA OOM is recovered inside Run(): empty the cache and retry once,
//   then split the batch in halves recursively (BatchTiming::oom,
//   alloc_retries), like SimBackend; ResourceExhausted when even one image
//   does not fit (the server answers 507);
// - a start-up memory guard: the allocator is capped at
//   memory_fraction x device memory, one and two images are run to measure
//   activation bytes per image, and max_batch() is lowered to what fits
//   (logged to stderr);
// - optional CUDA graphs, one per (batch, height, width), captured after
//   warm-up on the instance's stream into one memory pool shared by the
//   instance's graphs, reading a static device input and writing a static
//   device output (both sized for max_batch()); a failed capture leaves that
//   size on the plain path. CaptureGraphs() captures a list of sizes (from
//   TorchBackend::Warmup); a caller that never warms up gets each size
//   captured on its third Run() (after two plain, warming runs).
//
// No exception leaves the runner: c10::Error and std::exception are caught
// and returned as Status. Thread-safety: one thread at a time (the Backend
// contract); the caching allocator's fraction is process-wide per device.
#pragma once

#include <torch/script.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "backends/backend.h"
#include "backends/torch_backend.h"
#include "common/status.h"

namespace yoloscope {

// The detections tensor of a model output: Ultralytics' TorchScript returns a
// tensor, training-style exports a tuple/list whose first element is it.
// Defined in torch_backend.cc (shared by the CPU and CUDA paths).
StatusOr<at::Tensor> TorchFirstTensor(const c10::IValue& v);

struct TorchCudaOptions {
  int device_index = 0;
  bool half = false;             // module already cast to half; inputs are cast on the device
  double memory_fraction = 0.8;  // (0, 1]
  bool cuda_graphs = false;
  int max_batch = 32;                // asked for; the memory guard may lower it
  int input_h = 640, input_w = 640;  // the size the memory guard measures at
};

class TorchCudaRunner {
 public:
  // `module` is on cuda:options.device_index (cast to half when
  // options.half), in eval mode; not owned, must outlive the runner.
  // Runs the memory guard (a few forwards). ResourceExhausted when not even
  // one image fits; Internal on a CUDA error.
  static StatusOr<std::unique_ptr<TorchCudaRunner>> Create(torch::jit::Module* module,
                                                           const TorchCudaOptions& options);
  ~TorchCudaRunner();
  TorchCudaRunner(const TorchCudaRunner&) = delete;
  TorchCudaRunner& operator=(const TorchCudaRunner&) = delete;

  // Largest batch that fits (<= options.max_batch, >= 1).
  int max_batch() const;
  const TorchCudaMemoryEstimate& memory_estimate() const;

  // The Backend::Run contract; `batch` <= max_batch() is the caller's check.
  Status Run(const float* input, int batch, int height, int width, OutputTensor* out,
             BatchTiming* timing);

  // Captures one CUDA graph per batch size (sizes above max_batch() and
  // sizes already captured are skipped), largest first. Call after a
  // warm-up over the same sizes. A size whose capture fails is logged to
  // stderr and keeps the plain path. Returns the number of graphs now held.
  int CaptureGraphs(const std::vector<int>& batch_sizes, int height, int width);
  int graph_count() const;

  // Changes the caching allocator's cap for this device (process-wide) and
  // empties the cache so the new cap applies at once. max_batch() is not
  // re-measured. InvalidArgument outside (0, 1].
  Status SetMemoryFraction(double fraction);

 private:
  struct State;
  explicit TorchCudaRunner(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

}  // namespace yoloscope
