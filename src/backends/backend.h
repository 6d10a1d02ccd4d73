// Backend: one loaded model on one device, able to run a batch of
// preprocessed images. Implementations: TorchBackend (TorchScript, CPU/CUDA),
// OpenCvDnnBackend (ONNX on CPU), SimBackend (a simulated GPU, labelled so),
// IdentityBackend (test backend returning an empty result).
//
// Contract:
// - Input is a contiguous NCHW float32 batch, RGB, values in [0, 1], of shape
//   [batch, 3, height, width]; the caller owns it and keeps it alive for the call.
// - Output is the model's raw first output, copied into `out` (its buffer is
//   reused across calls; no allocation once it has grown to the largest batch).
// - No library type (torch::Tensor, cv::Mat) appears in this interface, and
//   no exception leaves an implementation: failures come back as Status.
// - Thread-safety: one Backend object is used by one thread at a time (a
//   server runs N instances as N objects). info()/name()/device() are const
//   and safe from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "model/model_info.h"
#include "telemetry/telemetry_source.h"

namespace yoloscope {

struct BackendConfig {
  // "onnxruntime" | "torch" | "opencv" | "sim" | "identity" | "auto" (by file
  // content: ONNX -> onnxruntime, TorchScript -> torch, .yaml/.sim -> sim).
  std::string kind = "auto";
  std::string model_path;         // .onnx, .torchscript, .yaml (sim)
  // onnxruntime only: the libonnxruntime.so.1 to load; "" = the one found at
  // configure time (OnnxRuntimeLibrary::DefaultPath()).
  std::string onnxruntime_library;
  std::string names_path;         // optional sidecar class-names file
  std::string device = "cpu";     // "cpu" or "cuda:N"
  std::string precision = "fp32"; // "fp32" | "fp16" (CUDA only)
  // Intra-op threads; 0 = number of cores. Torch: > 0 also caps OpenBLAS's
  // own pool and libtorch's inter-op pool (process-wide).
  int num_threads = 0;
  // Override the model's input size (0 = from metadata/graph). A size that is
  // not a multiple of the model's stride is rounded up, as Ultralytics'
  // check_imgsz does (ModelInfo::notes says so). Models whose graph fixes the
  // size (static ONNX, TorchScript traced at one size) refuse a different one.
  int input_w = 0, input_h = 0;
  int max_batch = 32;             // largest batch the caller will send
  // torch only: let libtorch's profiling graph executor re-optimize the graph
  // for each new input shape. Measured on this 2-core host with yolov8n 640:
  // first run 5.1 s with it, 1.06 s without, no steady-state difference, so
  // it is off. Process-wide in libtorch.
  bool torch_jit_optimize = false;
  // CUDA only (torch): cap on this process's caching allocator as a fraction
  // of the device's memory, in (0, 1] (torch.cuda.set_per_process_memory_fraction;
  // process-wide per device). The start-up memory guard lowers max_batch() to
  // what fits inside it.
  double gpu_memory_fraction = 0.8;
  // CUDA only (torch): capture one CUDA graph per batch size during Warmup()
  // and replay it for batches of that size (falls back to plain runs when a
  // capture fails).
  bool cuda_graphs = false;
};

// A dense float tensor with a reusable buffer.
struct OutputTensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return shape.empty() ? 0 : n;
  }
};

// Device memory facts at the end of a batch; fields are empty when unknown
// (never a made-up zero).
struct DeviceMemoryStats {
  std::optional<double> allocated_mb, reserved_mb, inactive_split_mb, used_mb, total_mb;
  std::optional<int64_t> alloc_retries, oom_count;
};

// Per-batch timing measured by the backend (device events on GPU, host clock
// on CPU). Milliseconds; h2d/d2h stay empty on CPU where no copy exists.
struct BatchTiming {
  std::optional<double> h2d_ms;
  double inference_ms = 0;
  std::optional<double> d2h_ms;
  bool oom = false;             // an OOM happened and was recovered from in this batch
  int alloc_retries = 0;        // splits/retries performed for this batch
  DeviceMemoryStats memory;
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual const ModelInfo& info() const = 0;
  virtual std::string name() const = 0;    // "torch", "opencv", "sim", "identity"
  virtual std::string device() const = 0;  // "cpu", "cuda:0", "sim:0"
  virtual int max_batch() const = 0;       // largest batch this instance accepts

  // Runs `batch` images of height x width (see the contract above).
  virtual Status Run(const float* input, int batch, int height, int width, OutputTensor* out,
                     BatchTiming* timing) = 0;

  // Runs each batch size once on zeros so later calls pay no first-run cost.
  virtual Status Warmup(const std::vector<int>& batch_sizes);

  // Another instance on the same device that shares what instances of one
  // device share (the simulated GPU's memory). nullptr: build a fresh one
  // with CreateBackend.
  virtual std::unique_ptr<Backend> NewSiblingInstance() const { return nullptr; }

  // A telemetry source for this backend's device when the backend models the
  // device itself (the simulated GPU); nullptr: use NVML or process telemetry.
  virtual std::unique_ptr<TelemetrySource> NewTelemetrySource() const { return nullptr; }
};

// Builds the backend named by config.kind ("auto": .onnx -> opencv,
// .torchscript/.pt/.pth -> torch, .yaml/.sim -> sim). Returns NotFound for a
// missing file, InvalidArgument for a file that is not a model, Unimplemented
// for a backend this build left out.
StatusOr<std::unique_ptr<Backend>> CreateBackend(const BackendConfig& config);

// Applies config.input_w/h to *info (see BackendConfig): rounds up to a
// multiple of info->stride (adding a note), and when !resizable refuses a
// size other than the model's with InvalidArgument naming both sizes.
Status ApplyInputSizeOverride(const BackendConfig& config, bool resizable, ModelInfo* info);

// Which backends this build contains, e.g. {"torch", "opencv", "sim", "identity"}.
std::vector<std::string> AvailableBackends();

}  // namespace yoloscope
