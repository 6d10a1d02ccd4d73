// One of the two translation units that include libtorch (it is slow to
// compile); the CUDA path lives in torch_cuda_runner.cc.
#include "backends/torch_backend.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>

#include "backends/torch_cuda_runner.h"

namespace yoloscope {

struct TorchBackend::Impl {
  torch::jit::Module module;
  torch::Device device{torch::kCPU};
  bool half = false;
#ifdef YOLOSCOPE_HAVE_CUDA
  // Declared after `module`, so it is destroyed first (it points at it).
  std::unique_ptr<TorchCudaRunner> cuda;
#endif
};

namespace {

double MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

std::string Truncated(std::string what) {
  if (what.size() > 400) what = what.substr(0, 400) + "...";
  return what;
}

// OpenBLAS (Debian's libtorch does its GEMMs through it) starts its own
// worker pool, sized by the core count and independent of
// at::set_num_threads, so `--threads 1` still ran a second busy thread.
// Capped through the symbol when the loaded BLAS is OpenBLAS (no link
// dependency). The inter-op pool can be sized once per process and only
// before it has started; later attempts are ignored.
void CapCpuThreadPools(int threads) {
  using SetThreadsFn = void (*)(int);
  if (auto fn = reinterpret_cast<SetThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    fn(threads);
  }
  static std::once_flag interop_once;
  std::call_once(interop_once, [threads] {
    try {
      at::set_num_interop_threads(threads);
    } catch (const std::exception&) {
      // Already started or already set: keep libtorch's choice.
    }
  });
}

// "cuda" -> 0, "cuda:N" -> N; -1 for anything else.
int CudaIndex(const std::string& device) {
  if (device == "cuda") return 0;
  if (device.rfind("cuda:", 0) != 0 || device.size() == 5) return -1;
  int index = 0;
  for (size_t i = 5; i < device.size(); ++i) {
    if (device[i] < '0' || device[i] > '9' || index > 1000) return -1;
    index = index * 10 + (device[i] - '0');
  }
  return index;
}

}  // namespace

// Ultralytics' TorchScript returns a tensor; training-style exports return a
// tuple whose first element is the detections.
StatusOr<at::Tensor> TorchFirstTensor(const c10::IValue& v) {
  if (v.isTensor()) return v.toTensor();
  if (v.isTuple()) {
    const auto& elems = v.toTupleRef().elements();
    if (!elems.empty()) return TorchFirstTensor(elems[0]);
  }
  if (v.isList()) {
    auto list = v.toListRef();
    if (!list.empty()) return TorchFirstTensor(list[0]);
  }
  if (v.isTensorList()) {
    auto list = v.toTensorList();
    if (list.size() > 0) return list.get(0);
  }
  return InvalidArgumentError("model output is not a tensor (type " + v.tagKind() + ")");
}

TorchBackend::~TorchBackend() = default;

StatusOr<std::unique_ptr<TorchBackend>> TorchBackend::Create(const BackendConfig& config) {
  if (!std::filesystem::exists(config.model_path)) {
    return NotFoundError("model file not found: " + config.model_path);
  }
  if (!(config.gpu_memory_fraction > 0 && config.gpu_memory_fraction <= 1)) {
    return InvalidArgumentError("gpu_memory_fraction must be in (0, 1], got " +
                                std::to_string(config.gpu_memory_fraction));
  }
  if (config.precision != "fp32" && config.precision != "fp16") {
    return InvalidArgumentError("unknown precision '" + config.precision + "' (fp32 or fp16)");
  }
  std::unique_ptr<TorchBackend> b(new TorchBackend());
  b->impl_ = std::make_unique<Impl>();
  b->max_batch_ = std::max(1, config.max_batch);
  int threads = config.num_threads > 0 ? config.num_threads
                                       : static_cast<int>(std::thread::hardware_concurrency());
  const bool cuda = config.device.rfind("cuda", 0) == 0;
  try {
    at::set_num_threads(std::max(1, threads));
    if (config.num_threads > 0) CapCpuThreadPools(config.num_threads);
    torch::jit::setGraphExecutorOptimize(config.torch_jit_optimize);
    if (cuda) {
      const int index = CudaIndex(config.device);
      if (index < 0) {
        return InvalidArgumentError("unknown device '" + config.device + "' (cpu or cuda:N)");
      }
      if (!torch::cuda::is_available()) {
        return UnimplementedError("device " + config.device +
                                  " requested but this libtorch has no usable CUDA");
      }
#ifndef YOLOSCOPE_HAVE_CUDA
      return UnimplementedError("device " + config.device +
                                " requested but this build has no CUDA path (configure with "
                                "-DYOLOSCOPE_WITH_CUDA=ON)");
#endif
      if (index >= static_cast<int>(torch::cuda::device_count())) {
        return InvalidArgumentError("device " + config.device + " does not exist (" +
                                    std::to_string(torch::cuda::device_count()) + " GPUs)");
      }
      b->impl_->device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
      b->impl_->half = config.precision == "fp16";
    } else if (config.device != "cpu") {
      return InvalidArgumentError("unknown device '" + config.device + "' (cpu or cuda:N)");
    }
    b->device_ = cuda ? "cuda:" + std::to_string(b->impl_->device.index()) : config.device;

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
    return InvalidArgumentError("cannot load TorchScript model " + config.model_path + ": " +
                                Truncated(e.what()));
  }
  if (!config.names_path.empty()) {
    YS_RETURN_IF_ERROR(LoadNamesFile(config.names_path, &b->info_));
  }
  YS_RETURN_IF_ERROR(CheckDetectTask(b->info_, config.model_path));
  // torch.jit.trace bakes the anchor grid of the export size into the graph
  // (Ultralytics' head builds it on the first call), so a traced export
  // with a recorded imgsz only runs at that size.
  YS_RETURN_IF_ERROR(ApplyInputSizeOverride(config, /*resizable=*/!b->info_.metadata.count("imgsz"),
                                            &b->info_)
                         .WithContext(config.model_path));
#ifdef YOLOSCOPE_HAVE_CUDA
  if (cuda) {
    TorchCudaOptions opt;
    opt.device_index = b->impl_->device.index();
    opt.half = b->impl_->half;
    opt.memory_fraction = config.gpu_memory_fraction;
    opt.cuda_graphs = config.cuda_graphs;
    opt.max_batch = b->max_batch_;
    opt.input_h = b->info_.input_h;
    opt.input_w = b->info_.input_w;
    auto runner = TorchCudaRunner::Create(&b->impl_->module, opt);
    if (!runner.ok()) return runner.status().WithContext(b->device_);
    b->impl_->cuda = std::move(runner).value();
    b->max_batch_ = b->impl_->cuda->max_batch();
    b->cuda_graphs_ = config.cuda_graphs;
  }
#endif
  return b;
}

Status TorchBackend::Run(const float* input, int batch, int height, int width, OutputTensor* out,
                         BatchTiming* timing) {
  if (input == nullptr || out == nullptr || timing == nullptr || batch < 1 || height < 1 ||
      width < 1) {
    return InvalidArgumentError("torch backend: bad batch shape");
  }
  if (batch > max_batch_) {
    return InvalidArgumentError("batch " + std::to_string(batch) + " exceeds max_batch " +
                                std::to_string(max_batch_));
  }
#ifdef YOLOSCOPE_HAVE_CUDA
  if (impl_->cuda) return impl_->cuda->Run(input, batch, height, width, out, timing);
#endif
  try {
    c10::InferenceMode guard;
    // from_blob does not copy; the caller keeps `input` alive for this call.
    torch::Tensor x = torch::from_blob(const_cast<float*>(input), {batch, 3, height, width},
                                       torch::TensorOptions().dtype(torch::kFloat32));
    auto t0 = std::chrono::steady_clock::now();
    c10::IValue result = impl_->module.forward({x});
    YS_ASSIGN_OR_RETURN(torch::Tensor y, TorchFirstTensor(result));
    timing->inference_ms = MsSince(t0);
    y = y.to(torch::kFloat32).contiguous();
    out->shape.assign(y.sizes().begin(), y.sizes().end());
    out->data.resize(static_cast<size_t>(y.numel()));
    std::memcpy(out->data.data(), y.data_ptr<float>(), sizeof(float) * y.numel());
  } catch (const std::exception& e) {
    return InternalError("torch inference failed: " + Truncated(e.what()));
  }
  return Status::Ok();
}

Status TorchBackend::Warmup(const std::vector<int>& batch_sizes) {
  YS_RETURN_IF_ERROR(Backend::Warmup(batch_sizes));
#ifdef YOLOSCOPE_HAVE_CUDA
  if (impl_->cuda && cuda_graphs_) {
    const int graphs = impl_->cuda->CaptureGraphs(batch_sizes, info_.input_h, info_.input_w);
    std::fprintf(stderr, "torch backend %s: %d CUDA graph(s) captured\n", device_.c_str(), graphs);
  }
#endif
  return Status::Ok();
}

std::optional<TorchCudaMemoryEstimate> TorchBackend::cuda_memory_estimate() const {
#ifdef YOLOSCOPE_HAVE_CUDA
  if (impl_->cuda) return impl_->cuda->memory_estimate();
#endif
  return std::nullopt;
}

int TorchBackend::cuda_graph_count() const {
#ifdef YOLOSCOPE_HAVE_CUDA
  if (impl_->cuda) return impl_->cuda->graph_count();
#endif
  return 0;
}

Status TorchBackend::SetGpuMemoryFraction(double fraction) {
#ifdef YOLOSCOPE_HAVE_CUDA
  if (impl_->cuda) return impl_->cuda->SetMemoryFraction(fraction);
#endif
  (void)fraction;
  return FailedPreconditionError("torch backend on " + device_ + ": no CUDA");
}

}  // namespace yoloscope
