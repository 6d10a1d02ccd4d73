#include "backends/onnxruntime_backend.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "backends/model_file.h"
#include "backends/onnx_metadata.h"
#include "backends/onnxruntime_library.h"

namespace yoloscope {

OnnxRuntimeBackend::~OnnxRuntimeBackend() = default;

StatusOr<std::unique_ptr<OnnxRuntimeBackend>> OnnxRuntimeBackend::Create(
    const BackendConfig& config) {
  if (config.device != "cpu") {
    return UnimplementedError("the onnxruntime backend runs on cpu only in this build (asked for " +
                              config.device + "); use a TorchScript export with --backend torch");
  }
  std::unique_ptr<OnnxRuntimeBackend> b(new OnnxRuntimeBackend());
  b->info_.name = std::filesystem::path(config.model_path).stem().string();
  b->info_.class_names = CocoClassNames();
  auto kv = ReadOnnxMetadata(config.model_path);
  if (!kv.ok()) return kv.status().WithContext(config.model_path);
  YS_RETURN_IF_ERROR(ApplyModelMetadata(*kv, &b->info_).WithContext(config.model_path));
  YS_RETURN_IF_ERROR(CheckDetectTask(b->info_, config.model_path));
  if (!config.names_path.empty()) {
    YS_RETURN_IF_ERROR(LoadNamesFile(config.names_path, &b->info_));
  }

  auto lib = OnnxRuntimeLibrary::Load(config.onnxruntime_library);
  if (!lib.ok()) return lib.status();
  b->engine_ = "onnxruntime " + (*lib)->version() + " (" + (*lib)->path() + ")";
  OnnxSessionOptions so;
  so.intra_op_threads = config.num_threads > 0
                            ? config.num_threads
                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto session = (*lib)->CreateSession(config.model_path, so);
  if (!session.ok()) return session.status().WithContext(config.model_path);
  b->session_ = std::move(session).value();

  const OnnxTensorSpec& in = b->session_->inputs()[0];
  if (in.dims.size() != 4 || (in.dims[1] != -1 && in.dims[1] != 3)) {
    std::string shape;
    for (int64_t d : in.dims) shape += (shape.empty() ? "" : ",") + std::to_string(d);
    return InvalidArgumentError(config.model_path + ": input '" + in.name + "' has shape [" +
                                shape + "]; a YOLO detector takes [batch, 3, height, width]");
  }
  // The graph's own shape wins over metadata: a static export only runs at
  // the size and batch it was exported with.
  const bool static_hw = in.dims[2] > 0 && in.dims[3] > 0;
  if (static_hw) {
    b->info_.input_h = static_cast<int>(in.dims[2]);
    b->info_.input_w = static_cast<int>(in.dims[3]);
  }
  YS_RETURN_IF_ERROR(ApplyInputSizeOverride(config, !static_hw, &b->info_));
  if (in.dims[0] > 0) {
    b->fixed_batch_ = static_cast<int>(in.dims[0]);
    b->info_.fixed_batch = b->fixed_batch_;
    b->info_.dynamic_batch = false;
    b->max_batch_ = b->fixed_batch_;
  } else {
    b->info_.fixed_batch = 0;
    b->info_.dynamic_batch = true;
    b->max_batch_ = std::max(1, config.max_batch);
  }
  b->info_.metadata["engine"] = b->engine_;
  return b;
}

Status OnnxRuntimeBackend::Run(const float* input, int batch, int height, int width,
                               OutputTensor* out, BatchTiming* timing) {
  if (input == nullptr || batch < 1 || height < 1 || width < 1) {
    return InvalidArgumentError("onnxruntime backend: bad batch shape");
  }
  if (batch > max_batch_) {
    return InvalidArgumentError(
        "batch " + std::to_string(batch) + " exceeds max_batch " + std::to_string(max_batch_) +
        (fixed_batch_ ? " (the model was exported with a fixed batch)" : ""));
  }
  const size_t per_image = static_cast<size_t>(3) * height * width;
  const float* data = input;
  int run_batch = batch;
  if (fixed_batch_ > 0 && batch < fixed_batch_) {
    // Pad with zero images: the graph only takes fixed_batch_ images.
    padded_.resize(per_image * fixed_batch_);
    std::memcpy(padded_.data(), input, sizeof(float) * per_image * batch);
    std::fill(padded_.begin() + static_cast<ptrdiff_t>(per_image * batch), padded_.end(), 0.f);
    data = padded_.data();
    run_batch = fixed_batch_;
  }
  dims_.assign({run_batch, 3, height, width});
  const auto t0 = std::chrono::steady_clock::now();
  YS_RETURN_IF_ERROR(session_->RunFloat(data, dims_, &out->shape, &out->data));
  timing->inference_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (out->shape.empty() || out->shape[0] != run_batch) {
    return InternalError("onnxruntime backend: output batch dimension does not match the input");
  }
  if (run_batch != batch) {
    out->data.resize(out->data.size() / run_batch * batch);
    out->shape[0] = batch;
  }
  return Status::Ok();
}

}  // namespace yoloscope
