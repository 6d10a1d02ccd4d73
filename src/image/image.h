// Image: an 8-bit interleaved pixel buffer (HWC). Decoders write RGB, 3
// channels. The buffer is reused across calls (Resize keeps capacity) so the
// hot path does not allocate once it has seen its largest image.
#pragma once

#include <cstdint>
#include <vector>

namespace yoloscope {

struct Image {
  int width = 0;
  int height = 0;
  int channels = 3;            // 3 = RGB (decoders always produce RGB).
  std::vector<uint8_t> data;   // width * height * channels bytes, row-major.

  void Resize(int w, int h, int c = 3) {
    width = w;
    height = h;
    channels = c;
    data.resize(static_cast<size_t>(w) * h * c);  // keeps capacity when shrinking.
  }
  uint8_t* row(int y) { return data.data() + static_cast<size_t>(y) * width * channels; }
  const uint8_t* row(int y) const {
    return data.data() + static_cast<size_t>(y) * width * channels;
  }
  bool empty() const { return width == 0 || height == 0; }
};

}  // namespace yoloscope
