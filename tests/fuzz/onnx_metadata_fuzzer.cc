// Fuzzes model metadata as read from an uploaded or configured model file:
// ParseOnnxMetadata (a protobuf wire-format walk of ModelProto's
// metadata_props) on the input, then ApplyModelMetadata (imgsz, stride,
// names as a Python literal / YAML / JSON, batch, task, layout) on what it
// found, as the backends do when they load a model.
#include <cstddef>
#include <cstdint>
#include <string>

#include "backends/onnx_metadata.h"
#include "fuzz/fuzz_input.h"
#include "model/model_info.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  auto metadata = yoloscope::ParseOnnxMetadata(bytes);
  if (!metadata.ok()) return 0;
  yoloscope::ModelInfo info;
  if (yoloscope::ApplyModelMetadata(*metadata, &info).ok()) {
    (void)yoloscope::CheckDetectTask(info, "model.onnx");
    for (int id = -1; id <= info.num_classes(); ++id) (void)info.Label(id);
  }
  return 0;
}
