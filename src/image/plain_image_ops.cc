#include "image/plain_image_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace yoloscope {
namespace {

// Interpolation weights are fixed point with this many fraction bits: both
// passes then run on integers, and 11 bits keep the product of a horizontal
// and a vertical weight times 255 inside int32 (255 * 2^22 < 2^31).
constexpr int kWeightBits = 11;
constexpr int kWeightOne = 1 << kWeightBits;

// Where destination pixel `d` samples the source axis of length `src_len`:
// the left/top neighbour and the weight of the right/bottom one.
struct Tap {
  int index;
  int weight;  // of index + 1, in [0, kWeightOne)
};

std::vector<Tap> MakeTaps(int src_len, int dst_len) {
  std::vector<Tap> taps(static_cast<size_t>(dst_len));
  const double scale = static_cast<double>(src_len) / dst_len;
  for (int d = 0; d < dst_len; ++d) {
    // Centre-aligned as OpenCV and PIL do, so neither edge is favoured.
    const double pos = (d + 0.5) * scale - 0.5;
    int index = static_cast<int>(std::floor(pos));
    double frac = pos - index;
    if (index < 0) {
      index = 0;
      frac = 0;
    }
    if (index >= src_len - 1) {
      index = src_len - 1;
      frac = 0;
    }
    taps[d] = {index, static_cast<int>(std::lround(frac * kWeightOne))};
  }
  return taps;
}

}  // namespace

Status PlainImageOps::ResizeBilinear(const uint8_t* src, int src_w, int src_h, size_t src_stride,
                                     uint8_t* dst, int dst_w, int dst_h, size_t dst_stride) {
  if (src == nullptr || dst == nullptr || src_w <= 0 || src_h <= 0 || dst_w <= 0 || dst_h <= 0 ||
      src_stride < static_cast<size_t>(src_w) * 3 || dst_stride < static_cast<size_t>(dst_w) * 3) {
    return InvalidArgumentError("bilinear resize from " + std::to_string(src_w) + "x" +
                                std::to_string(src_h) + " to " + std::to_string(dst_w) + "x" +
                                std::to_string(dst_h) + ": bad sizes, strides or buffers");
  }
  const std::vector<Tap> xs = MakeTaps(src_w, dst_w);
  const std::vector<Tap> ys = MakeTaps(src_h, dst_h);
  // Separable: each needed source row is interpolated horizontally once
  // (into `rows`, two slots keyed by source row), then pairs of those rows
  // vertically. Consecutive output rows mostly share their source rows.
  const size_t row_len = static_cast<size_t>(dst_w) * 3;
  std::vector<int32_t> rows(2 * row_len);
  int cached[2] = {-1, -1};
  auto horizontal = [&](int sy, int slot) {
    const uint8_t* s = src + static_cast<size_t>(sy) * src_stride;
    int32_t* out = rows.data() + slot * row_len;
    for (int x = 0; x < dst_w; ++x) {
      const Tap t = xs[x];
      const uint8_t* p0 = s + static_cast<size_t>(t.index) * 3;
      const uint8_t* p1 = t.weight != 0 ? p0 + 3 : p0;  // weight 0 at the right edge
      const int w0 = kWeightOne - t.weight;
      for (int c = 0; c < 3; ++c) out[3 * x + c] = p0[c] * w0 + p1[c] * t.weight;
    }
    cached[slot] = sy;
  };
  auto slot_of = [&](int sy, int avoid) {
    if (cached[0] == sy) return 0;
    if (cached[1] == sy) return 1;
    const int slot = avoid == 0 ? 1 : 0;
    horizontal(sy, slot);
    return slot;
  };
  constexpr int kShift = 2 * kWeightBits;
  constexpr int32_t kHalf = 1 << (kShift - 1);
  for (int y = 0; y < dst_h; ++y) {
    const Tap t = ys[y];
    const int slot0 = slot_of(t.index, -1);
    const int slot1 = t.weight != 0 ? slot_of(t.index + 1, slot0) : slot0;
    const int32_t* r0 = rows.data() + slot0 * row_len;
    const int32_t* r1 = rows.data() + slot1 * row_len;
    const int32_t w1 = t.weight;
    const int32_t w0 = kWeightOne - w1;
    uint8_t* out = dst + static_cast<size_t>(y) * dst_stride;
    for (size_t i = 0; i < row_len; ++i) {
      // Convex weights: the result is within [0, 255] before the shift.
      out[i] = static_cast<uint8_t>((r0[i] * w0 + r1[i] * w1 + kHalf) >> kShift);
    }
  }
  return Status::Ok();
}

Status PlainImageOps::ResizeBilinear(const Image& src, int dst_w, int dst_h, Image* dst) {
  if (dst == nullptr || dst == &src || src.channels != 3 ||
      src.data.size() < static_cast<size_t>(src.width) * src.height * 3) {
    return InvalidArgumentError("bilinear resize needs a 3-channel source and a separate output");
  }
  if (dst_w <= 0 || dst_h <= 0) {
    return InvalidArgumentError("bilinear resize to " + std::to_string(dst_w) + "x" +
                                std::to_string(dst_h) + " is empty");
  }
  dst->Resize(dst_w, dst_h, 3);
  return ResizeBilinear(src.data.data(), src.width, src.height, static_cast<size_t>(src.width) * 3,
                        dst->data.data(), dst_w, dst_h, static_cast<size_t>(dst_w) * 3);
}

Status PlainImageOps::ApplyExifOrientation(const Image& src, int orientation, Image* dst) {
  if (orientation < 1 || orientation > 8) {
    return InvalidArgumentError("EXIF orientation " + std::to_string(orientation) +
                                " is not in 1-8");
  }
  if (dst == nullptr || dst == &src) {
    return InvalidArgumentError("ApplyExifOrientation needs a separate destination image");
  }
  if (src.channels != 3 || src.empty()) {
    return InvalidArgumentError("ApplyExifOrientation needs a non-empty 3-channel image");
  }
  const int w = src.width, h = src.height;
  const bool swap = orientation >= 5;
  const int out_w = swap ? h : w;
  const int out_h = swap ? w : h;
  dst->Resize(out_w, out_h, 3);
  // Output pixel (x, y) reads source pixel (sx, sy), both affine in x and y:
  //   sx = x0 + x_dx * x + x_dy * y,   sy = y0 + y_dx * x + y_dy * y.
  int x0 = 0, x_dx = 1, x_dy = 0, y0 = 0, y_dx = 0, y_dy = 1;
  switch (orientation) {
    case 1:  // as is
      break;
    case 2:  // mirror left-right
      x0 = w - 1, x_dx = -1;
      break;
    case 3:  // rotate 180
      x0 = w - 1, x_dx = -1, y0 = h - 1, y_dy = -1;
      break;
    case 4:  // mirror top-bottom
      y0 = h - 1, y_dy = -1;
      break;
    case 5:  // transpose: (y, x)
      x_dx = 0, x_dy = 1, y_dx = 1, y_dy = 0;
      break;
    case 6:  // rotate 90 clockwise: (y, h-1-x)
      x_dx = 0, x_dy = 1, y0 = h - 1, y_dx = -1, y_dy = 0;
      break;
    case 7:  // transverse: (w-1-y, h-1-x)
      x0 = w - 1, x_dx = 0, x_dy = -1, y0 = h - 1, y_dx = -1, y_dy = 0;
      break;
    case 8:  // rotate 90 counter-clockwise: (w-1-y, x)
      x0 = w - 1, x_dx = 0, x_dy = -1, y_dx = 1, y_dy = 0;
      break;
  }
  const ptrdiff_t stride = static_cast<ptrdiff_t>(w) * 3;
  const ptrdiff_t step = static_cast<ptrdiff_t>(y_dx) * stride + x_dx * 3;
  for (int y = 0; y < out_h; ++y) {
    const int sx = x0 + x_dy * y;
    const int sy = y0 + y_dy * y;
    const uint8_t* s = src.data.data() + sy * stride + static_cast<ptrdiff_t>(sx) * 3;
    uint8_t* d = dst->row(y);
    if (step == 3) {
      std::memcpy(d, s, static_cast<size_t>(out_w) * 3);
      continue;
    }
    for (int x = 0; x < out_w; ++x, s += step, d += 3) {
      d[0] = s[0];
      d[1] = s[1];
      d[2] = s[2];
    }
  }
  return Status::Ok();
}

void PlainImageOps::CmykToRgb(const uint8_t* cmyk, size_t pixels, uint8_t* rgb) {
  // Inverted CMYK: a channel's value is the fraction of light its ink lets
  // through, so each primary is about (its complement's value) * K / 255.
  // Computed as K - (255 - value) * K / 256, rounded down, which is how
  // OpenCV's JPEG decoder rounds it: the builds with and without OpenCV then
  // give the same pixels.
  for (size_t i = 0; i < pixels; ++i, cmyk += 4, rgb += 3) {
    const int k = cmyk[3];
    for (int c = 0; c < 3; ++c) rgb[c] = static_cast<uint8_t>(k - (((255 - cmyk[c]) * k) >> 8));
  }
}

}  // namespace yoloscope
