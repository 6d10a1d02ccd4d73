// Fuzzes the EXIF reader (ParseExifOrientation over a JPEG APP1 payload:
// "Exif\0\0" + a TIFF header, IFD0 entries, both byte orders) and applies the
// orientation found to a small image (ApplyExifOrientation).
// Properties: the orientation is 1..8; applying it keeps the pixel count.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_input.h"
#include "image/exif_orientation.h"
#include "image/image.h"
#include "image/image_probe.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int orientation = yoloscope::ParseExifOrientation(data, size);
  yoloscope::fuzz::Check(orientation >= 1 && orientation <= 8, "orientation out of 1..8");
  yoloscope::Image src;
  src.Resize(3, 2);
  for (size_t i = 0; i < src.data.size(); ++i) src.data[i] = static_cast<uint8_t>(i);
  yoloscope::Image dst;
  if (yoloscope::ApplyExifOrientation(src, orientation, &dst).ok()) {
    yoloscope::fuzz::Check(dst.data.size() == src.data.size(), "pixels lost");
  }
  return 0;
}
