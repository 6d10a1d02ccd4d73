// Test helpers: the generated models' manifest (build/models/manifest.json)
// and raw float32 reference files. Header-only; tests only.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace yoloscope::testing {

// The generated models (build/models); YOLOSCOPE_TEST_MODELS_DIR overrides.
inline std::string ModelsDir() {
  const char* env = std::getenv("YOLOSCOPE_TEST_MODELS_DIR");
  return env && *env ? env : YOLOSCOPE_MODELS_DIR;
}
// The sample photos: YOLOSCOPE_PHOTO_SOURCE_DIR at configure time (Debian's
// darknet package's /usr/share/darknet/data, or the GPU host's carried copy).
inline std::string PhotosDir() { return YOLOSCOPE_PHOTOS_DIR; }

struct TestModel {
  std::string name, layout;
  int imgsz_h = 0, imgsz_w = 0, num_classes = 0;
  std::string torchscript, onnx;  // absolute paths; onnx empty when not loadable
  bool onnx_opencv_loadable = false;
  std::string ref_input, ref_output;
  std::vector<int64_t> ref_input_shape, ref_output_shape;
  double tol_abs = 1e-3, tol_rel = 1e-3;
};

inline std::vector<TestModel> LoadManifest() {
  std::ifstream in(ModelsDir() + "/manifest.json");
  std::vector<TestModel> out;
  if (!in) return out;
  nlohmann::json j = nlohmann::json::parse(in);
  for (const auto& m : j.at("models")) {
    TestModel t;
    t.name = m.at("name");
    t.layout = m.value("layout", "");
    t.imgsz_h = m.at("imgsz")[0];
    t.imgsz_w = m.at("imgsz")[1];
    t.num_classes = m.value("num_classes", 80);
    t.torchscript = ModelsDir() + "/" + m.at("torchscript").get<std::string>();
    if (m.contains("onnx") && m["onnx"].is_string()) {
      t.onnx = ModelsDir() + "/" + m["onnx"].get<std::string>();
    }
    t.onnx_opencv_loadable = m.value("onnx_opencv_loadable", !t.onnx.empty());
    t.ref_input = ModelsDir() + "/" + m.at("ref_input").get<std::string>();
    t.ref_output = ModelsDir() + "/" + m.at("ref_output").get<std::string>();
    t.ref_input_shape = m.at("ref_input_shape").get<std::vector<int64_t>>();
    t.ref_output_shape = m.at("ref_output_shape").get<std::vector<int64_t>>();
    if (m.contains("tolerance")) {
      t.tol_abs = m["tolerance"].value("abs", t.tol_abs);
      t.tol_rel = m["tolerance"].value("rel", t.tol_rel);
    }
    out.push_back(std::move(t));
  }
  return out;
}

inline std::vector<float> ReadFloats(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  std::vector<float> v;
  if (!in) return v;
  auto bytes = static_cast<size_t>(in.tellg());
  in.seekg(0);
  v.resize(bytes / sizeof(float));
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
  return v;
}

// The generated model called `name` in the given format ("torchscript" or
// "onnx"), or "" when absent.
inline std::string ModelPath(const std::string& name, const std::string& format) {
  for (const auto& m : LoadManifest()) {
    if (m.name == name) return format == "onnx" ? m.onnx : m.torchscript;
  }
  return "";
}

inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace yoloscope::testing
