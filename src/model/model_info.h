// ModelInfo: what a loaded model says about itself. Backends fill it from the
// metadata that travels with the model file (TorchScript extra file
// "config.txt", ONNX metadata_props), from a sidecar names file, and from the
// output shape they observe at warm-up.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace yoloscope {

// Raw network output layouts the decoder understands.
enum class OutputLayout {
  kUnknown = 0,
  kYoloV5,    // [B, N, 5 + nc]: cx, cy, w, h, objectness, class scores (anchor-based).
  kYoloV8,    // [B, 4 + nc, N]: cx, cy, w, h, class scores (anchor-free; v8/v11).
  kEndToEnd,  // [B, K, 6]: x1, y1, x2, y2, score, class (NMS inside the model).
};

const char* OutputLayoutName(OutputLayout layout);        // "v5", "v8", "e2e", "unknown"
OutputLayout ParseOutputLayout(const std::string& name);  // inverse; kUnknown if not known.
// ParseOutputLayout also accepts, case-insensitively, "yolov5", "v8", "yolov8", "v11",
// "yolo11", "yolov11", "end2end", "v10", "yolov10" and "unknown".

// The 80 COCO class names, in Ultralytics order. A function-local static:
// built once, thread-safe, never destroyed before its users.
const std::vector<std::string>& CocoClassNames();

struct ModelInfo {
  std::string name;  // e.g. "yolov8n"; defaults to the file stem.
  std::string task = "detect";
  int input_w = 640;  // network input width in pixels.
  int input_h = 640;
  int stride = 32;                               // largest stride (letterbox alignment).
  OutputLayout layout = OutputLayout::kUnknown;  // kUnknown: detect from the output shape.
  std::vector<std::string> class_names = CocoClassNames();  // index = class id.
  // True once class_names came from the model's metadata or a names file
  // rather than the COCO default; DetectLayout then requires the output's
  // class channel count to match num_classes().
  bool class_names_given = false;
  bool dynamic_batch = true;
  int fixed_batch = 0;                          // > 0 when the model only accepts this batch.
  std::map<std::string, std::string> metadata;  // raw key/value pairs as found.
  // Things a user should be told about how the model was loaded (an imgsz
  // rounded up to the stride, a metadata value the graph overrode); the CLI
  // prints them and `model inspect` lists them.
  std::vector<std::string> notes;

  int num_classes() const { return static_cast<int>(class_names.size()); }
  // Name of a class id, or "class<N>" when out of range.
  std::string Label(int class_id) const;
};

// Fills `info` from metadata key/values in the Ultralytics convention:
//   names  : Python dict repr "{0: 'person', 1: 'bicycle'}" or JSON dict/list
//   imgsz  : "[640, 640]" (h, w) or "640"
//   stride : "32";  layout : "v5" | "v8" | "e2e";  batch : "1";  task
// Also accepts the whole set as one JSON object under key "config.txt" or
// as JSON text (TorchScript extra files). Unknown keys are kept in metadata.
//
// Details (decisions, see model_info.cc for why):
// - Keys "config.txt"/"config.json" hold a JSON object; its keys are applied
//   first, then the plain keys (which win on conflict).
// - names: Python dict/list repr or JSON dict/list. Keys may be ints or
//   digit strings; gaps in the ids are filled with "class<N>".
// - batch: N sets fixed_batch = N and dynamic_batch = false, unless the
//   metadata says the export was dynamic ("dynamic" key or args['dynamic']).
//   A backend that can see the real input shape may override this.
// - layout: also "auto"/"unknown" (detect from the output shape).
// - end2end: True, or args['nms']: True, imply layout e2e unless `layout` is given.
// - Every key/value (config.txt entries flattened in) is copied to metadata.
// On error returns InvalidArgument naming the key and the bad value, and
// leaves *info unchanged.
Status ApplyModelMetadata(const std::map<std::string, std::string>& kv, ModelInfo* info);

// OK when info.task is "detect" (or empty); otherwise InvalidArgument naming
// the task and `path`: yoloscope decodes detection heads only, and a
// segment/pose/obb/classify head would otherwise be mis-decoded as boxes.
Status CheckDetectTask(const ModelInfo& info, const std::string& path);

// Reads a sidecar names file: one class name per line (.names/.txt), or a
// YAML/JSON with a `names:` mapping or list. Replaces info->class_names.
// Format by extension: .yaml/.yml -> YAML, .json -> JSON, anything else ->
// one name per line (blank lines skipped, surrounding whitespace trimmed),
// unless the text starts with '{' or '[' (then a JSON/Python literal).
// Sets info->class_names_given. NotFound when the file cannot be opened,
// InvalidArgument when it holds no names; *info is unchanged on error.
Status LoadNamesFile(const std::string& path, ModelInfo* info);

}  // namespace yoloscope
