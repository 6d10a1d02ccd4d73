// YoloDecoder: turns a raw YOLO output tensor into detections in
// original-image pixels, with Ultralytics predict semantics (confidence
// filter, class-aware NMS, max_det, letterbox undone and boxes clipped).
//
// Layouts (see OutputLayout): v8/v11 [B, 4+nc, N] channel-major, v5
// [B, N, 5+nc] anchor-major, end-to-end [B, K, 6] (NMS done by the model).
// Boxes in the tensor are in network-input pixels.
//
// Output order: score descending; equal scores keep ascending anchor index
// (row for v5/e2e, column for v8), then ascending class id. This is stable
// and deterministic; Ultralytics (torch sort) leaves tie order unspecified.
//
// Thread-safety: a YoloDecoder owns scratch buffers; use one per thread.
// DetectLayout is static and thread-safe. Once the buffers have grown to the
// largest output seen, Decode allocates nothing (given a reused `out`).
#pragma once

#include <cstdint>
#include <vector>

#include "common/letterbox_transform.h"
#include "common/status.h"
#include "model/detection.h"
#include "model/model_info.h"
#include "model/nms.h"

namespace yoloscope {

struct PostprocessConfig {
  float conf = 0.25f;        // keep scores strictly greater than this; in [0, 1].
  float iou = 0.7f;          // NMS: suppress when IoU is strictly greater; in [0, 1].
  int max_det = 300;         // at most this many detections per image (>= 1).
  int max_nms = 30000;       // at most this many candidates (highest scores) enter NMS.
  bool agnostic = false;     // NMS across classes.
  bool multi_label = false;  // v5/v8: every class above conf of an anchor is a candidate.
  // Keep only these class ids (empty = all). As in Ultralytics, the filter
  // applies to an anchor's best class: an anchor whose best class is not
  // listed is dropped, not demoted to its best listed class.
  std::vector<int> classes;
  // Class channels to read (0 = all after the box/objectness). Channels past
  // this (e.g. mask coefficients of a segmentation head) are ignored.
  int num_classes = 0;

  // InvalidArgument naming the first out-of-range field.
  Status Validate() const;
};

class YoloDecoder {
 public:
  YoloDecoder() = default;

  // Which layout an output of `shape` has. A metadata layout (info.layout)
  // wins when the shape fits it (enough channels, the named class count, and
  // the orientation: v8 needs 4+nc <= N, v5 needs 5+nc <= N); otherwise the
  // shape decides:
  //   [B, 4+nc, N] with 4+nc < N -> v8;  [B, N, 5+nc] with 5+nc < N -> v5;
  //   [B, K, 6]: e2e when info.layout says so, or when info names a class
  //   count other than 1 (v5 would mean nc = 1), or when K <= 1000 and K is
  //   not the v5 anchor count for info's input size (3 anchors per cell at
  //   strides 8/16/32, or 8/16/32/64 for P6 models); otherwise v5.
  // When info.class_names_given, the class channel count must equal
  // info.num_classes(). InvalidArgument "unknown output layout [1, 7, 7]: ..."
  // for a shape that fits nothing (rank != 3, too few channels, nc mismatch).
  static StatusOr<OutputLayout> DetectLayout(const std::vector<int64_t>& shape,
                                             const ModelInfo& info);

  // The v5 anchor count (3 per cell over strides 8, 16, 32) for an input
  // of input_w x input_h pixels; with `p6`, stride 64 too.
  static int64_t V5AnchorCount(int input_w, int input_h, bool p6 = false);

  // Decodes image `batch_index` of the float32 tensor `data` (shape `shape`,
  // row-major, owned by the caller, only read during the call) into `*out`
  // (cleared first; pass the same vector each time to avoid allocating).
  // `letterbox` maps network pixels back to the original image. Returns
  // InvalidArgument for a bad shape/index/config/letterbox or a layout the
  // shape does not fit; *out is empty on error.
  Status Decode(const float* data, const std::vector<int64_t>& shape, int batch_index,
                OutputLayout layout, const LetterboxTransform& letterbox,
                const PostprocessConfig& config, Detections* out);

 private:
  void CollectV8(const float* data, int anchors, int nc, const PostprocessConfig& config);
  void CollectV5(const float* data, int anchors, int row_size, int nc,
                 const PostprocessConfig& config);
  void CollectEndToEnd(const float* data, int rows, int row_size, const PostprocessConfig& config);
  // Fills allowed_ from config.classes for class ids [0, nc); false when
  // every class is allowed (no filter).
  bool BuildClassFilter(const PostprocessConfig& config, int nc);

  std::vector<float> best_score_;  // v8: max class score per anchor of a tile.
  std::vector<float> tile_class_;  // v8: argmax class per anchor of a dense tile.
  std::vector<uint8_t> allowed_;   // class filter lookup.
  std::vector<NmsCandidate> candidates_;
  std::vector<NmsCandidate> kept_;
  Nms nms_;
};

}  // namespace yoloscope
