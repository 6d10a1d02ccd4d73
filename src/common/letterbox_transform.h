// LetterboxTransform: the mapping between network-input pixels and
// original-image pixels produced by letterboxing (and by any decoder-side
// downscaling, folded into the gains). Value type, header-only.
//
//   x_net = x_orig * gain_x + pad_x        x_orig = (x_net - pad_x) / gain_x
#pragma once

#include <algorithm>

namespace yoloscope {

struct LetterboxTransform {
  float gain_x = 1.f, gain_y = 1.f;  // network pixels per original pixel.
  float pad_x = 0.f, pad_y = 0.f;    // left/top padding in network pixels.
  int orig_w = 0, orig_h = 0;        // original image size (after EXIF rotation).

  float ToOrigX(float x_net) const {
    return std::clamp((x_net - pad_x) / gain_x, 0.f, static_cast<float>(orig_w));
  }
  float ToOrigY(float y_net) const {
    return std::clamp((y_net - pad_y) / gain_y, 0.f, static_cast<float>(orig_h));
  }
  float ToNetX(float x_orig) const { return x_orig * gain_x + pad_x; }
  float ToNetY(float y_orig) const { return y_orig * gain_y + pad_y; }
};

}  // namespace yoloscope
