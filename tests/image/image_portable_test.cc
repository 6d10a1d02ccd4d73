// ImageDecoder, Letterbox and ImageEncoder in every build, with OpenCV or
// without (YOLOSCOPE_USE_OPENCV=OFF): test images come from TurboJPEG and
// libpng, never from OpenCV, so the same expectations hold for both builds
// (the decoders may differ; the pixels they must give do not). What only
// one build does -- BMP decoding -- is asserted per build.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "image/cmyk_jpeg.h"
#include "image/image_decoder.h"
#include "image/image_encoder.h"
#include "image/letterbox.h"
#include "image/plain_image_ops.h"
#include "image/png_writer.h"
#include "image/test_bytes.h"

namespace yoloscope {
namespace {

using image_test::Bytes;

Image Gradient(int w, int h) {
  Image image;
  image.Resize(w, h, 3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      uint8_t* p = image.row(y) + 3 * x;
      p[0] = static_cast<uint8_t>(x * 255 / (w - 1));
      p[1] = static_cast<uint8_t>(y * 255 / (h - 1));
      p[2] = static_cast<uint8_t>(128 + (x - y) / 4);
    }
  }
  return image;
}

int MaxAbsDiff(const Image& a, const Image& b) {
  if (a.width != b.width || a.height != b.height || a.data.size() != b.data.size()) return 1 << 20;
  int m = 0;
  for (size_t i = 0; i < a.data.size(); ++i) m = std::max(m, std::abs(a.data[i] - b.data[i]));
  return m;
}

StatusOr<DecodeResult> Decode(ImageDecoder& decoder, const std::vector<uint8_t>& bytes, Image* out,
                              const DecodeOptions& options = {}) {
  return decoder.Decode(bytes.data(), bytes.size(), options, out);
}

TEST(ImagePortableTest, PngRoundTripsExactly) {
  const Image src = Gradient(61, 37);
  auto png = ImageEncoder::EncodePng(src);
  ASSERT_TRUE(png.ok()) << png.status().ToString();
  ImageDecoder decoder;
  Image out;
  auto result = Decode(decoder, *png, &out);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->format, ImageFormat::kPng);
  EXPECT_EQ(result->orig_width, 61);
  EXPECT_EQ(result->orig_height, 37);
  EXPECT_EQ(out.data, src.data);
}

TEST(ImagePortableTest, PngKindsDecodeToRgb) {
  // A 2-bit palette and a 16-bit gray image: what the pixels must become
  // follows from the file alone.
  image_test::PngSpec palette;
  palette.width = 9;
  palette.height = 4;
  palette.color_type = PNG_COLOR_TYPE_PALETTE;
  palette.bit_depth = 2;
  palette.palette = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {10, 20, 30}};
  palette.sample = [](int x, int y, int) { return (x + y) % 4; };
  ImageDecoder decoder;
  Image out;
  auto bytes = image_test::WritePng(palette);
  ASSERT_TRUE(Decode(decoder, bytes, &out).ok());
  ASSERT_EQ(out.width, 9);
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 9; ++x) {
      const png_color& want = palette.palette[(x + y) % 4];
      const uint8_t* p = out.row(y) + 3 * x;
      ASSERT_EQ(p[0], want.red) << x << "," << y;
      ASSERT_EQ(p[1], want.green) << x << "," << y;
      ASSERT_EQ(p[2], want.blue) << x << "," << y;
    }
  }
  image_test::PngSpec gray;
  gray.width = 5;
  gray.height = 3;
  gray.color_type = PNG_COLOR_TYPE_GRAY;
  gray.bit_depth = 16;
  gray.sample = [](int x, int y, int) { return x * 12345 + y * 1000 + 77; };
  bytes = image_test::WritePng(gray);
  ASSERT_TRUE(Decode(decoder, bytes, &out).ok());
  for (int y = 0; y < 3; ++y) {
    for (int x = 0; x < 5; ++x) {
      const uint8_t* p = out.row(y) + 3 * x;
      const int high = (x * 12345 + y * 1000 + 77) >> 8;  // the high byte
      ASSERT_EQ(p[0], high);
      ASSERT_EQ(p[1], high);
      ASSERT_EQ(p[2], high);
    }
  }
}

TEST(ImagePortableTest, JpegDecodesCloseToTheSource) {
  const Image src = Gradient(160, 120);
  auto jpeg = ImageEncoder::EncodeJpeg(src, 95);
  ASSERT_TRUE(jpeg.ok()) << jpeg.status().ToString();
  ImageDecoder decoder;
  Image out;
  auto result = Decode(decoder, *jpeg, &out);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->format, ImageFormat::kJpeg);
  EXPECT_LE(MaxAbsDiff(out, src), 12);  // smooth content, quality 95, 4:2:0
}

TEST(ImagePortableTest, JpegExifOrientationIsApplied) {
  const Image src = Gradient(40, 20);
  auto jpeg = ImageEncoder::EncodeJpeg(src, 95);
  ASSERT_TRUE(jpeg.ok());
  ImageDecoder decoder;
  Image plain;
  ASSERT_TRUE(Decode(decoder, *jpeg, &plain).ok());
  for (int orientation = 1; orientation <= 8; ++orientation) {
    const Bytes rotated = image_test::WithExifOrientation(*jpeg, orientation);
    Image out;
    auto result = Decode(decoder, rotated, &out);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ(result->orientation, orientation);
    Image want;
    ASSERT_TRUE(PlainImageOps::ApplyExifOrientation(plain, orientation, &want).ok());
    EXPECT_EQ(out.width, want.width) << orientation;
    EXPECT_EQ(out.data, want.data) << "orientation " << orientation;
  }
}

TEST(ImagePortableTest, CmykJpegDecodes) {
  // TurboJPEG writes a YCCK JPEG from CMYK pixels; with OpenCV it is
  // decoded by OpenCV, without it by TurboJPEG + PlainImageOps::CmykToRgb.
  const int w = 32, h = 16;
  std::vector<uint8_t> cmyk(w * h * 4);
  for (int i = 0; i < w * h; ++i) {
    cmyk[4 * i + 0] = 255;  // no cyan ink ...
    cmyk[4 * i + 1] = 0;    // ... full magenta ...
    cmyk[4 * i + 2] = 255;  // ... no yellow, no black: magenta-red-ish
    cmyk[4 * i + 3] = 255;
  }
  std::string jpeg_error;
  const Bytes bytes = image_test::EncodeCmykJpeg(cmyk, w, h, &jpeg_error);
  ASSERT_FALSE(bytes.empty()) << jpeg_error;
  ImageDecoder decoder;
  Image out;
  auto result = Decode(decoder, bytes, &out);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(out.width, w);
  const uint8_t* p = out.row(h / 2) + 3 * (w / 2);
  EXPECT_GE(p[0], 250);  // R: cyan value 255 lets red through
  EXPECT_LE(p[1], 5);    // G: magenta value 0 blocks green
  EXPECT_GE(p[2], 250);
}

// A 4x2 24-bit BMP, made by hand.
Bytes TinyBmp() {
  const int w = 4, h = 2, row = w * 3;
  Bytes b(54 + row * h, 0);
  auto put32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
  };
  b[0] = 'B', b[1] = 'M';
  put32(2, static_cast<uint32_t>(b.size()));
  put32(10, 54);
  put32(14, 40);
  put32(18, w);
  put32(22, h);
  b[26] = 1;
  b[28] = 24;
  put32(34, row * h);
  for (int i = 0; i < row * h; ++i) b[54 + i] = static_cast<uint8_t>(i * 9);
  return b;
}

TEST(ImagePortableTest, BmpNeedsOpenCv) {
  ImageDecoder decoder;
  Image out;
  auto result = Decode(decoder, TinyBmp(), &out);
#if YOLOSCOPE_HAVE_OPENCV
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(out.width, 4);
#else
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(result.status().message().find("BMP"), std::string::npos) << result.status().message();
  EXPECT_NE(result.status().message().find("no OpenCV"), std::string::npos)
      << result.status().message();
#endif
}

TEST(ImagePortableTest, BadPngsFailClearly) {
  auto png = ImageEncoder::EncodePng(Gradient(50, 40));
  ASSERT_TRUE(png.ok());
  ImageDecoder decoder;
  Image out;
  const Bytes cut(png->begin(), png->begin() + png->size() / 2);
  EXPECT_EQ(Decode(decoder, cut, &out).status().code(), StatusCode::kDataLoss);
  DecodeOptions small;
  small.max_pixels = 50 * 40 - 1;
  EXPECT_EQ(Decode(decoder, *png, &out, small).status().code(), StatusCode::kOutOfRange);
  // The decoder still works after errors.
  EXPECT_TRUE(Decode(decoder, *png, &out).ok());
}

TEST(ImagePortableTest, LetterboxResizesAsThePlainResize) {
  // With OpenCV the letterbox resizes with cv::resize, without it with
  // PlainImageOps::ResizeBilinear: either way the latter's bytes.
  const Image src = Gradient(300, 200);
  LetterboxOptions options;
  options.width = 128;
  options.height = 128;
  Letterbox letterbox(options);
  Image boxed;
  LetterboxGeometry g;
  ASSERT_TRUE(letterbox.ToImage(src, &boxed, {}, &g).ok());
  ASSERT_EQ(g.resized_w, 128);
  ASSERT_EQ(g.resized_h, 85);
  ASSERT_EQ(g.top, 21);
  Image want;
  ASSERT_TRUE(PlainImageOps::ResizeBilinear(src, g.resized_w, g.resized_h, &want).ok());
  int worst = 0;
  for (int y = 0; y < g.out_h; ++y) {
    for (int x = 0; x < g.out_w; ++x) {
      const bool inside = y >= g.top && y < g.top + g.resized_h;
      for (int c = 0; c < 3; ++c) {
        const int got = boxed.row(y)[3 * x + c];
        if (!inside) {
          ASSERT_EQ(got, 114) << x << "," << y;
          continue;
        }
        worst = std::max(worst, std::abs(got - want.row(y - g.top)[3 * x + c]));
      }
    }
  }
  EXPECT_EQ(worst, 0);
  // The tensor carries the same pixels / 255, planar.
  std::vector<float> tensor(3 * 128 * 128);
  ASSERT_TRUE(letterbox.ToTensor(src, tensor.data(), tensor.size()).ok());
  for (int c = 0; c < 3; ++c) {
    for (int i = 0; i < 128 * 128; i += 97) {
      EXPECT_FLOAT_EQ(tensor[c * 128 * 128 + i], boxed.data[3 * i + c] / 255.f) << c << " " << i;
    }
  }
}

TEST(ImagePortableTest, EncoderPicksTheFormatByExtension) {
  const Image src = Gradient(8, 8);
  auto jpeg = ImageEncoder::EncodeForPath(src, "/tmp/out/Photo.JPEG");
  ASSERT_TRUE(jpeg.ok());
  EXPECT_EQ((*jpeg)[0], 0xFF);
  EXPECT_EQ((*jpeg)[1], 0xD8);
  auto png = ImageEncoder::EncodeForPath(src, "x.png");
  ASSERT_TRUE(png.ok());
  EXPECT_EQ((*png)[1], 'P');
  EXPECT_EQ(ImageEncoder::EncodeForPath(src, "x.bmp").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ImageEncoder::EncodeForPath(src, "dir.png/file").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ImageEncoder::EncodeJpeg(Image{}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ImageEncoder::EncodeJpeg(src, 0).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace yoloscope
