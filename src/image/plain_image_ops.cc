#include "image/plain_image_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace yoloscope {
namespace {

// The resize reproduces cv::resize(INTER_LINEAR)'s integer arithmetic on
// 8-bit images, not just bilinear interpolation: Ultralytics letterboxes with
// cv2.resize and the parity tests compare its letterboxed pixels exactly, so
// a build without OpenCV must give the same bytes, not merely close ones.
// That arithmetic: positions in float, weights rounded to 11-bit fixed
// point, a horizontal pass into int, a vertical pass that drops 4 bits of
// each row before multiplying and keeps the high 16 bits of each product,
// and a 2x2 box average when both axes shrink by exactly 2.
constexpr int kWeightBits = 11;
constexpr int kWeightOne = 1 << kWeightBits;

// Where destination pixel `d` samples the source axis of length `src_len`:
// the left/top neighbour and the two weights.
struct Tap {
  int index;
  int w0;  // of index
  int w1;  // of index + 1
};

// Horizontal taps past an edge are moved onto the edge pixel with all the
// weight (w1 = 0). Vertical ones keep their fractional weights and only the
// row index is clamped, so beyond the first or last row both weights fall
// on that row: OpenCV treats the axes differently there, and the rounding
// of the vertical pass depends on the split.
std::vector<Tap> MakeTaps(int src_len, int dst_len, bool clamp_weights) {
  std::vector<Tap> taps(static_cast<size_t>(dst_len));
  // 1 / (dst / src) rather than src / dst: the two can differ in the last
  // bit, and OpenCV derives the scale from the inverse ratio.
  const double scale = 1.0 / (static_cast<double>(dst_len) / src_len);
  for (int d = 0; d < dst_len; ++d) {
    // Centre-aligned: source position of the destination pixel's centre.
    float frac = static_cast<float>((d + 0.5) * scale - 0.5);
    int index = static_cast<int>(std::floor(frac));
    frac -= static_cast<float>(index);
    if (clamp_weights && index < 0) {
      index = 0;
      frac = 0;
    }
    if (clamp_weights && index >= src_len - 1) {
      index = src_len - 1;
      frac = 0;
    }
    // Each weight rounded on its own (half to even); they may sum to
    // kWeightOne +- 1.
    taps[d] = {index, static_cast<int>(std::nearbyint((1.f - frac) * kWeightOne)),
               static_cast<int>(std::nearbyint(frac * kWeightOne))};
  }
  return taps;
}

// Both axes shrink by exactly 2: each output pixel is its 2x2 block's
// rounded mean (what OpenCV does instead of bilinear in that case).
void HalveExactly(const uint8_t* src, size_t src_stride, uint8_t* dst, int dst_w, int dst_h,
                  size_t dst_stride) {
  for (int y = 0; y < dst_h; ++y) {
    const uint8_t* r0 = src + static_cast<size_t>(2 * y) * src_stride;
    const uint8_t* r1 = r0 + src_stride;
    uint8_t* out = dst + static_cast<size_t>(y) * dst_stride;
    for (int x = 0; x < dst_w; ++x, r0 += 6, r1 += 6, out += 3) {
      for (int c = 0; c < 3; ++c) {
        out[c] = static_cast<uint8_t>((r0[c] + r0[c + 3] + r1[c] + r1[c + 3] + 2) >> 2);
      }
    }
  }
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
  if (src_w == 2 * dst_w && src_h == 2 * dst_h) {
    HalveExactly(src, src_stride, dst, dst_w, dst_h, dst_stride);
    return Status::Ok();
  }
  const std::vector<Tap> xs = MakeTaps(src_w, dst_w, /*clamp_weights=*/true);
  const std::vector<Tap> ys = MakeTaps(src_h, dst_h, /*clamp_weights=*/false);
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
      const uint8_t* p1 = t.w1 != 0 ? p0 + 3 : p0;  // w1 is 0 at the right edge
      for (int c = 0; c < 3; ++c) out[3 * x + c] = p0[c] * t.w0 + p1[c] * t.w1;
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
  for (int y = 0; y < dst_h; ++y) {
    const Tap t = ys[y];
    const int row0 = std::clamp(t.index, 0, src_h - 1);
    const int row1 = std::clamp(t.index + 1, 0, src_h - 1);
    const int slot0 = slot_of(row0, -1);
    const int slot1 = row1 != row0 ? slot_of(row1, slot0) : slot0;
    const int32_t* r0 = rows.data() + slot0 * row_len;
    const int32_t* r1 = rows.data() + slot1 * row_len;
    const int32_t w0 = t.w0;
    const int32_t w1 = t.w1;
    uint8_t* out = dst + static_cast<size_t>(y) * dst_stride;
    for (size_t i = 0; i < row_len; ++i) {
      const int32_t v = (((w0 * (r0[i] >> 4)) >> 16) + ((w1 * (r1[i] >> 4)) >> 16) + 2) >> 2;
      out[i] = static_cast<uint8_t>(std::clamp(v, 0, 255));
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
