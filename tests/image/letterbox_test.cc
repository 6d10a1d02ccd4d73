#include "image/letterbox.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "image/test_images.h"

namespace yoloscope {
namespace {

struct GeometryCase {
  int src_w, src_h;
  LetterboxOptions options;
  // Expected, computed by hand from Ultralytics' LetterBox.
  int resized_w, resized_h;
  int left, top, right, bottom;
};

LetterboxOptions Target(int w, int h) {
  LetterboxOptions o;
  o.width = w;
  o.height = h;
  return o;
}

LetterboxOptions AutoPad(int w, int h) {
  LetterboxOptions o = Target(w, h);
  o.auto_pad = true;
  return o;
}

LetterboxOptions NoScaleup(int w, int h) {
  LetterboxOptions o = Target(w, h);
  o.scaleup = false;
  return o;
}

LetterboxOptions NotCentred(int w, int h) {
  LetterboxOptions o = Target(w, h);
  o.center = false;
  return o;
}

const GeometryCase kGeometryCases[] = {
    // r = 1; dh = 160 -> 80: top = round(79.9) = 80, bottom = round(80.1) = 80.
    {640, 480, Target(640, 640), 640, 480, 0, 80, 0, 80},
    // dog.jpg: r = 640/768; 640x480.
    {768, 576, Target(640, 640), 640, 480, 0, 80, 0, 80},
    // 1080p: r = 1/3 -> 640x360; dh = 280 -> 140 each side.
    {1920, 1080, Target(640, 640), 640, 360, 0, 140, 0, 140},
    // 1x1 scales up 640 times and fills everything.
    {1, 1, Target(640, 640), 640, 640, 0, 0, 0, 0},
    // 1x4000: r = 0.16, width round(0.16) = 0 -> clamped to 1; dw = 639 -> 319.5:
    // left = round(319.4) = 319, right = round(319.6) = 320.
    {1, 4000, Target(640, 640), 1, 640, 319, 0, 320, 0},
    {4000, 1, Target(640, 640), 640, 1, 0, 319, 0, 320},
    // Odd: r = 640/333; height round(213.33) = 213; dh = 427 -> 213.5: 213 / 214.
    {333, 111, Target(640, 640), 640, 213, 0, 213, 0, 214},
    // Python rounds half to even: r = 0.5, width 5 * 0.5 = 2.5 -> 2 (not 3).
    {5, 16, Target(8, 8), 2, 8, 3, 0, 3, 0},
    // 7 * 0.5 = 3.5 -> 4 (even); dw = 4 -> 2 / 2.
    {7, 16, Target(8, 8), 4, 8, 2, 0, 2, 0},
    // Non-square target: r = min(384/1080, 640/1920) = 1/3 -> 640x360; dh = 24 -> 12/12.
    {1920, 1080, Target(640, 384), 640, 360, 0, 12, 0, 12},
    // auto (minimum rectangle, stride 32): dh = 280 mod 32 = 24 -> 12/12: 640x384.
    {1920, 1080, AutoPad(640, 640), 640, 360, 0, 12, 0, 12},
    // auto with nothing to pad: 640x480 stays 640x480 (160 mod 32 = 0).
    {640, 480, AutoPad(640, 640), 640, 480, 0, 0, 0, 0},
    // auto, odd: 333x111 -> 640x213; dh = 427 mod 32 = 11 -> 5.5: 5 / 6.
    {333, 111, AutoPad(640, 640), 640, 213, 0, 5, 0, 6},
    // No scale-up: 320x240 stays, padded 160/200 on each side.
    {320, 240, NoScaleup(640, 640), 320, 240, 160, 200, 160, 200},
    // ... but large images still shrink.
    {1280, 960, NoScaleup(640, 640), 640, 480, 0, 80, 0, 80},
    // Not centred: all padding right and bottom.
    {1920, 1080, NotCentred(640, 640), 640, 360, 0, 0, 0, 280},
};

TEST(LetterboxTest, GeometryMatchesUltralytics) {
  for (const GeometryCase& c : kGeometryCases) {
    SCOPED_TRACE(std::to_string(c.src_w) + "x" + std::to_string(c.src_h) + " -> " +
                 std::to_string(c.options.width) + "x" + std::to_string(c.options.height) +
                 (c.options.auto_pad ? " auto" : "") + (c.options.scaleup ? "" : " no-scaleup"));
    auto g = Letterbox::ComputeGeometry(c.src_w, c.src_h, c.options);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    EXPECT_EQ(g->resized_w, c.resized_w);
    EXPECT_EQ(g->resized_h, c.resized_h);
    EXPECT_EQ(g->left, c.left);
    EXPECT_EQ(g->top, c.top);
    EXPECT_EQ(g->right, c.right);
    EXPECT_EQ(g->bottom, c.bottom);
    EXPECT_EQ(g->out_w, c.resized_w + c.left + c.right);
    EXPECT_EQ(g->out_h, c.resized_h + c.top + c.bottom);
    if (!c.options.auto_pad) {
      EXPECT_EQ(g->out_w, c.options.width);
      EXPECT_EQ(g->out_h, c.options.height);
    }
  }
}

TEST(LetterboxTest, RejectsBadSizes) {
  EXPECT_EQ(Letterbox::ComputeGeometry(0, 10, {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Letterbox::ComputeGeometry(10, 10, Target(0, 640)).status().code(),
            StatusCode::kInvalidArgument);
  LetterboxOptions bad_stride = AutoPad(640, 640);
  bad_stride.stride = 0;
  EXPECT_EQ(Letterbox::ComputeGeometry(10, 10, bad_stride).status().code(),
            StatusCode::kInvalidArgument);

  Letterbox letterbox;
  Image empty;
  std::vector<float> tensor(3 * 640 * 640);
  EXPECT_EQ(letterbox.ToTensor(empty, tensor.data(), tensor.size()).status().code(),
            StatusCode::kInvalidArgument);
  Image image;
  image.Resize(64, 48);
  auto too_small = letterbox.ToTensor(image, tensor.data(), tensor.size() - 1);
  EXPECT_EQ(too_small.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(too_small.status().message(), ::testing::HasSubstr("needs 1228800"));
}

// An RGB image with content everywhere (no pixel equal to the pad value).
Image TestImage(int w, int h) {
  Image image;
  image.Resize(w, h);
  for (int y = 0; y < h; ++y) {
    uint8_t* p = image.row(y);
    for (int x = 0; x < w; ++x, p += 3) {
      p[0] = static_cast<uint8_t>(x * 255 / std::max(1, w - 1));
      p[1] = static_cast<uint8_t>(y * 255 / std::max(1, h - 1));
      p[2] = static_cast<uint8_t>((x * 3 + y * 5) % 200 + 20);
    }
  }
  return image;
}

// The plain OpenCV / Ultralytics way: resize, copyMakeBorder(114), /255,
// HWC -> CHW. Returns 3 planes of out_h x out_w.
std::vector<float> ReferenceTensor(const Image& image, const LetterboxGeometry& g) {
  cv::Mat src = image_test::AsMat(image), resized;
  if (g.resized_w != image.width || g.resized_h != image.height) {
    cv::resize(src, resized, {g.resized_w, g.resized_h}, 0, 0, cv::INTER_LINEAR);
  } else {
    resized = src;
  }
  cv::Mat padded;
  cv::copyMakeBorder(resized, padded, g.top, g.bottom, g.left, g.right, cv::BORDER_CONSTANT,
                     cv::Scalar(114, 114, 114));
  std::vector<float> out(static_cast<size_t>(3) * padded.rows * padded.cols);
  for (int y = 0; y < padded.rows; ++y) {
    for (int x = 0; x < padded.cols; ++x) {
      const cv::Vec3b p = padded.at<cv::Vec3b>(y, x);
      for (int c = 0; c < 3; ++c) {
        out[(static_cast<size_t>(c) * padded.rows + y) * padded.cols + x] =
            static_cast<float>(p[c]) / 255.f;
      }
    }
  }
  return out;
}

TEST(LetterboxTest, TensorMatchesPlainOpenCvWay) {
  for (const GeometryCase& c : kGeometryCases) {
    if (static_cast<int64_t>(c.src_w) * c.src_h > 4'000'000) continue;
    SCOPED_TRACE(std::to_string(c.src_w) + "x" + std::to_string(c.src_h));
    const Image image = TestImage(c.src_w, c.src_h);
    Letterbox letterbox(c.options);
    LetterboxGeometry g;
    std::vector<float> tensor(3 * c.options.width * c.options.height, -1.f);
    auto transform = letterbox.ToTensor(image, tensor.data(), tensor.size(), {}, &g);
    ASSERT_TRUE(transform.ok()) << transform.status().ToString();
    const std::vector<float> expected = ReferenceTensor(image, g);
    ASSERT_LE(expected.size(), tensor.size());
    size_t mismatches = 0;
    for (size_t i = 0; i < expected.size(); ++i) mismatches += tensor[i] != expected[i];
    EXPECT_EQ(mismatches, 0u);

    // Every pad pixel is exactly 114/255 in all three planes.
    const float pad = 114.f / 255.f;
    const size_t plane = static_cast<size_t>(g.out_w) * g.out_h;
    for (int y = 0; y < g.out_h; ++y) {
      for (int x = 0; x < g.out_w; ++x) {
        const bool inside =
            x >= g.left && x < g.left + g.resized_w && y >= g.top && y < g.top + g.resized_h;
        if (inside) continue;
        for (int ch = 0; ch < 3; ++ch) {
          ASSERT_EQ(tensor[ch * plane + static_cast<size_t>(y) * g.out_w + x], pad)
              << x << "," << y;
        }
      }
    }
  }
}

TEST(LetterboxTest, WritesIntoBatchSlot) {
  // Two images into one [2, 3, 320, 320] buffer; neighbours untouched.
  const size_t slot = 3 * 320 * 320;
  std::vector<float> batch(2 * slot + 1, -7.f);
  Letterbox letterbox(Target(320, 320));
  const Image a = TestImage(200, 100), b = TestImage(90, 300);
  ASSERT_TRUE(letterbox.ToTensor(b, batch.data() + slot, slot).ok());
  ASSERT_TRUE(letterbox.ToTensor(a, batch.data(), slot).ok());
  EXPECT_EQ(batch[2 * slot], -7.f);
  EXPECT_EQ(batch[0], 114.f / 255.f);     // a is padded top and bottom.
  EXPECT_EQ(batch[slot], 114.f / 255.f);  // b is padded left and right.
  for (size_t i = 0; i < 2 * slot; ++i) ASSERT_GE(batch[i], 0.f) << i;
}

TEST(LetterboxTest, TransformRoundTripsCorners) {
  for (const GeometryCase& c : kGeometryCases) {
    SCOPED_TRACE(std::to_string(c.src_w) + "x" + std::to_string(c.src_h));
    auto g = Letterbox::ComputeGeometry(c.src_w, c.src_h, c.options);
    ASSERT_TRUE(g.ok());
    const LetterboxTransform t = Letterbox::MakeTransform(*g);
    EXPECT_EQ(t.orig_w, c.src_w);
    EXPECT_EQ(t.orig_h, c.src_h);
    EXPECT_EQ(t.pad_x, c.left);
    EXPECT_EQ(t.pad_y, c.top);
    // Original corners land on the resized picture's corners (within the
    // 1-pixel rounding of new_unpad, more for the clamped 1-pixel sides).
    const float tol_x = c.src_w * g->ratio < 1 ? 1.f : 0.5f + 1e-3f;
    const float tol_y = c.src_h * g->ratio < 1 ? 1.f : 0.5f + 1e-3f;
    EXPECT_NEAR(t.ToNetX(0), c.left, 1e-4);
    EXPECT_NEAR(t.ToNetY(0), c.top, 1e-4);
    EXPECT_NEAR(t.ToNetX(c.src_w), c.left + c.resized_w, tol_x);
    EXPECT_NEAR(t.ToNetY(c.src_h), c.top + c.resized_h, tol_y);
    // And back, exactly (up to float precision).
    for (float x : {0.f, c.src_w / 3.f, static_cast<float>(c.src_w)}) {
      EXPECT_NEAR(t.ToOrigX(t.ToNetX(x)), x, 1e-3 * std::max(1, c.src_w));
    }
    for (float y : {0.f, c.src_h / 2.f, static_cast<float>(c.src_h)}) {
      EXPECT_NEAR(t.ToOrigY(t.ToNetY(y)), y, 1e-3 * std::max(1, c.src_h));
    }
    // Network corners in the padding clamp to the image border.
    EXPECT_EQ(t.ToOrigX(0), 0.f);
    EXPECT_EQ(t.ToOrigY(static_cast<float>(g->out_h)), static_cast<float>(c.src_h));
  }
}

TEST(LetterboxTest, TransformFoldsInDecoderScale) {
  // A 1920x1080 picture decoded at 3/8 (720x405), letterboxed to 640.
  Letterbox letterbox;
  const Image decoded = TestImage(720, 405);
  std::vector<float> tensor(3 * 640 * 640);
  LetterboxGeometry g;
  auto t = letterbox.ToTensor(decoded, tensor.data(), tensor.size(), {1920, 1080, 3.0 / 8.0}, &g);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(g.resized_w, 640);
  EXPECT_EQ(g.resized_h, 360);
  EXPECT_EQ(t->orig_w, 1920);
  EXPECT_EQ(t->orig_h, 1080);
  EXPECT_NEAR(t->gain_x, 1.0 / 3.0, 1e-7);  // r * scale = (640/720) * (3/8).
  EXPECT_EQ(t->pad_y, 140.f);
  EXPECT_NEAR(t->ToOrigX(320), 960, 1e-3);
  EXPECT_NEAR(t->ToOrigY(140 + 180), 540, 1e-3);
  EXPECT_NEAR(t->ToOrigY(500), 1080, 1e-3);

  DecodeResult result;
  result.orig_width = 1920;
  result.orig_height = 1080;
  result.scale_num = 3;
  result.scale_denom = 8;
  auto same = letterbox.ToTensor(decoded, result, tensor.data(), tensor.size());
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->gain_x, t->gain_x);
  EXPECT_EQ(same->orig_w, 1920);
}

TEST(LetterboxTest, ImageMatchesTensor) {
  for (const GeometryCase& c : kGeometryCases) {
    if (static_cast<int64_t>(c.src_w) * c.src_h > 4'000'000) continue;
    SCOPED_TRACE(std::to_string(c.src_w) + "x" + std::to_string(c.src_h));
    const Image image = TestImage(c.src_w, c.src_h);
    Letterbox letterbox(c.options);
    Image boxed;
    LetterboxGeometry g;
    auto t_image = letterbox.ToImage(image, &boxed, {}, &g);
    ASSERT_TRUE(t_image.ok()) << t_image.status().ToString();
    EXPECT_EQ(boxed.width, g.out_w);
    EXPECT_EQ(boxed.height, g.out_h);
    std::vector<float> tensor(g.TensorFloats());
    auto t_tensor = letterbox.ToTensor(image, tensor.data(), tensor.size());
    ASSERT_TRUE(t_tensor.ok());
    EXPECT_EQ(t_image->gain_x, t_tensor->gain_x);
    EXPECT_EQ(t_image->pad_y, t_tensor->pad_y);
    const size_t plane = static_cast<size_t>(g.out_w) * g.out_h;
    size_t mismatches = 0;
    for (int y = 0; y < g.out_h; ++y) {
      const uint8_t* p = boxed.row(y);
      for (int x = 0; x < g.out_w; ++x, p += 3) {
        for (int ch = 0; ch < 3; ++ch) {
          mismatches += tensor[ch * plane + static_cast<size_t>(y) * g.out_w + x] != p[ch] / 255.f;
        }
      }
    }
    EXPECT_EQ(mismatches, 0u);
  }
}

TEST(LetterboxTest, CustomPadValue) {
  LetterboxOptions options = Target(64, 64);
  options.pad_value = 0;
  Letterbox letterbox(options);
  const Image image = TestImage(64, 32);
  std::vector<float> tensor(3 * 64 * 64, -1.f);
  ASSERT_TRUE(letterbox.ToTensor(image, tensor.data(), tensor.size()).ok());
  EXPECT_EQ(tensor[0], 0.f);
  Image boxed;
  ASSERT_TRUE(letterbox.ToImage(image, &boxed).ok());
  EXPECT_EQ(boxed.data[0], 0);
}

}  // namespace
}  // namespace yoloscope
