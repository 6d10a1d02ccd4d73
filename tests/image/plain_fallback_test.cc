// The plain C++ fallbacks of builds without OpenCV, held against OpenCV
// itself (this test needs YOLOSCOPE_USE_OPENCV): bilinear resize against
// cv::resize(INTER_LINEAR) byte for byte, PngDecoder (libpng) against cv::imdecode for
// every PNG colour type and depth, EXIF orientation against cv::flip /
// cv::transpose, CMYK -> RGB against OpenCV's CMYK JPEG decode.
#include <gtest/gtest.h>
#include <turbojpeg.h>

#include <cstdint>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <string>
#include <vector>

#include "image/cmyk_jpeg.h"
#include "image/exif_orientation.h"
#include "image/plain_image_ops.h"
#include "image/png_decoder.h"
#include "image/png_writer.h"
#include "image/test_images.h"

namespace yoloscope {
namespace {

using image_test::Bytes;

Image RandomImage(int w, int h, uint32_t seed) {
  Image image;
  image.Resize(w, h, 3);
  std::mt19937 rng(seed);
  for (uint8_t& v : image.data) v = static_cast<uint8_t>(rng() & 0xFF);
  return image;
}

// Smooth content as well: random noise alone is a weak test of the
// interpolation weights' rounding (every output is a mix of extremes).
Image GradientImage(int w, int h) {
  Image image;
  image.Resize(w, h, 3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      uint8_t* p = image.row(y) + 3 * x;
      p[0] = static_cast<uint8_t>(x * 255 / std::max(1, w - 1));
      p[1] = static_cast<uint8_t>(y * 255 / std::max(1, h - 1));
      p[2] = static_cast<uint8_t>((x * 3 + y * 5) & 0xFF);
    }
  }
  return image;
}

TEST(PlainFallbackTest, BilinearResizeMatchesOpenCvExactly) {
  struct Case {
    int sw, sh, dw, dh;
  };
  const Case cases[] = {
      {640, 480, 640, 480},                                                 // identity
      {768, 576, 640, 480},                                                 // letterbox-like shrink
      {1352, 900, 640, 426}, {1920, 1080, 640, 360}, {640, 480, 320, 240},  // exactly 1/2
      {100, 60, 640, 384},                                                  // enlarge
      {37, 23, 101, 59},     {3, 2, 17, 11},                                // odd ratios
      {1, 1, 5, 7},          {1, 40, 1, 13},         {40, 1, 13, 1},        // degenerate axes
      {5000, 7, 640, 1},     {333, 333, 640, 640},   {641, 481, 640, 480},
  };
  for (const Case& c : cases) {
    for (int content = 0; content < 2; ++content) {
      const Image src =
          content == 0 ? RandomImage(c.sw, c.sh, c.sw * 31 + c.sh) : GradientImage(c.sw, c.sh);
      Image plain;
      ASSERT_TRUE(PlainImageOps::ResizeBilinear(src, c.dw, c.dh, &plain).ok());
      ASSERT_EQ(plain.width, c.dw);
      ASSERT_EQ(plain.height, c.dh);
      cv::Mat ocv;
      cv::resize(image_test::AsMat(src), ocv, cv::Size(c.dw, c.dh), 0, 0, cv::INTER_LINEAR);
      EXPECT_EQ(image_test::MaxAbsDiff(image_test::AsMat(plain), ocv), 0.0)
          << c.sw << "x" << c.sh << " -> " << c.dw << "x" << c.dh << " content " << content;
    }
  }
}

TEST(PlainFallbackTest, BilinearResizeMatchesOpenCvOnRandomSizes) {
  std::mt19937 rng(2024);
  std::uniform_int_distribution<int> size(1, 160);
  for (int i = 0; i < 300; ++i) {
    const int sw = size(rng), sh = size(rng), dw = size(rng), dh = size(rng);
    const Image src = RandomImage(sw, sh, static_cast<uint32_t>(i));
    Image plain;
    ASSERT_TRUE(PlainImageOps::ResizeBilinear(src, dw, dh, &plain).ok());
    cv::Mat ocv;
    cv::resize(image_test::AsMat(src), ocv, cv::Size(dw, dh), 0, 0, cv::INTER_LINEAR);
    ASSERT_EQ(image_test::MaxAbsDiff(image_test::AsMat(plain), ocv), 0.0)
        << sw << "x" << sh << " -> " << dw << "x" << dh;
  }
}

TEST(PlainFallbackTest, BilinearResizeWritesOnlyItsWindow) {
  // Letterbox resizes straight into the interior of a padded image.
  const Image src = GradientImage(50, 30);
  std::vector<uint8_t> canvas(80 * 60 * 3, 114);
  const size_t stride = 80 * 3;
  ASSERT_TRUE(PlainImageOps::ResizeBilinear(src.data.data(), 50, 30, 50 * 3,
                                            canvas.data() + 10 * stride + 5 * 3, 70, 40, stride)
                  .ok());
  Image whole;
  ASSERT_TRUE(PlainImageOps::ResizeBilinear(src, 70, 40, &whole).ok());
  for (int y = 0; y < 60; ++y) {
    for (int x = 0; x < 80; ++x) {
      for (int c = 0; c < 3; ++c) {
        const uint8_t got = canvas[y * stride + x * 3 + c];
        const bool inside = y >= 10 && y < 50 && x >= 5 && x < 75;
        const uint8_t want = inside ? whole.row(y - 10)[(x - 5) * 3 + c] : 114;
        ASSERT_EQ(got, want) << x << "," << y << " channel " << c;
      }
    }
  }
  Image out;
  EXPECT_EQ(PlainImageOps::ResizeBilinear(src, 0, 10, &out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PlainImageOps::ResizeBilinear(src, 10, 10, nullptr).code(),
            StatusCode::kInvalidArgument);
}

TEST(PlainFallbackTest, ExifOrientationMatchesOpenCvExactly) {
  const Image src = RandomImage(7, 5, 42);  // non-square: 5-8 swap the axes
  for (int orientation = 1; orientation <= 8; ++orientation) {
    Image plain, ocv;
    ASSERT_TRUE(PlainImageOps::ApplyExifOrientation(src, orientation, &plain).ok());
    ASSERT_TRUE(ApplyExifOrientation(src, orientation, &ocv).ok());  // OpenCV in this build
    ASSERT_EQ(plain.width, ocv.width) << orientation;
    ASSERT_EQ(plain.height, ocv.height) << orientation;
    EXPECT_EQ(plain.data, ocv.data) << "orientation " << orientation;
  }
  Image out;
  EXPECT_EQ(PlainImageOps::ApplyExifOrientation(src, 9, &out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PlainImageOps::ApplyExifOrientation(src, 0, &out).code(), StatusCode::kInvalidArgument);
  Image same = src;
  EXPECT_EQ(PlainImageOps::ApplyExifOrientation(same, 6, &same).code(),
            StatusCode::kInvalidArgument);
}

// PngDecoder's pixels must equal cv::imdecode(IMREAD_COLOR)'s, converted to
// RGB, byte for byte.
void ExpectPngMatchesOpenCv(const Bytes& png, const std::string& what) {
  ASSERT_FALSE(png.empty()) << what << ": the test could not write the PNG";
  Image plain;
  const Status st = PngDecoder::Decode(png.data(), png.size(), 1 << 30, &plain);
  const cv::Mat ocv = image_test::OpenCvDecodeRgb(png);
  ASSERT_FALSE(ocv.empty()) << what << ": OpenCV could not decode it";
  ASSERT_TRUE(st.ok()) << what << ": " << st.ToString();
  ASSERT_EQ(plain.width, ocv.cols) << what;
  ASSERT_EQ(plain.height, ocv.rows) << what;
  EXPECT_EQ(image_test::MaxAbsDiff(image_test::AsMat(plain), ocv), 0.0) << what;
}

TEST(PlainFallbackTest, PngMatchesOpenCvForEveryColourTypeAndDepth) {
  const int w = 37, h = 23;  // odd sizes: partial bytes at low depths, Adam7 edge passes
  struct Kind {
    const char* name;
    int color_type;
    std::vector<int> depths;
  };
  const Kind kinds[] = {
      {"gray", PNG_COLOR_TYPE_GRAY, {1, 2, 4, 8, 16}},
      {"gray+alpha", PNG_COLOR_TYPE_GRAY_ALPHA, {8, 16}},
      {"rgb", PNG_COLOR_TYPE_RGB, {8, 16}},
      {"rgba", PNG_COLOR_TYPE_RGB_ALPHA, {8, 16}},
      {"palette", PNG_COLOR_TYPE_PALETTE, {1, 2, 4, 8}},
  };
  for (const Kind& kind : kinds) {
    for (int depth : kind.depths) {
      for (bool interlaced : {false, true}) {
        image_test::PngSpec spec;
        spec.width = w;
        spec.height = h;
        spec.color_type = kind.color_type;
        spec.bit_depth = depth;
        spec.interlaced = interlaced;
        const int max = (1 << depth) - 1;
        spec.sample = [max](int x, int y, int c) { return (x * 97 + y * 57 + c * 31) % (max + 1); };
        if (kind.color_type == PNG_COLOR_TYPE_PALETTE) {
          for (int i = 0; i <= max; ++i) {
            spec.palette.push_back({static_cast<png_byte>(i * 53), static_cast<png_byte>(255 - i),
                                    static_cast<png_byte>(i * 7)});
          }
        }
        const std::string what = std::string(kind.name) + " " + std::to_string(depth) + "-bit" +
                                 (interlaced ? " interlaced" : "");
        ExpectPngMatchesOpenCv(image_test::WritePng(spec), what);
      }
    }
  }
}

TEST(PlainFallbackTest, PngTransparencyIsDroppedAsOpenCvDoes) {
  image_test::PngSpec palette;
  palette.width = 16;
  palette.height = 9;
  palette.color_type = PNG_COLOR_TYPE_PALETTE;
  palette.bit_depth = 4;
  for (int i = 0; i < 16; ++i) {
    palette.palette.push_back({static_cast<png_byte>(i * 16), static_cast<png_byte>(i * 3), 200});
    palette.palette_alpha.push_back(static_cast<uint8_t>(i * 17));
  }
  palette.sample = [](int x, int y, int) { return (x + y) % 16; };
  ExpectPngMatchesOpenCv(image_test::WritePng(palette), "palette with tRNS");

  image_test::PngSpec gray;
  gray.width = 16;
  gray.height = 9;
  gray.color_type = PNG_COLOR_TYPE_GRAY;
  gray.bit_depth = 2;
  gray.gray_or_rgb_trns = true;
  gray.trns_color.gray = 1;
  gray.sample = [](int x, int y, int) { return (x * y) % 4; };
  ExpectPngMatchesOpenCv(image_test::WritePng(gray), "2-bit gray with tRNS");

  image_test::PngSpec rgb;
  rgb.width = 16;
  rgb.height = 9;
  rgb.color_type = PNG_COLOR_TYPE_RGB;
  rgb.bit_depth = 16;
  rgb.gray_or_rgb_trns = true;
  rgb.trns_color.red = rgb.trns_color.green = rgb.trns_color.blue = 0;
  rgb.sample = [](int x, int y, int c) { return (x * 4099 + y * 257 + c) & 0xFFFF; };
  ExpectPngMatchesOpenCv(image_test::WritePng(rgb), "16-bit rgb with tRNS");
}

TEST(PlainFallbackTest, PngOfOpenCvsOwnEncoderMatches) {
  const Image src = RandomImage(64, 48, 7);
  cv::Mat bgr;
  cv::cvtColor(image_test::AsMat(src), bgr, cv::COLOR_RGB2BGR);
  ExpectPngMatchesOpenCv(image_test::Encode(bgr, ".png"), "OpenCV 8-bit BGR");
  cv::Mat bgra;
  cv::cvtColor(bgr, bgra, cv::COLOR_BGR2BGRA);
  ExpectPngMatchesOpenCv(image_test::Encode(bgra, ".png"), "OpenCV 8-bit BGRA");
  cv::Mat deep;
  bgr.convertTo(deep, CV_16UC3, 257.0);
  deep += cv::Scalar(100, 7, 60000 % 257);
  ExpectPngMatchesOpenCv(image_test::Encode(deep, ".png"), "OpenCV 16-bit BGR");
}

TEST(PlainFallbackTest, CorruptPngIsRefusedLikeOpenCv) {
  const Image src = GradientImage(40, 30);
  auto png = image_test::WritePng(
      {40, 30, PNG_COLOR_TYPE_RGB, 8, false, {}, {}, false, {}, [&](int x, int y, int c) {
         return src.row(y)[3 * x + c];
       }});
  ASSERT_FALSE(png.empty());
  Image out;
  for (size_t keep : {png.size() / 2, png.size() - 12, size_t{20}}) {
    const Bytes cut(png.begin(), png.begin() + keep);
    const Status st = PngDecoder::Decode(cut.data(), cut.size(), 1 << 30, &out);
    EXPECT_EQ(st.code(), StatusCode::kDataLoss) << keep << " bytes: " << st.ToString();
    EXPECT_TRUE(image_test::OpenCvDecodeRgb(cut).empty()) << keep << " bytes";
  }
  Bytes flipped = png;
  flipped[60] ^= 0xFF;  // inside IDAT: CRC mismatch on a critical chunk
  EXPECT_EQ(PngDecoder::Decode(flipped.data(), flipped.size(), 1 << 30, &out).code(),
            StatusCode::kDataLoss);
  EXPECT_TRUE(image_test::OpenCvDecodeRgb(flipped).empty());
  EXPECT_EQ(PngDecoder::Decode(png.data(), png.size(), 40 * 30 - 1, &out).code(),
            StatusCode::kOutOfRange);
  const Bytes jpeg(3, 0xFF);
  EXPECT_EQ(PngDecoder::Decode(jpeg.data(), jpeg.size(), 1 << 30, &out).code(),
            StatusCode::kDataLoss);
}

TEST(PlainFallbackTest, CmykToRgbMatchesOpenCvsCmykJpeg) {
  const int w = 48, h = 32;
  std::vector<uint8_t> cmyk(w * h * 4);
  for (int i = 0; i < w * h; ++i) {
    cmyk[4 * i + 0] = static_cast<uint8_t>(i % w * 5);
    cmyk[4 * i + 1] = static_cast<uint8_t>(i / w * 7);
    cmyk[4 * i + 2] = static_cast<uint8_t>(i * 13);
    cmyk[4 * i + 3] = static_cast<uint8_t>(255 - i % 200);
  }
  std::string jpeg_error;
  const Bytes bytes = image_test::EncodeCmykJpeg(cmyk, w, h, &jpeg_error);
  ASSERT_FALSE(bytes.empty()) << jpeg_error;
  // TurboJPEG's CMYK decode, converted by the fallback ...
  tjhandle decompressor = tjInitDecompress();
  ASSERT_NE(decompressor, nullptr);
  std::vector<uint8_t> decoded(w * h * 4);
  ASSERT_EQ(tjDecompress2(decompressor, bytes.data(), bytes.size(), decoded.data(), w, 0, h,
                          TJPF_CMYK, TJFLAG_ACCURATEDCT),
            0);
  tjDestroy(decompressor);
  Image plain;
  plain.Resize(w, h, 3);
  PlainImageOps::CmykToRgb(decoded.data(), static_cast<size_t>(w) * h, plain.data.data());
  // ... against OpenCV's libjpeg decode and conversion.
  const cv::Mat ocv = image_test::OpenCvDecodeRgb(bytes);
  ASSERT_FALSE(ocv.empty());
  EXPECT_EQ(image_test::MaxAbsDiff(image_test::AsMat(plain), ocv), 0.0);
}

}  // namespace
}  // namespace yoloscope
