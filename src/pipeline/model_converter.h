// ModelConverter: turns an Ultralytics training checkpoint (best.pt) into a
// file yoloscope runs, by running Ultralytics' own exporter in a Python that
// has it (`python3 -c 'import ultralytics'` works). yoloscope never loads
// pickles itself and never downloads anything; without Ultralytics the
// caller gets the export command to run elsewhere.
//
// Stateless; each call runs a child process and waits for it.
#pragma once

#include <string>

#include "common/status.h"

namespace yoloscope {

struct ConvertOptions {
  std::string checkpoint;       // the .pt file
  std::string format = "onnx";  // "onnx" | "torchscript"
  int imgsz = 640;              // export size (square)
  bool dynamic = false;         // ONNX: symbolic batch/height/width axes
  int opset = 0;                // ONNX opset; 0 = the exporter's default
  std::string python = "python3";
};

class ModelConverter {
 public:
  // True when `python -c 'import ultralytics'` exits 0.
  static bool PythonHasUltralytics(const std::string& python);

  // Runs the export; returns the path of the written file (Ultralytics
  // writes it beside the checkpoint). FailedPrecondition when Python lacks
  // Ultralytics (the message carries the command to run by hand),
  // InvalidArgument for bad options, Internal when the exporter fails.
  static StatusOr<std::string> Convert(const ConvertOptions& options);
};

}  // namespace yoloscope
