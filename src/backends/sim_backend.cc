#include "backends/sim_backend.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace yoloscope {
namespace {

constexpr int kStride = 32;
constexpr int kGridCols = 5, kGridRows = 4;  // at most 20 non-overlapping boxes.

int64_t AnchorCount(int height, int width) {
  int64_t n = 0;
  for (int s : {8, 16, 32}) n += static_cast<int64_t>(height / s) * (width / s);
  return n;
}

// FNV-1a over the bit patterns of 64 evenly spaced floats of one image.
uint64_t HashImage(const float* image, int64_t count) {
  uint64_t h = 1469598103934665603ULL;
  constexpr int kSamples = 64;
  for (int j = 0; j < kSamples; ++j) {
    int64_t idx = count <= 1 ? 0 : j * (count - 1) / (kSamples - 1);
    uint32_t bits;
    std::memcpy(&bits, image + idx, sizeof(bits));
    for (int b = 0; b < 4; ++b) {
      h ^= (bits >> (8 * b)) & 0xFF;
      h *= 1099511628211ULL;
    }
  }
  return h;
}

uint64_t SplitMix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

}  // namespace

SimBackend::SimBackend(std::shared_ptr<SimGpuModel> gpu, const ModelInfo& info, int max_batch)
    : gpu_(std::move(gpu)), info_(info), max_batch_(max_batch) {}

StatusOr<std::unique_ptr<SimBackend>> SimBackend::Create(const BackendConfig& config,
                                                         Clock* clock) {
  if (config.model_path.empty()) {
    return InvalidArgumentError(
        "sim backend: no model file (a sim YAML such as "
        "configs/sim/default.yaml)");
  }
  YS_ASSIGN_OR_RETURN(SimGpuConfig sim, LoadSimGpuConfig(config.model_path));
  return Create(config, sim, clock);
}

StatusOr<std::unique_ptr<SimBackend>> SimBackend::Create(const BackendConfig& config,
                                                         const SimGpuConfig& sim, Clock* clock) {
  if (config.max_batch < 1) {
    return InvalidArgumentError("sim backend: max_batch must be >= 1");
  }
  SimGpuConfig c = sim;
  if (config.input_w > 0) c.input_w = config.input_w;
  if (config.input_h > 0) c.input_h = config.input_h;
  YS_ASSIGN_OR_RETURN(std::unique_ptr<SimGpuModel> gpu, SimGpuModel::Create(c, clock));

  ModelInfo info;
  info.name = c.model_name;
  info.input_w = c.input_w;
  info.input_h = c.input_h;
  info.stride = kStride;
  info.layout = OutputLayout::kYoloV8;
  info.dynamic_batch = true;
  info.metadata["simulated"] = "true";
  info.metadata["sim_device"] = c.device.name;
  if (!config.model_path.empty()) info.metadata["sim_model_file"] = config.model_path;
  if (!config.names_path.empty()) YS_RETURN_IF_ERROR(LoadNamesFile(config.names_path, &info));
  return std::unique_ptr<SimBackend>(
      new SimBackend(std::shared_ptr<SimGpuModel>(std::move(gpu)), info, config.max_batch));
}

std::unique_ptr<SimBackend> SimBackend::NewInstance() const {
  return std::unique_ptr<SimBackend>(new SimBackend(gpu_, info_, max_batch_));
}

std::unique_ptr<TelemetrySource> SimBackend::NewTelemetrySource() const {
  return std::make_unique<SimTelemetrySource>(gpu_);
}

Status SimBackend::Run(const float* input, int batch, int height, int width, OutputTensor* out,
                       BatchTiming* timing) {
  if (input == nullptr || out == nullptr || timing == nullptr || batch < 1 || height < 1 ||
      width < 1) {
    return InvalidArgumentError("sim backend: bad batch shape");
  }
  if (batch > max_batch_) {
    return InvalidArgumentError("batch " + std::to_string(batch) + " exceeds max_batch " +
                                std::to_string(max_batch_));
  }
  if (height % kStride != 0 || width % kStride != 0) {
    return InvalidArgumentError("sim backend: input " + std::to_string(height) + "x" +
                                std::to_string(width) + " is not a multiple of the stride 32");
  }
  const int64_t channels = 4 + info_.num_classes();
  const int64_t anchors = AnchorCount(height, width);
  const double size_scale =
      static_cast<double>(height) * width / (static_cast<double>(info_.input_h) * info_.input_w);
  SimBatchPlan plan = gpu_->PlanBatch(batch, int64_t{3} * height * width * sizeof(float),
                                      channels * anchors * int64_t{sizeof(float)}, size_scale);
  *timing = plan.timing;
  // The output is written while the simulated device "runs"; the wait below
  // covers both.
  if (plan.status.ok()) FillOutput(input, batch, height, width, out);
  gpu_->WaitUntil(plan.end_ns);
  return plan.status;
}

void SimBackend::FillOutput(const float* input, int batch, int height, int width,
                            OutputTensor* out) {
  const int nc = info_.num_classes();
  const int64_t channels = 4 + nc;
  const int64_t anchors = AnchorCount(height, width);
  const size_t size = static_cast<size_t>(batch * channels * anchors);
  out->shape = {batch, channels, anchors};
  if (out->data.data() == last_data_ && out->data.size() == size && last_size_ == size) {
    for (size_t i : written_) out->data[i] = 0.f;  // only what we wrote last time.
  } else {
    out->data.assign(size, 0.f);
  }
  written_.clear();
  const int k_max = gpu_->config().output.detections_per_image;
  const int64_t image_floats = int64_t{3} * height * width;
  const float cell_w = static_cast<float>(width) / kGridCols;
  const float cell_h = static_cast<float>(height) / kGridRows;
  const int64_t span = k_max > 0 ? anchors / k_max : anchors;
  for (int i = 0; i < batch && k_max > 0 && nc > 0; ++i) {
    const uint64_t seed = HashImage(input + i * image_floats, image_floats);
    float* img = out->data.data() + static_cast<size_t>(i * channels * anchors);
    for (int k = 0; k < k_max; ++k) {
      const uint64_t r = SplitMix(seed + static_cast<uint64_t>(k));
      const int cell = static_cast<int>((seed + 7ULL * k) % (kGridCols * kGridRows));
      const float fw = 0.4f + 0.3f * static_cast<float>(r & 0xFF) / 255.f;
      const float fh = 0.4f + 0.3f * static_cast<float>((r >> 8) & 0xFF) / 255.f;
      const float cx = (static_cast<float>(cell % kGridCols) + 0.5f) * cell_w;
      const float cy = (static_cast<float>(cell / kGridCols) + 0.5f) * cell_h;
      const int cls = static_cast<int>((r >> 16) % static_cast<uint64_t>(nc));
      const float score = std::max(0.3f, 0.9f - 0.1f * static_cast<float>(k));
      const int64_t a = k * span + static_cast<int64_t>((r >> 32) % static_cast<uint64_t>(span));
      const float values[4] = {cx, cy, cell_w * fw, cell_h * fh};
      for (int c = 0; c < 4; ++c) {
        img[c * anchors + a] = values[c];
        written_.push_back(static_cast<size_t>(i * channels * anchors + c * anchors + a));
      }
      img[(4 + cls) * anchors + a] = score;
      written_.push_back(static_cast<size_t>(i * channels * anchors + (4 + cls) * anchors + a));
    }
  }
  last_data_ = out->data.data();
  last_size_ = size;
}

SimTelemetrySource::SimTelemetrySource(std::shared_ptr<SimGpuModel> gpu)
    : gpu_(std::move(gpu)), last_ns_(gpu_->clock()->NowNs()) {}

StatusOr<std::vector<DeviceSample>> SimTelemetrySource::Sample() {
  const int64_t now = gpu_->clock()->NowNs();
  DeviceSample s = gpu_->Sample(last_ns_);
  if (now > last_ns_) last_ns_ = now;
  return std::vector<DeviceSample>{std::move(s)};
}

std::string SimTelemetrySource::description() const {
  return "simulated GPU: " + gpu_->config().device.name +
         " (a model for tests and demos, not a measurement)";
}

}  // namespace yoloscope
