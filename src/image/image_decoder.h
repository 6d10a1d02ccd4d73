// ImageDecoder: decodes JPEG, PNG, BMP and WebP held in memory into an RGB
// Image, after probing the header and refusing oversized images before any
// pixel buffer is allocated.
//
// JPEG goes through TurboJPEG straight to RGB and can be shrunk during
// decoding (DCT-domain scaling by 1/8..7/8) when the caller says how large
// the network input is: the decoder then picks the smallest scale that still
// leaves at least as many pixels as the letterbox resize needs, so the final
// tensor loses nothing. EXIF orientation (JPEG only) is applied so the output
// is upright. PNG, BMP and WebP go through cv::imdecode (no scaling; their
// EXIF, if any, is ignored).
//
// Builds without OpenCV (YOLOSCOPE_USE_OPENCV=OFF) decode PNG through libpng
// (PngDecoder, the same pixels) and CMYK JPEG through TurboJPEG plus
// PlainImageOps::CmykToRgb (within 1 level of OpenCV); BMP and WebP are then
// kUnimplemented ("... this build has no OpenCV").
//
// Error codes (the server maps them to outcomes, server/outcome.h):
//   kInvalidArgument   empty input, unknown format  -> 400
//   kUnimplemented     a recognised format it does not decode (GIF, TIFF,
//                      HEIF, animated WebP, 12-bit/lossless JPEG; BMP and
//                      WebP without OpenCV)  -> 415
//   kDataLoss          truncated or corrupt data ("truncated JPEG: ...")  -> 422
//   kOutOfRange        more pixels than DecodeOptions::max_pixels, detected
//                      from the header before decoding  -> 422
//   kInternal          a library failed in an unexpected way  -> 500
// No exception escapes (OpenCV exceptions are caught and converted).
//
// Thread-safety: one instance is used by one thread at a time (it owns a
// TurboJPEG handle and scratch buffers). Instances are cheap (the handle is
// created on the first JPEG); keep one per worker thread. Probe is static and
// thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/status.h"
#include "image/image.h"
#include "image/image_info.h"

namespace yoloscope {

struct DecodeOptions {
  // Refuse images whose stored width * height exceeds this (kOutOfRange).
  int64_t max_pixels = 40'000'000;
  // Network input size (pixels). When both are > 0, a JPEG may be decoded at
  // a reduced DCT scale, never smaller than the size a letterbox to
  // target_w x target_h resizes the picture to, in either dimension (with or
  // without letterbox scale-up: DCT scaling only ever shrinks). 0 = always
  // decode at full size.
  int target_w = 0;
  int target_h = 0;
  // Restrict DCT scaling to 1/2, 1/4 and 1/8. libjpeg-turbo 2.1 has fast
  // IDCTs only for those; the other factors (7/8 .. 3/8) scale chroma with
  // large generic IDCTs and measured as slow as or slower than a full-size
  // decode on x86-64 (1080p q90: full 4.9 ms, 7/8 9.3, 3/8 4.4, 1/2 3.8).
  // false = any TurboJPEG factor <= 1 (smallest sufficient).
  bool power_of_two_scales_only = true;
  // Apply the JPEG EXIF orientation tag so the output is upright.
  bool apply_exif_orientation = true;
  // libjpeg-turbo's fast integer IDCT: slightly less accurate and, with the
  // AVX2 IDCT, no measurable gain here; off so pixels match cv::imdecode.
  bool fast_dct = false;
  // Corrupt-data warnings from libjpeg (e.g. "extraneous bytes before
  // marker") are errors when true. A truncated JPEG is an error either way.
  bool strict_jpeg = false;
};

struct DecodeResult {
  ImageFormat format = ImageFormat::kUnknown;
  // Size of the upright original picture (after EXIF orientation, before
  // any DCT downscale): the coordinate system detections are reported in.
  int orig_width = 0;
  int orig_height = 0;
  // Size of the decoded image written to `out` (upright; <= orig when a DCT
  // scale below 1 was used).
  int decoded_width = 0;
  int decoded_height = 0;
  // DCT scale used: decoded pixel = original pixel * scale_num / scale_denom
  // (1/1 unless a JPEG was shrunk while decoding).
  int scale_num = 1;
  int scale_denom = 1;
  // EXIF orientation found in the file (1-8) and whether it was applied.
  int orientation = 1;
  bool orientation_applied = false;
  // A non-fatal libjpeg warning tolerated because strict_jpeg was false.
  std::string warning;

  double scale() const { return static_cast<double>(scale_num) / scale_denom; }
};

class ImageDecoder {
 public:
  ImageDecoder() = default;
  ~ImageDecoder();
  ImageDecoder(ImageDecoder&& other) noexcept;
  ImageDecoder& operator=(ImageDecoder&& other) noexcept;
  ImageDecoder(const ImageDecoder&) = delete;
  ImageDecoder& operator=(const ImageDecoder&) = delete;

  // Reads format, stored size and EXIF orientation from the header only
  // (see ProbeImage in image_probe.h). `data` is borrowed for the call.
  static StatusOr<ImageInfo> Probe(const uint8_t* data, size_t size);

  // Decodes `data[0, size)` (borrowed for the call) into `out` as RGB HWC,
  // reusing out's capacity. On error `out` may have been resized but holds
  // no valid picture.
  StatusOr<DecodeResult> Decode(const uint8_t* data, size_t size, const DecodeOptions& options,
                                Image* out);

  // The DCT scale (num/denom, one of TurboJPEG's factors <= 1, see
  // power_of_two_scales_only) Decode would use for an upright image of
  // orig_w x orig_h and the given options: the smallest whose scaled size
  // (rounded up) is at least the letterbox resize size in both dimensions.
  // Exposed for tests and planning.
  static void ChooseJpegScale(int orig_w, int orig_h, const DecodeOptions& options, int* num,
                              int* denom);

 private:
  Status EnsureJpegHandle();
  StatusOr<DecodeResult> DecodeJpeg(const uint8_t* data, size_t size, const ImageInfo& info,
                                    const DecodeOptions& options, Image* out);
  // Everything but TurboJPEG's JPEG: cv::imdecode, or without OpenCV
  // libpng for PNG and an error for the rest.
  StatusOr<DecodeResult> DecodeOther(const uint8_t* data, size_t size, const ImageInfo& info,
                                     const DecodeOptions& options, Image* out);

  void* tj_handle_ = nullptr;  // tjhandle, owned; created on the first JPEG.
  Image rotate_scratch_;       // Decoded image before EXIF orientation.
  Image cmyk_scratch_;         // CMYK JPEG before RGB conversion (no-OpenCV builds).
};

}  // namespace yoloscope
