#include "backends/opencv_dnn_backend.h"

#include <chrono>
#include <cstring>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>
#include <thread>

#include "backends/onnx_metadata.h"

namespace yoloscope {

struct OpenCvDnnBackend::Impl {
  cv::dnn::Net net;
  std::vector<std::string> output_names;
  std::vector<cv::Mat> outputs;  // reused across calls
};

OpenCvDnnBackend::~OpenCvDnnBackend() = default;

StatusOr<std::unique_ptr<OpenCvDnnBackend>> OpenCvDnnBackend::Create(
    const BackendConfig& config) {
  if (!std::filesystem::exists(config.model_path)) {
    return NotFoundError("model file not found: " + config.model_path);
  }
  if (config.device != "cpu") {
    return UnimplementedError("the opencv backend runs on cpu only (asked for " + config.device +
                              ")");
  }
  std::unique_ptr<OpenCvDnnBackend> b(new OpenCvDnnBackend());
  b->impl_ = std::make_unique<Impl>();
  b->max_batch_ = std::max(1, config.max_batch);
  b->info_.name = std::filesystem::path(config.model_path).stem().string();
  b->info_.class_names = CocoClassNames();

  // Read metadata first: it also rejects files that are not ONNX protobufs
  // with a clearer message than OpenCV's parser gives.
  auto kv = ReadOnnxMetadata(config.model_path);
  if (!kv.ok()) return kv.status();
  YS_RETURN_IF_ERROR(ApplyModelMetadata(*kv, &b->info_).WithContext(config.model_path));
  if (!config.names_path.empty()) {
    YS_RETURN_IF_ERROR(LoadNamesFile(config.names_path, &b->info_));
  }
  YS_RETURN_IF_ERROR(CheckDetectTask(b->info_, config.model_path));
  YS_RETURN_IF_ERROR(ApplyInputSizeOverride(config, /*resizable=*/true, &b->info_));

  try {
    int threads = config.num_threads > 0 ? config.num_threads
                                         : static_cast<int>(std::thread::hardware_concurrency());
    cv::setNumThreads(std::max(1, threads));
    // The importer logs its own errors to stderr before throwing; the Status
    // we return carries the message, so keep the log quiet while loading.
    struct LogLevelGuard {
      cv::utils::logging::LogLevel saved =
          cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
      ~LogLevelGuard() { cv::utils::logging::setLogLevel(saved); }
    } quiet;
    b->impl_->net = cv::dnn::readNetFromONNX(config.model_path);
    if (b->impl_->net.empty()) {
      return InvalidArgumentError("OpenCV could not build a network from " + config.model_path);
    }
    b->impl_->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    b->impl_->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    b->impl_->output_names = b->impl_->net.getUnconnectedOutLayersNames();
    if (b->impl_->output_names.empty()) {
      return InvalidArgumentError("ONNX model has no outputs: " + config.model_path);
    }
    b->impl_->output_names.resize(1);  // detections are the first output
  } catch (const cv::Exception& e) {
    std::string what = e.what();
    if (what.size() > 400) what = what.substr(0, 400) + "...";
    return InvalidArgumentError("cannot load ONNX model " + config.model_path + ": " + what);
  }
  return b;
}

Status OpenCvDnnBackend::Run(const float* input, int batch, int height, int width,
                             OutputTensor* out, BatchTiming* timing) {
  if (input == nullptr || batch < 1 || height < 1 || width < 1) {
    return InvalidArgumentError("opencv backend: bad batch shape");
  }
  if (batch > max_batch_) {
    return InvalidArgumentError("batch " + std::to_string(batch) + " exceeds max_batch " +
                                std::to_string(max_batch_));
  }
  try {
    const int sizes[4] = {batch, 3, height, width};
    // Wraps the caller's buffer without copying; OpenCV copies it into the
    // network's input blob inside setInput.
    cv::Mat blob(4, sizes, CV_32F, const_cast<float*>(input));
    auto t0 = std::chrono::steady_clock::now();
    impl_->net.setInput(blob);
    impl_->net.forward(impl_->outputs, impl_->output_names);
    timing->inference_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    const cv::Mat& y = impl_->outputs.at(0);
    if (y.type() != CV_32F || !y.isContinuous()) {
      return InternalError("opencv backend: unexpected output type");
    }
    out->shape.assign(y.size.p, y.size.p + y.dims);
    out->data.resize(y.total());
    std::memcpy(out->data.data(), y.ptr<float>(), sizeof(float) * y.total());
  } catch (const cv::Exception& e) {
    std::string what = e.what();
    if (what.size() > 400) what = what.substr(0, 400) + "...";
    return InternalError("opencv inference failed: " + what);
  }
  return Status::Ok();
}

}  // namespace yoloscope
