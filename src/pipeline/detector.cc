#include "pipeline/detector.h"

#include <chrono>

#include "image/image_decoder.h"
#include "image/letterbox.h"

namespace yoloscope {
namespace {

using SteadyClock = std::chrono::steady_clock;

double MsBetween(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

struct Detector::Scratch {
  ImageDecoder decoder;
  Letterbox letterbox;
  Image image;
  std::vector<float> batch;  // max_batch slots of 3 * H * W floats
  OutputTensor output;
  YoloDecoder yolo;
  std::vector<LetterboxTransform> transforms;
  std::vector<size_t> slot_of;  // result index -> batch slot (or npos)

  explicit Scratch(const LetterboxOptions& lb) : letterbox(lb) {}
};

Detector::Detector(const DetectorConfig& config) : config_(config) {}
Detector::~Detector() = default;

StatusOr<std::unique_ptr<Detector>> Detector::Create(const DetectorConfig& config) {
  YS_RETURN_IF_ERROR(config.postprocess.Validate());
  std::unique_ptr<Detector> d(new Detector(config));
  YS_ASSIGN_OR_RETURN(d->backend_, CreateBackend(config.backend));
  const ModelInfo& info = d->backend_->info();

  LetterboxOptions lb;
  lb.width = info.input_w;
  lb.height = info.input_h;
  lb.stride = info.stride;
  d->scratch_ = std::make_unique<Scratch>(lb);
  const size_t slot = static_cast<size_t>(3) * info.input_w * info.input_h;
  d->scratch_->batch.assign(slot * d->backend_->max_batch(), 0.f);

  // One batch of zeros: warms the backend up and shows the output shape, so a
  // model whose output we cannot decode is refused now, not per image.
  BatchTiming timing;
  Status run = d->backend_->Run(d->scratch_->batch.data(), 1, info.input_h, info.input_w,
                                &d->scratch_->output, &timing);
  if (!run.ok()) return run.WithContext("first run of " + config.backend.model_path);
  auto layout = YoloDecoder::DetectLayout(d->scratch_->output.shape, info);
  if (!layout.ok()) return layout.status().WithContext(config.backend.model_path);
  d->layout_ = *layout;
  return d;
}

StatusOr<ImageResult> Detector::Detect(std::string_view encoded) {
  auto results = DetectBatch({encoded});
  return std::move(results[0]);
}

StatusOr<ImageResult> Detector::DetectPixels(const Image& rgb) {
  Scratch& s = *scratch_;
  const ModelInfo& info = backend_->info();
  const size_t slot_floats = static_cast<size_t>(3) * info.input_w * info.input_h;
  ImageResult result;
  result.width = rgb.width;
  result.height = rgb.height;
  auto t0 = SteadyClock::now();
  auto transform = s.letterbox.ToTensor(rgb, s.batch.data(), slot_floats);
  if (!transform.ok()) return transform.status();
  result.times.preprocess_ms = MsBetween(t0, SteadyClock::now());
  BatchTiming timing;
  YS_RETURN_IF_ERROR(
      backend_->Run(s.batch.data(), 1, info.input_h, info.input_w, &s.output, &timing));
  auto t1 = SteadyClock::now();
  YS_RETURN_IF_ERROR(s.yolo.Decode(s.output.data.data(), s.output.shape, 0, layout_, *transform,
                                   config_.postprocess, &result.detections));
  result.times.postprocess_ms = MsBetween(t1, SteadyClock::now());
  result.times.inference_ms = timing.inference_ms;
  result.batch_size = 1;
  return result;
}

std::vector<StatusOr<ImageResult>> Detector::DetectBatch(
    const std::vector<std::string_view>& encoded) {
  std::vector<StatusOr<ImageResult>> results;
  results.reserve(encoded.size());
  const size_t max_batch = static_cast<size_t>(backend_->max_batch());
  for (size_t start = 0; start < encoded.size(); start += max_batch) {
    size_t end = std::min(encoded.size(), start + max_batch);
    std::vector<std::string_view> part(encoded.begin() + start, encoded.begin() + end);
    RunChunk(part, &results);
  }
  return results;
}

void Detector::RunChunk(const std::vector<std::string_view>& encoded,
                        std::vector<StatusOr<ImageResult>>* results) {
  Scratch& s = *scratch_;
  const ModelInfo& info = backend_->info();
  const size_t slot_floats = static_cast<size_t>(3) * info.input_w * info.input_h;
  DecodeOptions decode_options;
  decode_options.max_pixels = config_.max_pixels;
  decode_options.apply_exif_orientation = config_.apply_exif;
  if (config_.dct_downscale) {
    decode_options.target_w = info.input_w;
    decode_options.target_h = info.input_h;
  }

  // Stage 1+2 per image: decode, letterbox into the next free batch slot.
  std::vector<ImageResult> ok(encoded.size());
  std::vector<Status> errors(encoded.size());
  s.transforms.assign(encoded.size(), LetterboxTransform{});
  s.slot_of.assign(encoded.size(), SIZE_MAX);
  int filled = 0;
  for (size_t i = 0; i < encoded.size(); ++i) {
    auto t0 = SteadyClock::now();
    auto decoded = s.decoder.Decode(reinterpret_cast<const uint8_t*>(encoded[i].data()),
                                    encoded[i].size(), decode_options, &s.image);
    auto t1 = SteadyClock::now();
    if (!decoded.ok()) {
      errors[i] = decoded.status();
      continue;
    }
    float* dst = s.batch.data() + slot_floats * filled;
    auto transform = s.letterbox.ToTensor(s.image, *decoded, dst, slot_floats);
    auto t2 = SteadyClock::now();
    if (!transform.ok()) {
      errors[i] = transform.status();
      continue;
    }
    s.transforms[i] = *transform;
    s.slot_of[i] = static_cast<size_t>(filled++);
    ok[i].width = decoded->orig_width;
    ok[i].height = decoded->orig_height;
    ok[i].times.decode_ms = MsBetween(t0, t1);
    ok[i].times.preprocess_ms = MsBetween(t1, t2);
  }

  // Stage 3: one backend call for every image that decoded.
  Status run;
  BatchTiming timing;
  if (filled > 0) {
    run = backend_->Run(s.batch.data(), filled, info.input_h, info.input_w, &s.output, &timing);
  }

  // Stage 4 per image: decode the raw output + NMS.
  for (size_t i = 0; i < encoded.size(); ++i) {
    if (!errors[i].ok()) {
      results->push_back(errors[i]);
      continue;
    }
    if (!run.ok()) {
      results->push_back(run);
      continue;
    }
    auto t0 = SteadyClock::now();
    Status st = s.yolo.Decode(s.output.data.data(), s.output.shape,
                              static_cast<int>(s.slot_of[i]), layout_, s.transforms[i],
                              config_.postprocess, &ok[i].detections);
    if (!st.ok()) {
      results->push_back(st);
      continue;
    }
    ok[i].times.postprocess_ms = MsBetween(t0, SteadyClock::now());
    ok[i].times.inference_ms = timing.inference_ms;
    ok[i].batch_size = filled;
    results->push_back(std::move(ok[i]));
  }
}

}  // namespace yoloscope
