// The only translation unit that includes libtorch (it is slow to compile).
#include "backends/torch_backend.h"

#include <ATen/Parallel.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

namespace yoloscope {

struct TorchBackend::Impl {
  torch::jit::Module module;
  torch::Device device{torch::kCPU};
  bool half = false;
};

namespace {

double MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Ultralytics' TorchScript returns a tensor; training-style exports return a
// tuple whose first element is the detections.
StatusOr<torch::Tensor> FirstTensor(const c10::IValue& v) {
  if (v.isTensor()) return v.toTensor();
  if (v.isTuple()) {
    const auto& elems = v.toTupleRef().elements();
    if (!elems.empty()) return FirstTensor(elems[0]);
  }
  if (v.isList()) {
    auto list = v.toListRef();
    if (!list.empty()) return FirstTensor(list[0]);
  }
  if (v.isTensorList()) {
    auto list = v.toTensorList();
    if (list.size() > 0) return list.get(0);
  }
  return InvalidArgumentError("model output is not a tensor (type " + v.tagKind() + ")");
}

}  // namespace

TorchBackend::~TorchBackend() = default;

StatusOr<std::unique_ptr<TorchBackend>> TorchBackend::Create(const BackendConfig& config) {
  if (!std::filesystem::exists(config.model_path)) {
    return NotFoundError("model file not found: " + config.model_path);
  }
  std::unique_ptr<TorchBackend> b(new TorchBackend());
  b->impl_ = std::make_unique<Impl>();
  b->max_batch_ = std::max(1, config.max_batch);
  int threads = config.num_threads > 0 ? config.num_threads
                                       : static_cast<int>(std::thread::hardware_concurrency());
  try {
    at::set_num_threads(std::max(1, threads));
    torch::jit::setGraphExecutorOptimize(config.torch_jit_optimize);
    if (config.device.rfind("cuda", 0) == 0) {
      if (!torch::cuda::is_available()) {
        return UnimplementedError("device " + config.device +
                                  " requested but this libtorch has no usable CUDA");
      }
      b->impl_->device = torch::Device(config.device);
      b->impl_->half = config.precision == "fp16";
    } else if (config.device != "cpu") {
      return InvalidArgumentError("unknown device '" + config.device + "' (cpu or cuda:N)");
    }
    b->device_ = config.device;

    torch::jit::ExtraFilesMap extra{{"config.txt", ""}};
    b->impl_->module = torch::jit::load(config.model_path, b->impl_->device, extra);
    b->impl_->module.eval();
    if (b->impl_->half) b->impl_->module.to(torch::kHalf);

    std::map<std::string, std::string> kv;
    if (!extra["config.txt"].empty()) kv["config.txt"] = extra["config.txt"];
    b->info_.name = std::filesystem::path(config.model_path).stem().string();
    b->info_.class_names = CocoClassNames();
    YS_RETURN_IF_ERROR(ApplyModelMetadata(kv, &b->info_).WithContext(config.model_path));
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (what.size() > 400) what = what.substr(0, 400) + "...";
    return InvalidArgumentError("cannot load TorchScript model " + config.model_path + ": " +
                                what);
  }
  if (!config.names_path.empty()) {
    YS_RETURN_IF_ERROR(LoadNamesFile(config.names_path, &b->info_));
  }
  if (config.input_w > 0) b->info_.input_w = config.input_w;
  if (config.input_h > 0) b->info_.input_h = config.input_h;
  return b;
}

Status TorchBackend::Run(const float* input, int batch, int height, int width, OutputTensor* out,
                         BatchTiming* timing) {
  if (input == nullptr || batch < 1 || height < 1 || width < 1) {
    return InvalidArgumentError("torch backend: bad batch shape");
  }
  if (batch > max_batch_) {
    return InvalidArgumentError("batch " + std::to_string(batch) + " exceeds max_batch " +
                                std::to_string(max_batch_));
  }
  try {
    c10::InferenceMode guard;
    // from_blob does not copy; the caller keeps `input` alive for this call.
    torch::Tensor x = torch::from_blob(const_cast<float*>(input), {batch, 3, height, width},
                                       torch::TensorOptions().dtype(torch::kFloat32));
    const bool on_gpu = impl_->device.is_cuda();
    auto t0 = std::chrono::steady_clock::now();
    if (on_gpu) {
      x = x.to(impl_->device, impl_->half ? torch::kHalf : torch::kFloat32, /*non_blocking=*/false);
      timing->h2d_ms = MsSince(t0);
      t0 = std::chrono::steady_clock::now();
    }
    c10::IValue result = impl_->module.forward({x});
    YS_ASSIGN_OR_RETURN(torch::Tensor y, FirstTensor(result));
    if (on_gpu) {
      // Kernels run asynchronously: synchronize so inference time is the
      // device's, not the launch time. (CUDA-event timing on a per-instance
      // stream replaces this host-clock measurement in the CUDA path.)
      torch::cuda::synchronize(impl_->device.index());
      timing->inference_ms = MsSince(t0);
      t0 = std::chrono::steady_clock::now();
      y = y.to(torch::kCPU);
      timing->d2h_ms = MsSince(t0);
    } else {
      timing->inference_ms = MsSince(t0);
    }
    y = y.to(torch::kFloat32).contiguous();
    out->shape.assign(y.sizes().begin(), y.sizes().end());
    out->data.resize(static_cast<size_t>(y.numel()));
    std::memcpy(out->data.data(), y.data_ptr<float>(), sizeof(float) * y.numel());
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (what.size() > 400) what = what.substr(0, 400) + "...";
    return InternalError("torch inference failed: " + what);
  }
  return Status::Ok();
}

}  // namespace yoloscope
