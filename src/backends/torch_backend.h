// TorchBackend: runs a TorchScript YOLO model through libtorch.
//
// Device handling lives here and nowhere else: "cpu" runs on the host;
// "cuda:N" moves the module and each batch to that GPU when the linked
// libtorch has CUDA (Debian's has not: Create then fails with Unimplemented).
// Model metadata is read from the TorchScript extra file "config.txt"
// (Ultralytics convention) and, when given, a sidecar names file.
//
// No torch type appears in this header; every libtorch exception is caught in
// torch_backend.cc and returned as a Status.
// Thread-safety: Run() is for one thread at a time (see Backend). Note that
// libtorch's intra-op thread count is process-wide: the last instance
// created sets it.
#pragma once

#include <memory>

#include "backends/backend.h"

namespace yoloscope {

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

 private:
  struct Impl;  // holds the torch::jit::Module and device
  TorchBackend() = default;

  std::unique_ptr<Impl> impl_;
  ModelInfo info_;
  std::string device_ = "cpu";
  int max_batch_ = 1;
};

}  // namespace yoloscope
