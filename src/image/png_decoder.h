// PngDecoder: decodes a PNG held in memory to 8-bit RGB through libpng, the
// PNG path of builds without OpenCV. Its output is pixel for pixel what
// cv::imdecode(IMREAD_COLOR) gives (the default build's PNG path; the tests
// compare the two), for every PNG colour type and depth:
//   gray 1/2/4/8 bit    -> replicated to R = G = B (low depths scaled to 8 bit)
//   palette 1/2/4/8 bit -> the palette's colours
//   16-bit channels     -> their high byte
//   alpha, tRNS         -> dropped (not composited), as OpenCV does
// Gamma, colour profiles and EXIF are ignored; interlaced files are fine.
//
// Errors: kDataLoss for truncated or corrupt data (libpng's message),
// kOutOfRange for more than max_pixels (checked on the header, before any
// pixel buffer), kInternal when libpng cannot be set up. libpng's warnings
// (bad ancillary chunks) are ignored, as OpenCV ignores them.
//
// Stateless; thread-safe (libpng keeps its state per call).
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/status.h"
#include "image/image.h"

namespace yoloscope {

class PngDecoder {
 public:
  // Decodes `data[0, size)` (borrowed for the call) into `out` (RGB,
  // reusing its capacity). On error `out` holds no valid picture.
  static Status Decode(const uint8_t* data, size_t size, int64_t max_pixels, Image* out);
};

}  // namespace yoloscope
