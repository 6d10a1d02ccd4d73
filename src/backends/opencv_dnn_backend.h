// OpenCvDnnBackend: runs an ONNX YOLO model on the CPU with OpenCV's DNN
// module. Model metadata (class names, imgsz, stride, layout) is read from
// the ONNX metadata_props by our own reader (OpenCV does not expose them),
// and from a sidecar names file when given.
//
// No cv type appears in this header; OpenCV exceptions are caught in the .cc.
// Thread-safety: Run() is for one thread at a time. OpenCV's thread count is
// process-wide (cv::setNumThreads); the last instance created sets it.
#pragma once

#include <memory>

#include "backends/backend.h"

namespace yoloscope {

class OpenCvDnnBackend final : public Backend {
 public:
  static StatusOr<std::unique_ptr<OpenCvDnnBackend>> Create(const BackendConfig& config);
  ~OpenCvDnnBackend() override;

  const ModelInfo& info() const override { return info_; }
  std::string name() const override { return "opencv"; }
  std::string device() const override { return "cpu"; }
  int max_batch() const override { return max_batch_; }
  Status Run(const float* input, int batch, int height, int width, OutputTensor* out,
             BatchTiming* timing) override;

 private:
  struct Impl;  // holds the cv::dnn::Net
  OpenCvDnnBackend() = default;

  std::unique_ptr<Impl> impl_;
  ModelInfo info_;
  int max_batch_ = 1;
};

}  // namespace yoloscope
