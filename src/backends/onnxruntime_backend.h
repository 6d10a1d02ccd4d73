// OnnxRuntimeBackend: runs an ONNX YOLO model on the CPU with ONNX Runtime,
// loaded at run time (see onnxruntime_library.h). This is the default engine
// for .onnx files: it runs Ultralytics' exports exactly as `yolo export
// format=onnx` writes them (simplified or not, opset 12-17, static or
// dynamic axes, v8-style and end-to-end heads), which OpenCV 4.6's importer
// refuses (docs/models.md).
//
// Shapes come from the graph itself, which wins over the metadata:
// - input [N, 3, H, W]: a fixed H x W is the model's input size (an --imgsz
//   that differs is refused, naming the export's size); a symbolic one takes
//   the metadata's imgsz or the configured override;
// - a fixed N is honoured: max_batch() is N, and smaller batches are padded
//   with zeros to N (the padding rows are dropped from the output), so a
//   static batch-1 export never sees a batch of 2.
// Metadata (class names, imgsz, stride, task, end2end) is read from the
// ONNX metadata_props by our own reader; a model whose task is not `detect`
// is refused with a clear message.
//
// Thread-safety: Run() and Warmup() are for one thread at a time (Backend's
// contract); each instance owns its session. Intra-op threads are per
// session (num_threads; 0 = one per core).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backends/backend.h"

namespace yoloscope {

class OnnxSession;

class OnnxRuntimeBackend final : public Backend {
 public:
  static StatusOr<std::unique_ptr<OnnxRuntimeBackend>> Create(const BackendConfig& config);
  ~OnnxRuntimeBackend() override;

  const ModelInfo& info() const override { return info_; }
  std::string name() const override { return "onnxruntime"; }
  std::string device() const override { return "cpu"; }
  int max_batch() const override { return max_batch_; }
  Status Run(const float* input, int batch, int height, int width, OutputTensor* out,
             BatchTiming* timing) override;

  // "onnxruntime 1.31.1 (/path/libonnxruntime.so.1)".
  const std::string& engine_description() const { return engine_; }

 private:
  OnnxRuntimeBackend() = default;

  std::unique_ptr<OnnxSession> session_;
  ModelInfo info_;
  std::string engine_;
  int max_batch_ = 1;
  int fixed_batch_ = 0;        // > 0: the graph takes exactly this batch
  std::vector<float> padded_;  // reused when a batch is padded to fixed_batch_
  std::vector<int64_t> dims_;  // reused input shape
};

}  // namespace yoloscope
