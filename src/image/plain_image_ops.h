// PlainImageOps: the pixel operations of the image module in plain C++, for
// builds without OpenCV (YOLOSCOPE_USE_OPENCV=OFF): bilinear resize, EXIF
// orientation and CMYK -> RGB. They are compiled into every build so the
// tests can hold them against OpenCV, which the default build keeps using
// (its SIMD resize is several times faster):
//   ResizeBilinear        cv::resize(INTER_LINEAR) exactly (its fixed-point
//                         arithmetic, so letterboxes match Ultralytics' bytes)
//   ApplyExifOrientation  cv::flip / cv::transpose exactly
//   CmykToRgb             OpenCV's CMYK JPEG conversion exactly
// All images are 8-bit interleaved; RGB means 3 channels.
//
// Stateless; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/status.h"
#include "image/image.h"

namespace yoloscope {

class PlainImageOps {
 public:
  // Resizes the src_w x src_h 3-channel image at `src` (rows src_stride
  // bytes apart) to dst_w x dst_h at `dst` (rows dst_stride bytes apart;
  // `dst` may be a window of a larger image), giving the bytes
  // cv::resize(INTER_LINEAR) gives: pixel centres aligned (src x =
  // (dst x + 0.5) * src_w / dst_w - 0.5, clamped at the edges), its
  // fixed-point rounding, and a 2x2 mean when both axes halve exactly. The
  // buffers must not overlap. kInvalidArgument for non-positive sizes, null
  // pointers or strides shorter than a row.
  static Status ResizeBilinear(const uint8_t* src, int src_w, int src_h, size_t src_stride,
                               uint8_t* dst, int dst_w, int dst_h, size_t dst_stride);
  // The same for whole images: `dst` (not `src`) is resized to dst_w x dst_h.
  static Status ResizeBilinear(const Image& src, int dst_w, int dst_h, Image* dst);

  // Same contract as ApplyExifOrientation (image/exif_orientation.h): the
  // upright version of the 3-channel `src` for EXIF orientation 1-8 into
  // `dst` (a different object). kInvalidArgument otherwise.
  static Status ApplyExifOrientation(const Image& src, int orientation, Image* dst);

  // Converts `pixels` CMYK pixels as libjpeg outputs them for Adobe JPEGs
  // (inverted: 255 = no ink) to RGB. `rgb` must hold 3 * pixels bytes.
  static void CmykToRgb(const uint8_t* cmyk, size_t pixels, uint8_t* rgb);
};

}  // namespace yoloscope
