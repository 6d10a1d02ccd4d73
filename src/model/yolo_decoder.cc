#include "model/yolo_decoder.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <string>

namespace yoloscope {
namespace {

// Above this many rows a [B, K, 6] output is taken to be v5 (nc = 1): models
// with NMS inside keep max_det (300 by default) rows, v5 keeps thousands.
constexpr int64_t kMaxEndToEndRows = 1000;

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Status UnknownLayout(const std::vector<int64_t>& shape, const std::string& why) {
  return InvalidArgumentError("unknown output layout " + ShapeString(shape) + ": " + why);
}

// Whether a [B, d1, d2] output can be read as `layout`; `why` says why not.
// `expected_nc` >= 0 also requires that many class channels.
bool Fits(OutputLayout layout, int64_t d1, int64_t d2, int expected_nc, std::string* why) {
  int64_t nc = 0;
  switch (layout) {
    case OutputLayout::kYoloV8:
      if (d1 < 5) {
        *why = "v8 needs at least 5 channels (4 box + classes), got " + std::to_string(d1);
        return false;
      }
      nc = d1 - 4;
      break;
    case OutputLayout::kYoloV5:
      if (d2 < 6) {
        *why = "v5 needs at least 6 values per row (4 box + objectness + classes), got " +
               std::to_string(d2);
        return false;
      }
      nc = d2 - 5;
      break;
    case OutputLayout::kEndToEnd:
      if (d2 < 6) {
        *why = "e2e needs 6 values per row, got " + std::to_string(d2);
        return false;
      }
      return true;  // class ids are values, not channels: no count to check.
    case OutputLayout::kUnknown:
      *why = "no layout";
      return false;
  }
  if (expected_nc >= 0 && nc != expected_nc) {
    *why = std::string("as ") + OutputLayoutName(layout) + " it has " + std::to_string(nc) +
           " class channels but the model names " + std::to_string(expected_nc) + " classes";
    return false;
  }
  return true;
}

}  // namespace

Status PostprocessConfig::Validate() const {
  // Written as negated ranges so NaN fails too.
  if (!(conf >= 0.f && conf <= 1.f)) {
    return InvalidArgumentError("conf must be in [0, 1], got " + std::to_string(conf));
  }
  if (!(iou >= 0.f && iou <= 1.f)) {
    return InvalidArgumentError("iou must be in [0, 1], got " + std::to_string(iou));
  }
  if (max_det < 1) {
    return InvalidArgumentError("max_det must be >= 1, got " + std::to_string(max_det));
  }
  if (max_nms < 1) {
    return InvalidArgumentError("max_nms must be >= 1, got " + std::to_string(max_nms));
  }
  if (num_classes < 0) {
    return InvalidArgumentError("num_classes must be >= 0, got " + std::to_string(num_classes));
  }
  for (int c : classes) {
    if (c < 0) {
      return InvalidArgumentError("class filter id must be >= 0, got " + std::to_string(c));
    }
  }
  return Status::Ok();
}

int64_t YoloDecoder::V5AnchorCount(int input_w, int input_h, bool p6) {
  int64_t cells = 0;
  for (int stride : {8, 16, 32, 64}) {
    if (stride == 64 && !p6) break;
    // Stride-2 3x3 convolutions with padding 1 round up.
    const int64_t gw = (static_cast<int64_t>(input_w) + stride - 1) / stride;
    const int64_t gh = (static_cast<int64_t>(input_h) + stride - 1) / stride;
    cells += gw * gh;
  }
  return 3 * cells;
}

StatusOr<OutputLayout> YoloDecoder::DetectLayout(const std::vector<int64_t>& shape,
                                                 const ModelInfo& info) {
  if (shape.size() != 3) {
    return UnknownLayout(shape, "expected rank 3, got rank " + std::to_string(shape.size()));
  }
  for (int64_t d : shape) {
    if (d <= 0) return UnknownLayout(shape, "dimensions must be positive");
  }
  const int64_t d1 = shape[1];
  const int64_t d2 = shape[2];
  const int expected_nc = info.class_names_given ? info.num_classes() : -1;
  std::string why;
  // The metadata layout must also match the shape's orientation, so a stale
  // "v5" cannot make a [1, 84, 8400] output read as 8395 classes.
  const bool oriented = (info.layout == OutputLayout::kYoloV8 && d1 <= d2) ||
                        (info.layout == OutputLayout::kYoloV5 && d2 <= d1) ||
                        (info.layout == OutputLayout::kEndToEnd && (d2 <= d1 || d2 == 6));
  if (oriented && Fits(info.layout, d1, d2, expected_nc, &why)) return info.layout;

  if (d2 == 6) {
    // [B, K, 6] is either v5 with one class or an end-to-end output. A v8
    // reading (6 anchors) is not a real model.
    bool e2e;
    if (info.class_names_given && info.num_classes() != 1) {
      e2e = true;  // v5 would need exactly one class.
    } else {
      e2e = d1 <= kMaxEndToEndRows &&
            d1 != V5AnchorCount(info.input_w, info.input_h, /*p6=*/false) &&
            d1 != V5AnchorCount(info.input_w, info.input_h, /*p6=*/true);
    }
    return e2e ? OutputLayout::kEndToEnd : OutputLayout::kYoloV5;
  }
  if (d1 < d2) {
    if (Fits(OutputLayout::kYoloV8, d1, d2, expected_nc, &why)) return OutputLayout::kYoloV8;
    return UnknownLayout(shape, why);
  }
  if (d2 < d1) {
    if (Fits(OutputLayout::kYoloV5, d1, d2, expected_nc, &why)) return OutputLayout::kYoloV5;
    return UnknownLayout(shape, why);
  }
  // d1 == d2: only known class names can tell v8 (nc = d - 4) from v5 (nc = d - 5).
  if (info.class_names_given) {
    if (Fits(OutputLayout::kYoloV8, d1, d2, expected_nc, &why)) return OutputLayout::kYoloV8;
    if (Fits(OutputLayout::kYoloV5, d1, d2, expected_nc, &why)) return OutputLayout::kYoloV5;
  }
  return UnknownLayout(shape, "square output; cannot tell v8 from v5");
}

bool YoloDecoder::BuildClassFilter(const PostprocessConfig& config, int nc) {
  if (config.classes.empty()) return false;
  allowed_.assign(static_cast<size_t>(std::max(nc, 0)), 0);
  for (int c : config.classes) {
    if (c >= 0 && c < nc) allowed_[c] = 1;
  }
  return true;
}

void YoloDecoder::CollectV8(const float* data, int anchors, int nc,
                            const PostprocessConfig& config) {
  const size_t n = static_cast<size_t>(anchors);
  const bool filter = BuildClassFilter(config, nc);
  const float conf = config.conf;
  const float* cx = data;
  const float* cy = data + n;
  const float* w = data + 2 * n;
  const float* h = data + 3 * n;
  const float* cls0 = data + 4 * n;
  const auto push = [&](size_t a, float score, int cls) {
    const float hw = w[a] * 0.5f;
    const float hh = h[a] * 0.5f;
    candidates_.push_back(NmsCandidate{cx[a] - hw, cy[a] - hh, cx[a] + hw, cy[a] + hh, score, cls,
                                       static_cast<int>(a)});
  };

  // The tensor is channel-major: each class is one contiguous row of `n`
  // floats. A running max per anchor over the class rows reads memory
  // sequentially and vectorises (walking anchor by anchor would stride 4*n
  // bytes per class). Only the max is tracked: a branch-free max+argmax
  // does not vectorise with GCC and costs ~10x more; the argmax is found
  // afterwards for the few anchors above conf. Anchors go in tiles so the
  // running maxima stay in L1, and the tile's class columns (nc * kTile
  // floats) are still in L2 when the argmax scan revisits them.
  constexpr size_t kTile = 512;
  best_score_.resize(std::min(n, kTile));
  tile_class_.resize(std::min(n, kTile));
  float* best = best_score_.data();
  for (size_t a0 = 0; a0 < n; a0 += kTile) {
    const size_t len = std::min(n - a0, kTile);
    std::copy(cls0 + a0, cls0 + a0 + len, best);
    for (int c = 1; c < nc; ++c) {
      const float* row = cls0 + static_cast<size_t>(c) * n + a0;
      for (size_t i = 0; i < len; ++i) best[i] = std::max(best[i], row[i]);
    }
    // Dense tiles (a big object lights up many anchors) get the argmax in
    // one vectorised sweep: the lowest class whose score equals the max, as
    // a float min so the loop has one type and vectorises. Sparse tiles scan
    // per candidate, which stops at the argmax. Break-even is ~1/8 of a tile.
    bool dense = false;
    if (!config.multi_label) {
      size_t count = 0;
      for (size_t i = 0; i < len; ++i) count += best[i] > conf;
      dense = count * 8 >= len;
      if (dense) {
        constexpr float kNone = 1e30f;
        float* arg = tile_class_.data();
        std::fill(arg, arg + len, kNone);
        for (int c = 0; c < nc; ++c) {
          const float* row = cls0 + static_cast<size_t>(c) * n + a0;
          const float cf = static_cast<float>(c);
          for (size_t i = 0; i < len; ++i) {
            arg[i] = std::min(arg[i], row[i] == best[i] ? cf : kNone);
          }
        }
      }
    }
    for (size_t i = 0; i < len; ++i) {
      const float score = best[i];
      if (!(score > conf)) continue;
      const size_t a = a0 + i;
      if (config.multi_label) {
        for (int c = 0; c < nc; ++c) {
          const float v = cls0[static_cast<size_t>(c) * n + a];
          if (v > conf && (!filter || allowed_[c])) push(a, v, c);
        }
        continue;
      }
      // The first class holding the max is the argmax (lowest id on ties,
      // as torch.max on CPU); the scan usually stops well before nc.
      int cls = 0;
      if (dense) {
        // A finite max always equals some class score; the guard only keeps
        // a cast of kNone impossible.
        const float k = tile_class_[i];
        cls = k < static_cast<float>(nc) ? static_cast<int>(k) : 0;
      } else {
        while (cls < nc - 1 && cls0[static_cast<size_t>(cls) * n + a] != score) ++cls;
      }
      if (filter && !allowed_[cls]) continue;
      push(a, score, cls);
    }
  }
}

void YoloDecoder::CollectV5(const float* data, int anchors, int row_size, int nc,
                            const PostprocessConfig& config) {
  const bool filter = BuildClassFilter(config, nc);
  const float conf = config.conf;
  for (int a = 0; a < anchors; ++a) {
    const float* row = data + static_cast<size_t>(a) * row_size;
    const float obj = row[4];
    // YOLOv5 drops anchors by objectness first; obj * cls <= obj, so no
    // anchor below the threshold could pass on its product either.
    if (!(obj > conf)) continue;
    const float hw = row[2] * 0.5f;
    const float hh = row[3] * 0.5f;
    NmsCandidate cand{row[0] - hw, row[1] - hh, row[0] + hw, row[1] + hh, 0.f, 0, a};
    if (config.multi_label) {
      for (int c = 0; c < nc; ++c) {
        const float score = row[5 + c] * obj;
        if (score > conf && (!filter || allowed_[c])) {
          cand.score = score;
          cand.class_id = c;
          candidates_.push_back(cand);
        }
      }
      continue;
    }
    // Score is obj * cls, maximised over classes (the products, as YOLOv5
    // computes them, so rounding ties resolve the same way).
    float best = row[5] * obj;
    int best_cls = 0;
    for (int c = 1; c < nc; ++c) {
      const float score = row[5 + c] * obj;
      if (score > best) {
        best = score;
        best_cls = c;
      }
    }
    if (!(best > conf) || (filter && !allowed_[best_cls])) continue;
    cand.score = best;
    cand.class_id = best_cls;
    candidates_.push_back(cand);
  }
}

void YoloDecoder::CollectEndToEnd(const float* data, int rows, int row_size,
                                  const PostprocessConfig& config) {
  int filter_size = 0;
  for (int c : config.classes) filter_size = std::max(filter_size, c + 1);
  const bool filter = BuildClassFilter(config, filter_size);
  for (int r = 0; r < rows; ++r) {
    const float* row = data + static_cast<size_t>(r) * row_size;
    const float score = row[4];
    if (!(score > config.conf)) continue;
    // Class ids arrive as floats; padding rows may hold garbage.
    const float cls_f = row[5];
    if (!(cls_f >= 0.f && cls_f < static_cast<float>(INT_MAX))) continue;
    const int cls = static_cast<int>(std::lround(cls_f));
    if (filter && (cls >= filter_size || !allowed_[cls])) continue;
    candidates_.push_back(NmsCandidate{row[0], row[1], row[2], row[3], score, cls, r});
  }
}

Status YoloDecoder::Decode(const float* data, const std::vector<int64_t>& shape, int batch_index,
                           OutputLayout layout, const LetterboxTransform& letterbox,
                           const PostprocessConfig& config, Detections* out) {
  if (out == nullptr) return InvalidArgumentError("Decode: null output");
  out->clear();
  YS_RETURN_IF_ERROR(config.Validate());
  if (data == nullptr) return InvalidArgumentError("Decode: null data");
  if (shape.size() != 3) {
    return InvalidArgumentError("Decode: expected a rank-3 output, got " + ShapeString(shape));
  }
  for (int64_t d : shape) {
    if (d < 0 || d > INT_MAX) {
      return InvalidArgumentError("Decode: bad output shape " + ShapeString(shape));
    }
  }
  if (batch_index < 0 || batch_index >= shape[0]) {
    return InvalidArgumentError("Decode: batch index " + std::to_string(batch_index) +
                                " out of range for output " + ShapeString(shape));
  }
  if (!(letterbox.gain_x > 0.f && letterbox.gain_y > 0.f && std::isfinite(letterbox.gain_x) &&
        std::isfinite(letterbox.gain_y) && std::isfinite(letterbox.pad_x) &&
        std::isfinite(letterbox.pad_y)) ||
      letterbox.orig_w <= 0 || letterbox.orig_h <= 0) {
    return InvalidArgumentError("Decode: bad letterbox (gains must be > 0, image size > 0)");
  }
  const int d1 = static_cast<int>(shape[1]);
  const int d2 = static_cast<int>(shape[2]);
  const float* base = data + static_cast<int64_t>(batch_index) * d1 * d2;

  // Only the channel minimum is checked here: Decode knows no class names.
  std::string why;
  if (!Fits(layout, d1, d2, /*expected_nc=*/-1, &why)) {
    return InvalidArgumentError("Decode: output " + ShapeString(shape) + " is not " +
                                OutputLayoutName(layout) + ": " + why);
  }
  candidates_.clear();
  kept_.clear();
  NmsOptions nms_options;
  nms_options.iou_threshold = config.iou;
  nms_options.agnostic = config.agnostic;
  nms_options.max_det = config.max_det;
  nms_options.max_candidates = config.max_nms;

  if (layout == OutputLayout::kEndToEnd) {
    CollectEndToEnd(base, d1, d2, config);
    // NMS already ran inside the model; only order and cap.
    const size_t keep = std::min(candidates_.size(), static_cast<size_t>(config.max_det));
    std::partial_sort(candidates_.begin(), candidates_.begin() + keep, candidates_.end(),
                      Nms::Before);
    kept_.assign(candidates_.begin(), candidates_.begin() + keep);
  } else {
    const int available = layout == OutputLayout::kYoloV8 ? d1 - 4 : d2 - 5;
    if (config.num_classes > available) {
      return InvalidArgumentError("Decode: num_classes " + std::to_string(config.num_classes) +
                                  " exceeds the " + std::to_string(available) +
                                  " class channels of " + ShapeString(shape));
    }
    const int nc = config.num_classes > 0 ? config.num_classes : available;
    if (layout == OutputLayout::kYoloV8) {
      CollectV8(base, d2, nc, config);
    } else {
      CollectV5(base, d1, d2, nc, config);
    }
    nms_.Run(nms_options, &candidates_, &kept_);
  }

  out->reserve(kept_.size());
  for (const NmsCandidate& k : kept_) {
    Detection det;
    det.x1 = letterbox.ToOrigX(k.x1);
    det.y1 = letterbox.ToOrigY(k.y1);
    det.x2 = letterbox.ToOrigX(k.x2);
    det.y2 = letterbox.ToOrigY(k.y2);
    det.score = k.score;
    det.class_id = k.class_id;
    out->push_back(det);
  }
  return Status::Ok();
}

}  // namespace yoloscope
