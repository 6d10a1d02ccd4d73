// Letterbox: resizes an RGB image to the network input keeping its aspect
// ratio and pads the rest, with exactly the semantics of Ultralytics'
// LetterBox (ultralytics/data/augment.py):
//   r = min(new_h / h, new_w / w)            (r = min(r, 1) without scaleup)
//   new_unpad = (round(w * r), round(h * r))  (Python round: half to even)
//   dw, dh = new_w - new_unpad_w, new_h - new_unpad_h
//   auto:  dw, dh = dw mod stride, dh mod stride   (minimum rectangle)
//   center: dw /= 2, dh /= 2
//   resize (bilinear) only if the size changes
//   top = round(dh - 0.1), bottom = round(dh + 0.1), left/right likewise
//   pad value 114
// One deliberate difference: new_unpad is at least 1 pixel per axis (a
// 1x4000 image would otherwise ask OpenCV for a 0-wide resize and throw).
//
// ToTensor then writes the network input in one fused pass: planar NCHW
// float32, channel order R, G, B, values pixel / 255, padding 114 / 255,
// straight into a caller-owned slot of a batch buffer. It also returns the
// LetterboxTransform from network pixels back to ORIGINAL image pixels,
// folding in any DCT downscale the decoder applied (see LetterboxSource).
//
// Thread-safety: an instance is used by one thread at a time (it owns a
// reusable resize buffer, so the hot path does not allocate once it has seen
// its largest image). ComputeGeometry and MakeTransform are static and pure.
// cv::resize may use OpenCV's worker threads; the process decides that with
// cv::setNumThreads. Builds without OpenCV (YOLOSCOPE_USE_OPENCV=OFF) resize
// with PlainImageOps::ResizeBilinear on the calling thread (the same bytes
// as cv::resize, more slowly).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "common/letterbox_transform.h"
#include "common/status.h"
#include "image/image.h"
#include "image/image_decoder.h"

namespace yoloscope {

struct LetterboxOptions {
  int width = 640;        // Network input width, pixels.
  int height = 640;       // Network input height, pixels.
  bool scaleup = true;    // Allow r > 1 (Ultralytics' default).
  bool auto_pad = false;  // Ultralytics `auto`: pad only up to a multiple of stride.
  int stride = 32;        // Used by auto_pad only.
  bool center = true;     // Centre the picture (false: pad right/bottom only).
  uint8_t pad_value = 114;
};

// The numbers of one letterbox operation, in pixels of the image it is
// applied to (the "source").
struct LetterboxGeometry {
  int src_w = 0, src_h = 0;
  double ratio = 1.0;                // r.
  int resized_w = 0, resized_h = 0;  // new_unpad.
  int left = 0, top = 0, right = 0, bottom = 0;
  // Output size: resized + padding. Equals (options.width, options.height)
  // unless auto_pad shrank it.
  int out_w = 0, out_h = 0;

  size_t TensorFloats() const { return static_cast<size_t>(3) * out_w * out_h; }
};

// How the image handed to Letterbox relates to the original picture: the
// decoder may have shrunk it by a DCT scale (decoded px = original px *
// scale). orig_w == 0 means the image is the original.
struct LetterboxSource {
  int orig_w = 0;
  int orig_h = 0;
  double scale = 1.0;

  static LetterboxSource FromDecode(const DecodeResult& decoded) {
    return {decoded.orig_width, decoded.orig_height, decoded.scale()};
  }
};

class Letterbox {
 public:
  explicit Letterbox(const LetterboxOptions& options = {});

  const LetterboxOptions& options() const { return options_; }

  // Ultralytics geometry for a src_w x src_h image. kInvalidArgument for
  // non-positive sizes or options (stride <= 0 with auto_pad).
  static StatusOr<LetterboxGeometry> ComputeGeometry(int src_w, int src_h,
                                                     const LetterboxOptions& options);

  // Network -> original mapping: gain = r * source.scale on both axes (the
  // single gain Ultralytics' scale_boxes uses), pad = (left, top), orig
  // size = the source's (or the geometry's src size when orig_w == 0).
  static LetterboxTransform MakeTransform(const LetterboxGeometry& geometry,
                                          const LetterboxSource& source = {});

  // Letterboxes `image` (RGB, 3 channels) into `dst`, which must hold at
  // least geometry.TensorFloats() floats (3 * height * width without
  // auto_pad; kInvalidArgument otherwise): plane 0 = R, 1 = G, 2 = B, each
  // out_h x out_w, row-major. `dst` is borrowed for the call. Fills
  // *geometry when given.
  StatusOr<LetterboxTransform> ToTensor(const Image& image, float* dst, size_t dst_floats,
                                        const LetterboxSource& source = {},
                                        LetterboxGeometry* geometry = nullptr);
  // Same, for an image straight out of ImageDecoder::Decode.
  StatusOr<LetterboxTransform> ToTensor(const Image& image, const DecodeResult& decoded, float* dst,
                                        size_t dst_floats) {
    return ToTensor(image, dst, dst_floats, LetterboxSource::FromDecode(decoded));
  }

  // Letterboxes into an 8-bit RGB image (for drawing and debugging); `out`
  // is resized to out_w x out_h, reusing its capacity. Same geometry and
  // transform as ToTensor.
  StatusOr<LetterboxTransform> ToImage(const Image& image, Image* out,
                                       const LetterboxSource& source = {},
                                       LetterboxGeometry* geometry = nullptr);

 private:
  // Returns the resized picture (the image itself when no resize is needed,
  // else resized_).
  StatusOr<const Image*> Resize(const Image& image, const LetterboxGeometry& geometry);

  LetterboxOptions options_;
  Image resized_;                 // Reused resize output.
  std::array<float, 256> lut_{};  // v -> v / 255.f (division, as torch does).
};

}  // namespace yoloscope
