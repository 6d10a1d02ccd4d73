// ImageEncoder: encodes an 8-bit RGB Image to JPEG (TurboJPEG) or PNG
// (libpng) in memory, without OpenCV: the annotated copies of builds
// without OpenCV and test images in every build.
//
// Errors: kInvalidArgument for an empty or non-3-channel image or a quality
// outside 1-100; kInternal when the library fails.
//
// Stateless; thread-safe (each call has its own encoder state).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "image/image.h"

namespace yoloscope {

class ImageEncoder {
 public:
  // Baseline JPEG, 4:2:0 chroma subsampling, `quality` 1-100.
  static StatusOr<std::vector<uint8_t>> EncodeJpeg(const Image& rgb, int quality = 95);
  // 8-bit RGB PNG, zlib's default compression, not interlaced.
  static StatusOr<std::vector<uint8_t>> EncodePng(const Image& rgb);
  // By a file name's extension, case-insensitive: ".jpg"/".jpeg" -> JPEG
  // (quality 95, cv::imwrite's default), ".png" -> PNG. kInvalidArgument
  // for any other extension.
  static StatusOr<std::vector<uint8_t>> EncodeForPath(const Image& rgb, std::string_view path);
};

}  // namespace yoloscope
