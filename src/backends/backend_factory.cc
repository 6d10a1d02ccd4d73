// CreateBackend: picks an implementation by name or by file extension. The
// implementations a build leaves out answer Unimplemented with the option
// that would enable them.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#if defined(YOLOSCOPE_HAVE_TORCH) && defined(YOLOSCOPE_TORCH_MODULE_PATH)
#include <dlfcn.h>
#endif

#include "backends/backend.h"
#include "backends/identity_backend.h"
#include "backends/model_file.h"
#include "backends/onnxruntime_backend.h"
#include "backends/sim_backend.h"
#if defined(YOLOSCOPE_HAVE_TORCH) && !defined(YOLOSCOPE_TORCH_MODULE_PATH)
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

#if defined(YOLOSCOPE_HAVE_TORCH) && defined(YOLOSCOPE_TORCH_MODULE_PATH)
// The torch backend lives in its own shared module (libys_torch_backend.so,
// YOLOSCOPE_TORCH_MODULE), loaded here on the first torch backend: libtorch
// is then loaded and initialised only by commands that run a TorchScript
// model. Looked for at $YOLOSCOPE_TORCH_BACKEND_MODULE, then where the build
// wrote it, then next to the executable. Never unloaded.
using CreateTorchFn = Backend* (*)(const BackendConfig*, Status*);

StatusOr<CreateTorchFn> LoadTorchModule() {
  static std::once_flag once;
  static CreateTorchFn create = nullptr;
  static std::string error;
  std::call_once(once, [] {
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("YOLOSCOPE_TORCH_BACKEND_MODULE"); env && *env) {
      candidates.push_back(env);
    }
    candidates.push_back(YOLOSCOPE_TORCH_MODULE_PATH);
    std::error_code ec;
    auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
      candidates.push_back((self.parent_path() / YOLOSCOPE_TORCH_MODULE_NAME).string());
      candidates.push_back((self.parent_path() / "../lib" / YOLOSCOPE_TORCH_MODULE_NAME).string());
    }
    for (const auto& path : candidates) {
      if (!std::filesystem::exists(path, ec)) continue;
      // RTLD_GLOBAL: the backend looks up openblas_set_num_threads with
      // RTLD_DEFAULT, as when libtorch was linked in.
      void* dl = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
      if (!dl) {
        error = "cannot load the torch backend module " + path + ": " + dlerror();
        return;
      }
      create = reinterpret_cast<CreateTorchFn>(dlsym(dl, "yoloscope_create_torch_backend"));
      if (!create) error = path + " has no yoloscope_create_torch_backend";
      return;
    }
    error = "the torch backend module " YOLOSCOPE_TORCH_MODULE_NAME
            " was not found (looked at YOLOSCOPE_TORCH_BACKEND_MODULE, " YOLOSCOPE_TORCH_MODULE_PATH
            " and next to the executable)";
  });
  if (!create) return UnavailableError(error);
  return create;
}
#endif

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
#if defined(YOLOSCOPE_HAVE_TORCH) && defined(YOLOSCOPE_TORCH_MODULE_PATH)
    auto create = LoadTorchModule();
    if (!create.ok()) return create.status();
    Status status;
    Backend* b = (*create)(&config, &status);
    if (!b) return status;
    return std::unique_ptr<Backend>(b);
#elif defined(YOLOSCOPE_HAVE_TORCH)
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
