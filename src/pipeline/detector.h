// Detector: the whole detection pipeline for one model on one backend:
// encoded image -> ImageDecoder -> Letterbox -> Backend -> YoloDecoder + NMS.
// Used by `yoloscope detect` and as the reference pipeline in tests; the
// server runs the same stages on separate threads.
//
// Ownership: owns its backend, decoder and buffers. Thread-safety: one
// thread at a time (create one Detector per thread). Steady state allocates
// nothing per image beyond the returned detections (buffers are reused).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backends/backend.h"
#include "common/status.h"
#include "image/image.h"
#include "model/detection.h"
#include "model/model_info.h"
#include "model/yolo_decoder.h"

namespace yoloscope {

struct DetectorConfig {
  BackendConfig backend;
  PostprocessConfig postprocess;  // conf 0.25, iou 0.7, max_det 300, max_nms 30000
  int64_t max_pixels = 40'000'000;  // images over this are rejected before decoding
  // JPEG DCT-domain downscaling when the photo is >= 2x the input (`--fast-decode`).
  // Off by default: Ultralytics decodes in full and resizes with
  // INTER_LINEAR, and only the full decode gives its network input pixel for
  // pixel (docs/models.md measures what the fast path changes).
  bool dct_downscale = false;
  bool apply_exif = true;           // honour EXIF orientation
};

// Milliseconds per stage, like Ultralytics' "Speed:" line.
struct StageTimes {
  double decode_ms = 0, preprocess_ms = 0, inference_ms = 0, postprocess_ms = 0;
};

struct ImageResult {
  int width = 0, height = 0;  // original image size (after EXIF orientation)
  Detections detections;      // original-image pixels, score descending
  StageTimes times;           // inference_ms is the whole batch's time
  int batch_size = 1;
};

class Detector {
 public:
  static StatusOr<std::unique_ptr<Detector>> Create(const DetectorConfig& config);
  ~Detector();

  // Runs one encoded image (JPEG/PNG/BMP/WebP bytes) through the pipeline.
  StatusOr<ImageResult> Detect(std::string_view encoded);

  // Runs one already decoded RGB picture (e.g. a video frame): letterbox,
  // backend, decode + NMS (times.decode_ms stays 0).
  StatusOr<ImageResult> DetectPixels(const Image& rgb);

  // Runs several images as one batch (up to the backend's max batch; larger
  // inputs are split). Images that fail to decode get their own error and do
  // not fail the others.
  std::vector<StatusOr<ImageResult>> DetectBatch(const std::vector<std::string_view>& encoded);

  const ModelInfo& model() const { return backend_->info(); }
  Backend& backend() { return *backend_; }
  OutputLayout layout() const { return layout_; }

 private:
  struct Scratch;  // decoder, letterbox, batch buffer, output tensor
  explicit Detector(const DetectorConfig& config);
  // Runs at most max_batch images as one backend batch; appends one result each.
  void RunChunk(const std::vector<std::string_view>& encoded,
                std::vector<StatusOr<ImageResult>>* results);

  DetectorConfig config_;
  std::unique_ptr<Backend> backend_;
  OutputLayout layout_ = OutputLayout::kUnknown;
  std::unique_ptr<Scratch> scratch_;
};

}  // namespace yoloscope
