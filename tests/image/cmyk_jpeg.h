// Test helper: a CMYK JPEG (Adobe-style, 4:4:4, quality 95) made with
// TurboJPEG from raw CMYK bytes, for the decoders' CMYK paths. Test-only.
#pragma once

#include <turbojpeg.h>

#include <cstdint>
#include <string>
#include <vector>

namespace yoloscope::image_test {

// `cmyk`: w x h x 4 bytes. Empty on failure, with TurboJPEG's message in
// `*error` when given.
inline std::vector<uint8_t> EncodeCmykJpeg(const std::vector<uint8_t>& cmyk, int w, int h,
                                           std::string* error = nullptr) {
  std::vector<uint8_t> out;
  tjhandle compressor = tjInitCompress();
  if (compressor == nullptr) {
    if (error) *error = "tjInitCompress failed";
    return out;
  }
  unsigned char* jpeg = nullptr;
  unsigned long jpeg_size = 0;
  if (tjCompress2(compressor, cmyk.data(), w, 0, h, TJPF_CMYK, &jpeg, &jpeg_size, TJSAMP_444, 95,
                  0) == 0) {
    out.assign(jpeg, jpeg + jpeg_size);
  } else if (error) {
    *error = tjGetErrorStr2(compressor);
  }
  tjFree(jpeg);
  tjDestroy(compressor);
  return out;
}

}  // namespace yoloscope::image_test
