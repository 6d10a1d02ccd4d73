// CreateBackend: picks an implementation by name or by file extension. The
// implementations a build leaves out answer Unimplemented with the option
// that would enable them.
#include <algorithm>
#include <filesystem>

#include "backends/backend.h"
#include "backends/identity_backend.h"
#include "backends/model_file.h"
#include "backends/onnxruntime_backend.h"
#include "backends/sim_backend.h"
#ifdef YOLOSCOPE_HAVE_TORCH
#include "backends/torch_backend.h"
#endif
#ifdef YOLOSCOPE_HAVE_OPENCV_DNN
#include "backends/opencv_dnn_backend.h"
#endif

namespace yoloscope {
namespace {

std::string KindFromPath(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  if (ext == ".onnx") return "onnxruntime";
  if (ext == ".torchscript" || ext == ".pt" || ext == ".pth" || ext == ".ts") return "torch";
  if (ext == ".yaml" || ext == ".yml" || ext == ".sim") return "sim";
  return "";
}

// The engine for a file's content; the name decides only when the content
// says nothing (an empty kind then).
std::string KindFromFormat(ModelFileFormat format) {
  switch (format) {
    case ModelFileFormat::kOnnx: return "onnxruntime";
    case ModelFileFormat::kTorchScript: return "torch";
    case ModelFileFormat::kSimConfig: return "sim";
    default: return "";
  }
}

}  // namespace

std::vector<std::string> AvailableBackends() {
  std::vector<std::string> v;
#ifdef YOLOSCOPE_HAVE_TORCH
  v.push_back("torch");
#endif
#ifdef YOLOSCOPE_HAVE_OPENCV_DNN
  v.push_back("opencv");
#endif
#ifdef YOLOSCOPE_HAVE_ONNXRUNTIME
  v.push_back("onnxruntime");
#endif
  v.push_back("sim");
  v.push_back("identity");
  return v;
}

StatusOr<std::unique_ptr<Backend>> CreateBackend(const BackendConfig& config) {
  std::string kind = config.kind;
  if (kind == "ort") kind = "onnxruntime";
  if (kind == "identity") return std::unique_ptr<Backend>(new IdentityBackend(config));
  // Tell the file from its bytes: a training checkpoint gets the export
  // command instead of libtorch's "constants.pkl" stack dump.
  auto sniffed = ModelFile::Sniff(config.model_path);
  if (!sniffed.ok()) {
    if (kind == "sim") {
      auto b = SimBackend::Create(config);
      if (!b.ok()) return b.status();
      return std::unique_ptr<Backend>(std::move(b).value());
    }
    return sniffed.status();
  }
  if (sniffed->format == ModelFileFormat::kPyTorchCheckpoint) {
    return InvalidArgumentError(ModelFile::CheckpointAdvice(
        config.model_path, sniffed->ultralytics_checkpoint, /*python_has_ultralytics=*/false));
  }
  if (kind.empty() || kind == "auto") {
    kind = KindFromFormat(sniffed->format);
    if (kind.empty()) kind = KindFromPath(config.model_path);
    if (kind.empty()) {
      return InvalidArgumentError("cannot tell what kind of model '" + config.model_path +
                                  "' is (not ONNX, not TorchScript; expected .onnx, "
                                  ".torchscript, or .yaml/.sim for the simulated GPU; or pass "
                                  "--backend)");
    }
#ifndef YOLOSCOPE_HAVE_ONNXRUNTIME
    if (kind == "onnxruntime") kind = "opencv";
#endif
  }
  if (kind == "sim") {
    auto b = SimBackend::Create(config);
    if (!b.ok()) return b.status();
    return std::unique_ptr<Backend>(std::move(b).value());
  }
  if (kind == "torch") {
#ifdef YOLOSCOPE_HAVE_TORCH
    auto b = TorchBackend::Create(config);
    if (!b.ok()) return b.status();
    return std::unique_ptr<Backend>(std::move(b).value());
#else
    return UnimplementedError("this build has no torch backend (YOLOSCOPE_WITH_TORCH=OFF)");
#endif
  }
  if (kind == "opencv") {
#ifdef YOLOSCOPE_HAVE_OPENCV_DNN
    auto b = OpenCvDnnBackend::Create(config);
    if (!b.ok()) return b.status();
    return std::unique_ptr<Backend>(std::move(b).value());
#else
    return UnimplementedError("this build has no opencv backend (YOLOSCOPE_WITH_OPENCV=OFF)");
#endif
  }
  if (kind == "onnxruntime") {
#ifdef YOLOSCOPE_HAVE_ONNXRUNTIME
    auto b = OnnxRuntimeBackend::Create(config);
    if (!b.ok()) return b.status();
    return std::unique_ptr<Backend>(std::move(b).value());
#else
    return UnimplementedError(
        "this build has no onnxruntime backend (YOLOSCOPE_WITH_ONNXRUNTIME=OFF)");
#endif
  }
  return InvalidArgumentError("unknown backend '" + kind +
                              "' (onnxruntime, torch, opencv, sim, identity)");
}

}  // namespace yoloscope
