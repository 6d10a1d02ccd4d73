// Fuzzes ImageDecoder::Decode on small inputs: TurboJPEG for JPEG (scaled
// decoding, EXIF orientation), OpenCV for PNG/BMP/WebP (libpng for PNG in
// builds without OpenCV). The pixel limit is kept small (the server's is 40 M)
// so that a tiny header claiming a huge image is refused rather than
// allocated; the first byte picks the options.
// Properties: a decoded image has the size the result reports.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_input.h"
#include "image/image.h"
#include "image/image_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  yoloscope::fuzz::FuzzInput input(data, size);
  const uint8_t mode = input.TakeByte();
  yoloscope::DecodeOptions options;
  options.max_pixels = 1 << 20;
  if (mode & 1) options.target_w = options.target_h = 64;
  options.power_of_two_scales_only = !(mode & 2);
  options.apply_exif_orientation = !(mode & 4);
  options.fast_dct = mode & 8;
  options.strict_jpeg = mode & 16;
  static yoloscope::ImageDecoder* decoder = new yoloscope::ImageDecoder();
  yoloscope::Image image;
  auto bytes = reinterpret_cast<const uint8_t*>(input.rest().data());
  auto result = decoder->Decode(bytes, input.rest().size(), options, &image);
  if (!result.ok()) return 0;
  yoloscope::fuzz::Check(
      image.width == result->decoded_width && image.height == result->decoded_height,
      "decoded size differs from the result");
  yoloscope::fuzz::Check(
      image.data.size() == static_cast<size_t>(image.width) * image.height * image.channels,
      "pixel buffer size");
  return 0;
}
