// ImageInfo: what an image's header says, read without decoding any pixels
// (see ImageProbe in image_probe.h). Value type, thread-safe to copy.
#pragma once

#include <string_view>

namespace yoloscope {

// Container formats told apart by their magic bytes. Only kJpeg, kPng, kBmp
// and kWebp can be decoded; the others are recognised so that the error can
// name them ("unsupported image format (GIF)").
enum class ImageFormat {
  kUnknown = 0,
  kJpeg,
  kPng,
  kBmp,
  kWebp,
  kGif,
  kTiff,
  kHeif,  // HEIC / AVIF (ISO-BMFF "ftyp" box).
};

// "JPEG", "PNG", "BMP", "WebP", "GIF", "TIFF", "HEIF", "unknown".
std::string_view ImageFormatName(ImageFormat format);

struct ImageInfo {
  ImageFormat format = ImageFormat::kUnknown;
  // Pixel size as stored in the file, before any EXIF orientation.
  int width = 0;
  int height = 0;
  // EXIF orientation tag (1-8) from a JPEG APP1 segment; 1 when absent,
  // invalid, or the format is not JPEG. 5-8 swap width and height.
  int orientation = 1;

  bool SwapsAxes() const { return orientation >= 5 && orientation <= 8; }
  // Size of the upright picture, i.e. after applying `orientation`.
  int UprightWidth() const { return SwapsAxes() ? height : width; }
  int UprightHeight() const { return SwapsAxes() ? width : height; }
};

}  // namespace yoloscope
