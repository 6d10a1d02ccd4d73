// ModelInspector: answers "what is this model file and will yoloscope run
// it?" for `yoloscope model inspect`: format (from the bytes), the engine
// that would run it, output layout (from one real run on a blank batch),
// classes, input size, batch, metadata, the preprocessing that gives
// Ultralytics' network input, and, when it would not load, why.
//
// Stateless apart from the backend it builds for the trial run; thread-safe
// to call from several threads with different files.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "common/status.h"

namespace yoloscope {

struct ModelReport {
  std::string path;
  std::string format;  // "onnx", "torchscript", "pytorch-checkpoint", "sim", "unknown"
  int64_t size_bytes = 0;
  bool loads = false;
  std::string error;    // why it does not load (when !loads)
  std::string backend;  // "onnxruntime", "torch", "opencv", ...
  std::string engine;   // e.g. "onnxruntime 1.31.1 (/path/libonnxruntime.so.1)"
  std::string task;
  std::string layout;                 // "v8", "e2e", "v5" (from the output of a trial run)
  std::vector<int64_t> output_shape;  // batch 1
  int input_w = 0, input_h = 0, stride = 0;
  bool dynamic_batch = true;
  int fixed_batch = 0;  // > 0: the export fixed the batch
  int max_batch = 0;
  std::vector<std::string> class_names;
  std::map<std::string, std::string> metadata;
  std::vector<std::string> notes;
  std::vector<std::string> preprocessing;  // one line per step

  std::string ToText() const;
  std::string ToJson() const;  // one JSON object
};

class ModelInspector {
 public:
  // Never fails for a readable file: a model that does not load is a report
  // with loads == false and the reason. NotFound only for a missing file.
  static StatusOr<ModelReport> Inspect(const BackendConfig& config);
};

}  // namespace yoloscope
