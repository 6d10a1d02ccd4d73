#include "model/model_info.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string_view>
#include <utility>

#include "model/python_literal.h"

namespace yoloscope {
namespace {

// Class ids above this are taken as a corrupt names mapping rather than a
// request to allocate a huge table (ImageNet-21k has ~21.8k classes).
constexpr int64_t kMaxClassId = 1 << 20;
// Bad values are quoted in error messages, cut to this length.
constexpr size_t kMaxQuotedValue = 120;

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string Quote(std::string_view value) {
  // Appended piecewise: `"'" + std::string(...)` trips a GCC 12 -Wrestrict
  // false positive.
  std::string out;
  out.reserve(std::min(value.size(), kMaxQuotedValue) + 5);
  out.push_back('\'');
  out.append(value.substr(0, kMaxQuotedValue));
  if (value.size() > kMaxQuotedValue) out.append("...");
  out.push_back('\'');
  return out;
}

Status BadValue(std::string_view key, std::string_view value, std::string_view expected) {
  return InvalidArgumentError("metadata key '" + std::string(key) + "': expected " +
                              std::string(expected) + ", got " + Quote(value));
}

bool ParseDigits(std::string_view s, int64_t* out) {
  s = Trim(s);
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// A class name from a literal: strings as-is; numbers are accepted because a
// YAML/JSON list like [0, 1] is a legitimate (if odd) set of names.
bool LiteralToName(const PythonLiteral& lit, std::string* name) {
  switch (lit.kind) {
    case PythonLiteral::Kind::kString:
      *name = lit.string_value;
      return true;
    case PythonLiteral::Kind::kInt:
      *name = std::to_string(lit.int_value);
      return true;
    default:
      return false;
  }
}

// Converts an {id: name} mapping to a dense table. Ultralytics always writes
// ids 0..nc-1; gaps are filled with "class<N>" rather than rejected so a
// sparse custom mapping still labels the ids it does name.
Status DenseNames(const std::vector<std::pair<int64_t, std::string>>& entries,
                  std::vector<std::string>* names) {
  int64_t max_id = -1;
  for (const auto& [id, name] : entries) max_id = std::max(max_id, id);
  std::vector<std::string> table(static_cast<size_t>(max_id + 1));
  std::vector<bool> seen(table.size(), false);
  for (const auto& [id, name] : entries) {
    if (seen[id]) return InvalidArgumentError("class id " + std::to_string(id) + " given twice");
    seen[id] = true;
    table[id] = name;
  }
  for (size_t i = 0; i < table.size(); ++i) {
    if (!seen[i]) table[i] = "class" + std::to_string(i);
  }
  *names = std::move(table);
  return Status::Ok();
}

// names from a parsed literal: a list of names, or a dict keyed by int ids or
// digit strings (JSON object keys are always strings).
Status NamesFromLiteral(const PythonLiteral& lit, std::vector<std::string>* names) {
  if (lit.kind == PythonLiteral::Kind::kList) {
    std::vector<std::string> out;
    out.reserve(lit.items.size());
    for (size_t i = 0; i < lit.items.size(); ++i) {
      std::string name;
      if (!LiteralToName(lit.items[i], &name)) {
        return InvalidArgumentError("entry " + std::to_string(i) + " is not a string");
      }
      out.push_back(std::move(name));
    }
    if (out.empty()) return InvalidArgumentError("no class names");
    *names = std::move(out);
    return Status::Ok();
  }
  if (lit.kind != PythonLiteral::Kind::kDict) {
    return InvalidArgumentError("not a list or a dict of class names");
  }
  std::vector<std::pair<int64_t, std::string>> entries;
  entries.reserve(lit.keys.size());
  for (size_t i = 0; i < lit.keys.size(); ++i) {
    const PythonLiteral& key = lit.keys[i];
    int64_t id = -1;
    if (key.kind == PythonLiteral::Kind::kInt) {
      id = key.int_value;
    } else if (key.kind != PythonLiteral::Kind::kString || !ParseDigits(key.string_value, &id)) {
      return InvalidArgumentError("key #" + std::to_string(i) + " is not a class id");
    }
    if (id < 0 || id > kMaxClassId) {
      return InvalidArgumentError("class id " + std::to_string(id) + " out of range");
    }
    std::string name;
    if (!LiteralToName(lit.items[i], &name)) {
      return InvalidArgumentError("name of class " + std::to_string(id) + " is not a string");
    }
    entries.emplace_back(id, std::move(name));
  }
  if (entries.empty()) return InvalidArgumentError("no class names");
  return DenseNames(entries, names);
}

// A positive int from "32", "32.0" or a literal int.
bool LiteralToPositiveInt(const PythonLiteral& lit, int* out) {
  int64_t v = 0;
  if (lit.kind == PythonLiteral::Kind::kInt) {
    v = lit.int_value;
  } else if (lit.kind == PythonLiteral::Kind::kFloat &&
             lit.float_value == static_cast<int64_t>(lit.float_value)) {
    v = static_cast<int64_t>(lit.float_value);
  } else {
    return false;
  }
  if (v <= 0 || v > (1 << 20)) return false;
  *out = static_cast<int>(v);
  return true;
}

Status ApplyImgsz(std::string_view value, ModelInfo* info) {
  constexpr std::string_view kExpected = "a positive int or [h, w]";
  auto lit = PythonLiteral::Parse(value);
  if (!lit.ok()) return BadValue("imgsz", value, kExpected);
  int h = 0, w = 0;
  if (LiteralToPositiveInt(*lit, &h)) {
    w = h;
  } else if (lit->kind == PythonLiteral::Kind::kList && lit->items.size() == 1 &&
             LiteralToPositiveInt(lit->items[0], &h)) {
    w = h;
  } else if (lit->kind != PythonLiteral::Kind::kList || lit->items.size() != 2 ||
             !LiteralToPositiveInt(lit->items[0], &h) || !LiteralToPositiveInt(lit->items[1], &w)) {
    return BadValue("imgsz", value, kExpected);
  }
  info->input_h = h;  // Ultralytics imgsz lists are [height, width].
  info->input_w = w;
  return Status::Ok();
}

Status ApplyStride(std::string_view value, ModelInfo* info) {
  constexpr std::string_view kExpected = "a positive int or a list of them";
  auto lit = PythonLiteral::Parse(value);
  if (!lit.ok()) return BadValue("stride", value, kExpected);
  int stride = 0;
  if (lit->kind == PythonLiteral::Kind::kList) {
    // Some exports keep the per-level strides [8, 16, 32]; the letterbox
    // alignment we need is the largest.
    for (const PythonLiteral& item : lit->items) {
      int s = 0;
      if (!LiteralToPositiveInt(item, &s)) return BadValue("stride", value, kExpected);
      stride = std::max(stride, s);
    }
  } else if (!LiteralToPositiveInt(*lit, &stride)) {
    return BadValue("stride", value, kExpected);
  }
  if (stride <= 0) return BadValue("stride", value, kExpected);
  info->stride = stride;
  return Status::Ok();
}

StatusOr<bool> ParseBoolValue(std::string_view key, std::string_view value) {
  const std::string v = ToLower(Trim(value));
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0" || v == "none" || v == "null" || v.empty()) return false;
  return BadValue(key, value, "a boolean");
}

// A string-valued view of a JSON object's members: strings as they are,
// everything else as JSON text, which PythonLiteral reads back.
Status FlattenJsonConfig(std::string_view key, const std::string& text,
                         std::map<std::string, std::string>* out) {
  try {
    const nlohmann::json json = nlohmann::json::parse(text);
    if (!json.is_object()) return BadValue(key, text, "a JSON object");
    for (const auto& [k, v] : json.items()) {
      // dump() throws on invalid UTF-8, hence inside the try.
      (*out)[k] = v.is_string() ? v.get<std::string>() : v.dump();
    }
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError("metadata key '" + std::string(key) + "': not valid JSON (" +
                                e.what() + ")");
  }
  return Status::Ok();
}

Status ApplyFlat(const std::map<std::string, std::string>& kv, ModelInfo* info) {
  bool layout_given = false;
  bool e2e_hint = false;
  bool dynamic = false;
  std::optional<int> batch;
  for (const auto& [key, value] : kv) {
    if (key == "names") {
      auto lit = PythonLiteral::Parse(value);
      std::vector<std::string> names;
      Status st = lit.ok() ? NamesFromLiteral(*lit, &names) : lit.status();
      if (!st.ok()) {
        return InvalidArgumentError("metadata key 'names': " + st.message() + " in " +
                                    Quote(value));
      }
      info->class_names = std::move(names);
      info->class_names_given = true;
    } else if (key == "imgsz") {
      YS_RETURN_IF_ERROR(ApplyImgsz(value, info));
    } else if (key == "stride") {
      YS_RETURN_IF_ERROR(ApplyStride(value, info));
    } else if (key == "task") {
      const std::string_view task = Trim(value);
      if (task.empty()) return BadValue("task", value, "a task name");
      info->task = std::string(task);
    } else if (key == "layout") {
      const std::string name = ToLower(Trim(value));
      if (name == "auto" || name == "unknown") continue;  // detect from the output shape.
      const OutputLayout layout = ParseOutputLayout(name);
      if (layout == OutputLayout::kUnknown) {
        return BadValue("layout", value, "v5, v8, e2e or auto");
      }
      info->layout = layout;
      layout_given = true;
    } else if (key == "batch") {
      auto lit = PythonLiteral::Parse(value);
      int b = 0;
      if (!lit.ok() || !LiteralToPositiveInt(*lit, &b)) {
        return BadValue("batch", value, "a positive int");
      }
      batch = b;
    } else if (key == "dynamic") {
      YS_ASSIGN_OR_RETURN(bool d, ParseBoolValue(key, value));
      dynamic = dynamic || d;
    } else if (key == "end2end") {
      YS_ASSIGN_OR_RETURN(bool e, ParseBoolValue(key, value));
      e2e_hint = e2e_hint || e;
    } else if (key == "args") {
      // Newer Ultralytics exports record the export arguments; `dynamic`
      // says whether the batch dimension is free and `nms` whether NMS was
      // baked into the graph (then the output is [B, max_det, 6]). The rest
      // is informative, so an unparsable args is ignored, not an error.
      auto lit = PythonLiteral::Parse(value);
      if (lit.ok()) {
        if (const PythonLiteral* d = lit->Find("dynamic"); d != nullptr && d->IsTruthy()) {
          dynamic = true;
        }
        if (const PythonLiteral* n = lit->Find("nms"); n != nullptr && n->IsTruthy()) {
          e2e_hint = true;
        }
      }
    }
  }
  if (e2e_hint && !layout_given) info->layout = OutputLayout::kEndToEnd;
  if (dynamic) {
    info->dynamic_batch = true;
    info->fixed_batch = 0;
  } else if (batch.has_value()) {
    // Ultralytics' static exports (the default) only accept the batch they
    // were exported with, and the metadata cannot tell a traced TorchScript
    // that happens to generalise; take the safe reading.
    info->dynamic_batch = false;
    info->fixed_batch = *batch;
  }
  return Status::Ok();
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// names from a YAML document: a mapping with `names:` (a sequence, or an
// {id: name} mapping), or a bare sequence of names.
Status NamesFromYaml(const std::string& text, std::vector<std::string>* names) {
  try {
    const YAML::Node root = YAML::Load(text);
    YAML::Node node = root;
    if (root.IsMap()) {
      node = root["names"];
      if (!node) return InvalidArgumentError("no 'names' key");
    }
    if (node.IsSequence()) {
      std::vector<std::string> out;
      for (const YAML::Node& item : node) {
        if (!item.IsScalar()) return InvalidArgumentError("a name is not a string");
        out.push_back(item.as<std::string>());
      }
      if (out.empty()) return InvalidArgumentError("no class names");
      *names = std::move(out);
      return Status::Ok();
    }
    if (node.IsMap()) {
      std::vector<std::pair<int64_t, std::string>> entries;
      for (const auto& it : node) {
        int64_t id = -1;
        const std::string key = it.first.as<std::string>();
        if (!ParseDigits(key, &id) || id < 0 || id > kMaxClassId) {
          return InvalidArgumentError("key " + Quote(key) + " is not a class id");
        }
        if (!it.second.IsScalar()) {
          return InvalidArgumentError("name of class " + key + " is not a string");
        }
        entries.emplace_back(id, it.second.as<std::string>());
      }
      if (entries.empty()) return InvalidArgumentError("no class names");
      return DenseNames(entries, names);
    }
    return InvalidArgumentError("'names' is not a list or a mapping");
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(std::string("not valid YAML: ") + e.what());
  }
}

// names from JSON (or a Python literal): an object with "names", or a bare
// list / {id: name} object.
Status NamesFromJsonText(const std::string& text, std::vector<std::string>* names) {
  YS_ASSIGN_OR_RETURN(PythonLiteral root, PythonLiteral::Parse(text));
  if (const PythonLiteral* n = root.Find("names"); n != nullptr) {
    return NamesFromLiteral(*n, names);
  }
  return NamesFromLiteral(root, names);
}

Status NamesFromLines(const std::string& text, std::vector<std::string>* names) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const std::string_view name = Trim(line);
    if (!name.empty()) out.emplace_back(name);
  }
  if (out.empty()) return InvalidArgumentError("no class names");
  *names = std::move(out);
  return Status::Ok();
}

}  // namespace

const char* OutputLayoutName(OutputLayout layout) {
  switch (layout) {
    case OutputLayout::kYoloV5:
      return "v5";
    case OutputLayout::kYoloV8:
      return "v8";
    case OutputLayout::kEndToEnd:
      return "e2e";
    case OutputLayout::kUnknown:
      break;
  }
  return "unknown";
}

OutputLayout ParseOutputLayout(const std::string& name) {
  const std::string n = ToLower(Trim(name));
  if (n == "v5" || n == "yolov5") return OutputLayout::kYoloV5;
  if (n == "v8" || n == "yolov8" || n == "v11" || n == "yolo11" || n == "yolov11") {
    return OutputLayout::kYoloV8;
  }
  if (n == "e2e" || n == "end2end" || n == "v10" || n == "yolov10") {
    return OutputLayout::kEndToEnd;
  }
  return OutputLayout::kUnknown;
}

std::string ModelInfo::Label(int class_id) const {
  if (class_id >= 0 && class_id < num_classes()) return class_names[class_id];
  return "class" + std::to_string(class_id);
}

const std::vector<std::string>& CocoClassNames() {
  static const std::vector<std::string> kNames = {
      "person",        "bicycle",      "car",
      "motorcycle",    "airplane",     "bus",
      "train",         "truck",        "boat",
      "traffic light", "fire hydrant", "stop sign",
      "parking meter", "bench",        "bird",
      "cat",           "dog",          "horse",
      "sheep",         "cow",          "elephant",
      "bear",          "zebra",        "giraffe",
      "backpack",      "umbrella",     "handbag",
      "tie",           "suitcase",     "frisbee",
      "skis",          "snowboard",    "sports ball",
      "kite",          "baseball bat", "baseball glove",
      "skateboard",    "surfboard",    "tennis racket",
      "bottle",        "wine glass",   "cup",
      "fork",          "knife",        "spoon",
      "bowl",          "banana",       "apple",
      "sandwich",      "orange",       "broccoli",
      "carrot",        "hot dog",      "pizza",
      "donut",         "cake",         "chair",
      "couch",         "potted plant", "bed",
      "dining table",  "toilet",       "tv",
      "laptop",        "mouse",        "remote",
      "keyboard",      "cell phone",   "microwave",
      "oven",          "toaster",      "sink",
      "refrigerator",  "book",         "clock",
      "vase",          "scissors",     "teddy bear",
      "hair drier",    "toothbrush",
  };
  return kNames;
}

Status ApplyModelMetadata(const std::map<std::string, std::string>& kv, ModelInfo* info) {
  if (info == nullptr) return InvalidArgumentError("ApplyModelMetadata: null info");
  // Work on a copy so a bad key leaves the caller's info untouched.
  ModelInfo updated = *info;
  std::map<std::string, std::string> flat;
  for (const char* config_key : {"config.txt", "config.json"}) {
    if (auto it = kv.find(config_key); it != kv.end()) {
      YS_RETURN_IF_ERROR(FlattenJsonConfig(config_key, it->second, &flat));
    }
  }
  // Plain keys win over the same key inside a config file.
  for (const auto& [key, value] : kv) {
    if (key != "config.txt" && key != "config.json") flat[key] = value;
  }
  YS_RETURN_IF_ERROR(ApplyFlat(flat, &updated));
  for (const auto& [key, value] : kv) updated.metadata[key] = value;
  for (const auto& [key, value] : flat) updated.metadata.emplace(key, value);
  *info = std::move(updated);
  return Status::Ok();
}

Status LoadNamesFile(const std::string& path, ModelInfo* info) {
  if (info == nullptr) return InvalidArgumentError("LoadNamesFile: null info");
  std::ifstream file(path, std::ios::binary);
  if (!file) return NotFoundError("names file not found: " + path);
  std::stringstream buffer;
  buffer << file.rdbuf();
  if (file.bad()) return DataLossError("cannot read names file: " + path);
  const std::string text = buffer.str();

  const std::string lower = ToLower(path);
  std::vector<std::string> names;
  Status st;
  if (EndsWith(lower, ".yaml") || EndsWith(lower, ".yml")) {
    st = NamesFromYaml(text, &names);
  } else if (EndsWith(lower, ".json")) {
    st = NamesFromJsonText(text, &names);
  } else {
    const std::string_view body = Trim(text);
    if (!body.empty() && (body.front() == '{' || body.front() == '[')) {
      st = NamesFromJsonText(text, &names);
    } else {
      st = NamesFromLines(text, &names);
    }
  }
  if (!st.ok()) return InvalidArgumentError("names file " + path + ": " + st.message());
  info->class_names = std::move(names);
  info->class_names_given = true;
  return Status::Ok();
}

Status CheckDetectTask(const ModelInfo& info, const std::string& path) {
  const std::string task = ToLower(Trim(info.task));
  if (task.empty() || task == "detect") return Status::Ok();
  return InvalidArgumentError(
      path + " is a '" + task + "' model (metadata task=" + info.task +
      "); yoloscope serves detection models only (task=detect). Export a detection model, "
      "e.g. `yolo export model=yolov8n.pt format=onnx` from a detect checkpoint");
}

}  // namespace yoloscope
