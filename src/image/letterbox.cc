#include "image/letterbox.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#if YOLOSCOPE_HAVE_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#else
#include "image/plain_image_ops.h"
#endif

namespace yoloscope {
namespace {

// Python's round() is half-to-even; nearbyint matches it under the default
// rounding mode, which is what makes new_unpad agree with Ultralytics on
// exact .5 cases (1.5 -> 2, 2.5 -> 2).
int RoundHalfEven(double v) { return static_cast<int>(std::nearbyint(v)); }

Status CheckImage(const Image& image) {
  if (image.empty() || image.channels != 3 ||
      image.data.size() < static_cast<size_t>(image.width) * image.height * 3) {
    return InvalidArgumentError("letterbox needs a non-empty 3-channel image, got " +
                                std::to_string(image.width) + "x" + std::to_string(image.height) +
                                "x" + std::to_string(image.channels));
  }
  return Status::Ok();
}

#if YOLOSCOPE_HAVE_OPENCV
cv::Mat Wrap(const Image& image) {
  return cv::Mat(image.height, image.width, CV_8UC3, const_cast<uint8_t*>(image.data.data()));
}
#endif

}  // namespace

Letterbox::Letterbox(const LetterboxOptions& options) : options_(options) {
  for (int v = 0; v < 256; ++v) lut_[v] = static_cast<float>(v) / 255.f;
}

StatusOr<LetterboxGeometry> Letterbox::ComputeGeometry(int src_w, int src_h,
                                                       const LetterboxOptions& options) {
  if (src_w <= 0 || src_h <= 0) {
    return InvalidArgumentError("letterbox source size " + std::to_string(src_w) + "x" +
                                std::to_string(src_h) + " is empty");
  }
  if (options.width <= 0 || options.height <= 0 || (options.auto_pad && options.stride <= 0)) {
    return InvalidArgumentError("letterbox target " + std::to_string(options.width) + "x" +
                                std::to_string(options.height) + " stride " +
                                std::to_string(options.stride) + " is invalid");
  }
  LetterboxGeometry g;
  g.src_w = src_w;
  g.src_h = src_h;
  // Same operation order and precision (float64) as the Python original.
  double r = std::min(static_cast<double>(options.height) / src_h,
                      static_cast<double>(options.width) / src_w);
  if (!options.scaleup) r = std::min(r, 1.0);
  g.ratio = r;
  g.resized_w = std::clamp(RoundHalfEven(src_w * r), 1, options.width);
  g.resized_h = std::clamp(RoundHalfEven(src_h * r), 1, options.height);
  int dw = options.width - g.resized_w;
  int dh = options.height - g.resized_h;
  if (options.auto_pad) {
    dw %= options.stride;  // Both non-negative: same as np.mod.
    dh %= options.stride;
  }
  if (options.center) {
    const double half_w = dw / 2.0;
    const double half_h = dh / 2.0;
    g.top = RoundHalfEven(half_h - 0.1);
    g.bottom = RoundHalfEven(half_h + 0.1);
    g.left = RoundHalfEven(half_w - 0.1);
    g.right = RoundHalfEven(half_w + 0.1);
  } else {
    g.bottom = dh;
    g.right = dw;
  }
  g.out_w = g.resized_w + g.left + g.right;
  g.out_h = g.resized_h + g.top + g.bottom;
  return g;
}

LetterboxTransform Letterbox::MakeTransform(const LetterboxGeometry& geometry,
                                            const LetterboxSource& source) {
  LetterboxTransform t;
  const bool has_source = source.orig_w > 0 && source.orig_h > 0;
  // The exact DCT factor rather than decoded/original sizes: the decoded
  // width is rounded up to whole pixels, the factor is not.
  const double scale = has_source ? source.scale : 1.0;
  const float gain = static_cast<float>(geometry.ratio * scale);
  t.gain_x = gain;
  t.gain_y = gain;
  t.pad_x = static_cast<float>(geometry.left);
  t.pad_y = static_cast<float>(geometry.top);
  t.orig_w = has_source ? source.orig_w : geometry.src_w;
  t.orig_h = has_source ? source.orig_h : geometry.src_h;
  return t;
}

StatusOr<const Image*> Letterbox::Resize(const Image& image, const LetterboxGeometry& geometry) {
  if (geometry.resized_w == image.width && geometry.resized_h == image.height) return &image;
#if YOLOSCOPE_HAVE_OPENCV
  resized_.Resize(geometry.resized_w, geometry.resized_h, 3);
  cv::Mat dst = Wrap(resized_);
  try {
    cv::resize(Wrap(image), dst, dst.size(), 0, 0, cv::INTER_LINEAR);
  } catch (const cv::Exception& e) {
    return InternalError(std::string("letterbox resize failed: ") + e.what());
  }
#else
  YS_RETURN_IF_ERROR(
      PlainImageOps::ResizeBilinear(image, geometry.resized_w, geometry.resized_h, &resized_));
#endif
  return &resized_;
}

StatusOr<LetterboxTransform> Letterbox::ToTensor(const Image& image, float* dst, size_t dst_floats,
                                                 const LetterboxSource& source,
                                                 LetterboxGeometry* geometry) {
  YS_RETURN_IF_ERROR(CheckImage(image));
  YS_ASSIGN_OR_RETURN(const LetterboxGeometry g,
                      ComputeGeometry(image.width, image.height, options_));
  if (dst == nullptr || dst_floats < g.TensorFloats()) {
    return InvalidArgumentError("letterbox tensor slot holds " + std::to_string(dst_floats) +
                                " floats, needs " + std::to_string(g.TensorFloats()));
  }
  YS_ASSIGN_OR_RETURN(const Image* resized, Resize(image, g));

  // One pass over the output: padding, /255 and HWC -> CHW together, each
  // float written once, so the 4.9 MB tensor streams through the cache once.
  const size_t plane = static_cast<size_t>(g.out_w) * g.out_h;
  const float pad = lut_[options_.pad_value];
  const float* lut = lut_.data();
  const int right_start = g.left + g.resized_w;
  for (int y = 0; y < g.out_h; ++y) {
    float* r = dst + static_cast<size_t>(y) * g.out_w;
    float* gr = r + plane;
    float* b = gr + plane;
    const int sy = y - g.top;
    if (sy < 0 || sy >= g.resized_h) {
      std::fill_n(r, g.out_w, pad);
      std::fill_n(gr, g.out_w, pad);
      std::fill_n(b, g.out_w, pad);
      continue;
    }
    std::fill_n(r, g.left, pad);
    std::fill_n(gr, g.left, pad);
    std::fill_n(b, g.left, pad);
    const uint8_t* s = resized->row(sy);
    float* rr = r + g.left;
    float* gg = gr + g.left;
    float* bb = b + g.left;
    for (int x = 0; x < g.resized_w; ++x, s += 3) {
      rr[x] = lut[s[0]];
      gg[x] = lut[s[1]];
      bb[x] = lut[s[2]];
    }
    std::fill_n(r + right_start, g.right, pad);
    std::fill_n(gr + right_start, g.right, pad);
    std::fill_n(b + right_start, g.right, pad);
  }
  if (geometry != nullptr) *geometry = g;
  return MakeTransform(g, source);
}

StatusOr<LetterboxTransform> Letterbox::ToImage(const Image& image, Image* out,
                                                const LetterboxSource& source,
                                                LetterboxGeometry* geometry) {
  YS_RETURN_IF_ERROR(CheckImage(image));
  if (out == nullptr || out == &image) {
    return InvalidArgumentError("letterbox ToImage needs a separate output image");
  }
  YS_ASSIGN_OR_RETURN(const LetterboxGeometry g,
                      ComputeGeometry(image.width, image.height, options_));
  out->Resize(g.out_w, g.out_h, 3);
  // Pad everything, then resize straight into the interior: cv::resize's
  // create() keeps an ROI header whose size and type already match.
  std::memset(out->data.data(), options_.pad_value, out->data.size());
#if !YOLOSCOPE_HAVE_OPENCV
  const size_t out_stride = static_cast<size_t>(g.out_w) * 3;
  uint8_t* interior =
      out->data.data() + static_cast<size_t>(g.top) * out_stride + static_cast<size_t>(g.left) * 3;
  if (g.resized_w == image.width && g.resized_h == image.height) {
    for (int y = 0; y < g.resized_h; ++y) {
      std::memcpy(interior + y * out_stride, image.row(y), static_cast<size_t>(g.resized_w) * 3);
    }
  } else {
    YS_RETURN_IF_ERROR(PlainImageOps::ResizeBilinear(image.data.data(), image.width, image.height,
                                                     static_cast<size_t>(image.width) * 3, interior,
                                                     g.resized_w, g.resized_h, out_stride));
  }
#else
  cv::Mat roi = Wrap(*out)(cv::Rect(g.left, g.top, g.resized_w, g.resized_h));
  try {
    if (g.resized_w == image.width && g.resized_h == image.height) {
      Wrap(image).copyTo(roi);
    } else {
      cv::resize(Wrap(image), roi, roi.size(), 0, 0, cv::INTER_LINEAR);
    }
  } catch (const cv::Exception& e) {
    return InternalError(std::string("letterbox resize failed: ") + e.what());
  }
  if (roi.data != out->data.data() + (static_cast<size_t>(g.top) * g.out_w + g.left) * 3) {
    return InternalError("OpenCV reallocated the letterbox output");
  }
#endif
  if (geometry != nullptr) *geometry = g;
  return MakeTransform(g, source);
}

}  // namespace yoloscope
