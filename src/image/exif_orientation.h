// ApplyExifOrientation: turns a decoded picture upright according to its
// EXIF orientation tag (1-8), the way cameras and browsers interpret it:
//   1 as is          2 mirror left-right     3 rotate 180      4 mirror top-bottom
//   5 transpose      6 rotate 90 clockwise   7 transverse      8 rotate 90 counter-clockwise
// (5-8 swap width and height). Stateless; thread-safe.
#pragma once

#include "common/status.h"
#include "image/image.h"

namespace yoloscope {

// Writes the upright version of `src` into `dst` (resized; its capacity is
// reused). `src` and `dst` must be different objects. Orientation 1 copies.
// Errors: kInvalidArgument for an orientation outside 1-8, for src == dst
// or for a src that is not 3-channel; kInternal if OpenCV throws. Builds
// without OpenCV use PlainImageOps::ApplyExifOrientation (same pixels).
Status ApplyExifOrientation(const Image& src, int orientation, Image* dst);

}  // namespace yoloscope
