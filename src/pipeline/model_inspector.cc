#include "pipeline/model_inspector.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "backends/model_file.h"
#include "model/yolo_decoder.h"

namespace yoloscope {
namespace {

std::string JoinShape(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::vector<std::string> PreprocessingSteps(const ModelReport& r) {
  return {
      "decode the whole image (JPEG via libjpeg-turbo, ISLOW IDCT, fancy upsampling; PNG/BMP/WebP "
      "via OpenCV), apply EXIF orientation",
      "letterbox to " + std::to_string(r.input_h) + "x" + std::to_string(r.input_w) +
          " (h x w): r = min(h/H, w/W), resize to round(W*r) x round(H*r) with bilinear "
          "interpolation (cv2.INTER_LINEAR), centre, pad with 114",
      "RGB channel order, float32 = pixel / 255, NCHW",
      "boxes are mapped back to original pixels with the same gain and padding (scale_boxes)",
      "this is Ultralytics' own preprocessing for an exported model; `--fast-decode` trades it "
      "for a DCT-domain downscaled decode of large JPEGs (docs/models.md)",
  };
}

}  // namespace

StatusOr<ModelReport> ModelInspector::Inspect(const BackendConfig& config) {
  ModelReport r;
  r.path = config.model_path;
  auto sniffed = ModelFile::Sniff(config.model_path);
  if (!sniffed.ok()) return sniffed.status();
  r.format = ModelFileFormatName(sniffed->format);
  r.size_bytes = sniffed->size_bytes;
  if (sniffed->format == ModelFileFormat::kPyTorchCheckpoint) {
    r.error = ModelFile::CheckpointAdvice(config.model_path, sniffed->ultralytics_checkpoint,
                                          /*python_has_ultralytics=*/false);
    return r;
  }
  BackendConfig bc = config;
  bc.max_batch = std::max(1, bc.max_batch);
  auto backend = CreateBackend(bc);
  if (!backend.ok()) {
    r.error = backend.status().ToString();
    return r;
  }
  Backend& b = **backend;
  const ModelInfo& info = b.info();
  r.backend = b.name();
  auto engine = info.metadata.find("engine");
  r.engine = engine != info.metadata.end() ? engine->second : b.name();
  r.task = info.task;
  r.input_w = info.input_w;
  r.input_h = info.input_h;
  r.stride = info.stride;
  r.dynamic_batch = info.dynamic_batch;
  r.fixed_batch = info.fixed_batch;
  r.max_batch = b.max_batch();
  r.class_names = info.class_names;
  r.metadata = info.metadata;
  r.notes = info.notes;
  r.preprocessing = PreprocessingSteps(r);
  // One real run tells the output layout the decoder will use.
  std::vector<float> zeros(static_cast<size_t>(3) * info.input_h * info.input_w, 0.f);
  OutputTensor out;
  BatchTiming timing;
  Status run = b.Run(zeros.data(), 1, info.input_h, info.input_w, &out, &timing);
  if (!run.ok()) {
    r.error = "the model loads but a trial run failed: " + run.ToString();
    return r;
  }
  r.output_shape = out.shape;
  auto layout = YoloDecoder::DetectLayout(out.shape, info);
  if (!layout.ok()) {
    r.error = "output " + JoinShape(out.shape) +
              " is not a YOLO detection layout yoloscope decodes: " + layout.status().ToString();
    return r;
  }
  r.layout = OutputLayoutName(*layout);
  r.loads = true;
  return r;
}

std::string ModelReport::ToText() const {
  std::ostringstream o;
  o << "file      " << path << " (" << size_bytes << " bytes)\n";
  o << "format    " << format << "\n";
  if (!backend.empty()) o << "engine    " << engine << "\n";
  if (!task.empty()) o << "task      " << task << "\n";
  if (!layout.empty()) {
    o << "layout    " << layout << " (output " << JoinShape(output_shape) << " at batch 1)\n";
  }
  if (input_w > 0) {
    o << "input     " << input_h << "x" << input_w << " (h x w), stride " << stride << "\n";
    o << "batch     "
      << (fixed_batch > 0 ? "fixed " + std::to_string(fixed_batch) + " (static export)"
                          : std::string("dynamic"))
      << ", max " << max_batch << "\n";
  }
  if (!class_names.empty() && input_w > 0) {
    o << "classes   " << class_names.size() << ":";
    for (size_t i = 0; i < class_names.size() && i < 10; ++i)
      o << " " << i << "=" << class_names[i];
    if (class_names.size() > 10) o << " ...";
    o << "\n";
  }
  if (!metadata.empty()) {
    o << "metadata\n";
    for (const auto& [k, v] : metadata) {
      std::string shown = v.size() > 160 ? v.substr(0, 160) + "..." : v;
      o << "  " << k << ": " << shown << "\n";
    }
  }
  if (!preprocessing.empty()) {
    o << "preprocessing (parity with Ultralytics)\n";
    for (const auto& step : preprocessing) o << "  - " << step << "\n";
  }
  for (const auto& n : notes) o << "note      " << n << "\n";
  o << "status    " << (loads ? "loads and runs" : "does NOT load") << "\n";
  if (!loads && !error.empty()) o << "why       " << error << "\n";
  return o.str();
}

std::string ModelReport::ToJson() const {
  nlohmann::json j = {{"file", path},
                      {"size_bytes", size_bytes},
                      {"format", format},
                      {"loads", loads},
                      {"backend", backend},
                      {"engine", engine},
                      {"task", task},
                      {"layout", layout},
                      {"output_shape", output_shape},
                      {"imgsz", {input_h, input_w}},
                      {"stride", stride},
                      {"dynamic_batch", dynamic_batch},
                      {"fixed_batch", fixed_batch},
                      {"max_batch", max_batch},
                      {"names", class_names},
                      {"metadata", metadata},
                      {"notes", notes},
                      {"preprocessing", preprocessing}};
  if (!loads) j["error"] = error;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace yoloscope
