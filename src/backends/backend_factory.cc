// CreateBackend: picks an implementation by name or by file extension. The
// implementations a build leaves out answer Unimplemented with the option
// that would enable them.
#include <algorithm>
#include <filesystem>

#include "backends/backend.h"
#include "backends/identity_backend.h"
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
  if (ext == ".onnx") return "opencv";
  if (ext == ".torchscript" || ext == ".pt" || ext == ".pth" || ext == ".ts") return "torch";
  if (ext == ".yaml" || ext == ".yml" || ext == ".sim") return "sim";
  return "";
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
  v.push_back("sim");
  v.push_back("identity");
  return v;
}

StatusOr<std::unique_ptr<Backend>> CreateBackend(const BackendConfig& config) {
  std::string kind = config.kind;
  if (kind.empty() || kind == "auto") {
    kind = KindFromPath(config.model_path);
    if (kind.empty()) {
      return InvalidArgumentError("cannot tell the backend from the model file name '" +
                                  config.model_path +
                                  "' (expected .onnx, .torchscript/.pt, or .yaml/.sim for the simulated GPU; or pass --backend)");
    }
  }
  if (kind == "identity") return std::unique_ptr<Backend>(new IdentityBackend(config));
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
  return InvalidArgumentError("unknown backend '" + kind + "' (torch, opencv, sim, identity)");
}

}  // namespace yoloscope
