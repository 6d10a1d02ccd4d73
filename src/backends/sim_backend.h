// SimBackend: `--backend sim`, a SIMULATED GPU for tests and demos on
// machines without one. It runs no model: each Run() asks a SimGpuModel
// (sim_gpu_model.h) how long the batch would take and what it would do to
// device memory, writes a fake but valid YOLOv8-layout output, and really
// waits for the simulated time on its Clock, so the server's timing path is
// the real one. Every record it produces says backend "sim", device "sim:0".
// It is a model, never a measurement of hardware (docs/simulated-gpu.md).
//
// Model file: a YAML (configs/sim/*.yaml) named by BackendConfig::model_path;
// or a SimGpuConfig struct.
//
// Input: the Backend contract (contiguous NCHW float32); input must be
// non-null, 1 <= batch <= max_batch, height and width multiples of 32 (>= 32).
// At a size other than the model's input size, activation memory and
// compute scale with the pixel count (a crude assumption).
//
// Output: [B, 4 + 80, N] float32, v8 layout, N = anchors of strides 8/16/32
// for the input size (8400 at 640). Everything is 0 except, per image,
// output.detections_per_image (default 3) non-overlapping boxes (cx, cy, w,
// h in input pixels) with one class score each (0.9, 0.8, ... >= 0.3).
// Boxes and classes are derived from a hash of a few input pixels, so an
// image gives the same detections whatever its place in the batch.
// Buffer reuse: when handed back the same buffer it filled last time (same
// data pointer and size), only the cells it wrote are cleared instead of the
// whole tensor (the caller must not write into the output).
//
// OOM: see SimGpuModel: BatchTiming.oom / alloc_retries / memory are filled;
// a batch that cannot run even at size 1 returns ResourceExhausted (timing
// still filled, after waiting for the time the failed attempts took).
//
// Thread-safety: one SimBackend per thread (Backend contract). Instances
// made with NewInstance() share one SimGpuModel (one simulated device).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "backends/sim_gpu_model.h"
#include "common/clock.h"
#include "telemetry/telemetry_source.h"

namespace yoloscope {

class SimBackend final : public Backend {
 public:
  // Reads the YAML model file config.model_path. NotFound for a missing
  // file, InvalidArgument for bad content. `clock` is not owned and must
  // outlive every instance; nullptr = a RealClock owned by the model.
  static StatusOr<std::unique_ptr<SimBackend>> Create(const BackendConfig& config,
                                                      Clock* clock = nullptr);
  // From a config struct (config.model_path is ignored).
  static StatusOr<std::unique_ptr<SimBackend>> Create(const BackendConfig& config,
                                                      const SimGpuConfig& sim,
                                                      Clock* clock = nullptr);

  // Another instance (for another worker thread) on the same simulated GPU:
  // shared memory, allocator, event timeline and device queue.
  std::unique_ptr<SimBackend> NewInstance() const;
  std::unique_ptr<Backend> NewSiblingInstance() const override { return NewInstance(); }
  // A telemetry source reading this simulated GPU (gpu_id 0, "sim:0").
  std::unique_ptr<TelemetrySource> NewTelemetrySource() const override;
  // The simulated device (shared by NewInstance() siblings).
  SimGpuModel& gpu() const { return *gpu_; }

  const ModelInfo& info() const override { return info_; }
  std::string name() const override { return "sim"; }
  std::string device() const override { return "sim:0"; }
  int max_batch() const override { return max_batch_; }
  Status Run(const float* input, int batch, int height, int width, OutputTensor* out,
             BatchTiming* timing) override;

 private:
  SimBackend(std::shared_ptr<SimGpuModel> gpu, const ModelInfo& info, int max_batch);
  // Writes the fake detections; see the header comment.
  void FillOutput(const float* input, int batch, int height, int width, OutputTensor* out);

  std::shared_ptr<SimGpuModel> gpu_;
  ModelInfo info_;
  int max_batch_;
  // Cells written into the last output buffer (for the cheap reuse path).
  const float* last_data_ = nullptr;
  size_t last_size_ = 0;
  std::vector<size_t> written_;
};

// TelemetrySource over a SimGpuModel: utilisation (busy fraction over the
// interval since the previous Sample(), or the contention episode's
// utilisation when higher), memory used/total, this process's vs other
// processes' memory, SM clock, a simple power/temperature model, PCIe rates
// and the throttle reasons of active throttling episodes. The same
// interface and units as NvmlTelemetry. Sample() from one thread at a time.
class SimTelemetrySource final : public TelemetrySource {
 public:
  explicit SimTelemetrySource(std::shared_ptr<SimGpuModel> gpu);

  StatusOr<std::vector<DeviceSample>> Sample() override;
  std::string kind() const override { return "sim"; }
  std::string description() const override;

 private:
  std::shared_ptr<SimGpuModel> gpu_;
  int64_t last_ns_;
};

}  // namespace yoloscope
