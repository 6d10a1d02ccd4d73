// Fuzzes the image header probe (src/image/image_probe): format sniffing and
// the size of JPEG (SOF markers, EXIF APP1), PNG, BMP, WebP (VP8/VP8L/VP8X),
// GIF, TIFF and HEIF headers, as read from an uploaded body before decoding.
// Properties: a recognised image has a positive size; orientation is 1..8.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_input.h"
#include "image/image_probe.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto info = yoloscope::ProbeImage(data, size);
  if (!info.ok()) return 0;
  yoloscope::fuzz::Check(info->orientation >= 1 && info->orientation <= 8, "orientation");
  yoloscope::fuzz::Check(info->width >= 0 && info->height >= 0, "negative size");
  return 0;
}
