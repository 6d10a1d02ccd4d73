#include "image/image_decoder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <iterator>
#include <random>
#include <string>

#include "image/cmyk_jpeg.h"
#include "image/letterbox.h"
#include "image/test_images.h"

namespace yoloscope {
namespace {

using image_test::Bytes;
using ::testing::HasSubstr;

// A photo with real texture, BGR, at a size of our choosing.
cv::Mat PhotoBgr(const std::string& name, cv::Size size = {}) {
  cv::Mat bgr = cv::imread(image_test::PhotoPath(name), cv::IMREAD_COLOR);
  if (!bgr.empty() && size.width > 0) cv::resize(bgr, bgr, size, 0, 0, cv::INTER_AREA);
  return bgr;
}

#define REQUIRE_PHOTO(name) \
  if (!image_test::HavePhoto(name)) GTEST_SKIP() << image_test::PhotoPath(name) << " absent"

StatusOr<DecodeResult> DecodeBytes(ImageDecoder& decoder, const Bytes& bytes, Image* out,
                                   const DecodeOptions& options = {}) {
  return decoder.Decode(bytes.data(), bytes.size(), options, out);
}

TEST(ImageDecoderTest, JpegMatchesOpenCv) {
  REQUIRE_PHOTO("dog.jpg");
  const Bytes bytes = image_test::ReadFile(image_test::PhotoPath("dog.jpg"));
  ImageDecoder decoder;
  Image image;
  auto result = DecodeBytes(decoder, bytes, &image);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->format, ImageFormat::kJpeg);
  EXPECT_EQ(image.width, 768);
  EXPECT_EQ(image.height, 576);
  EXPECT_EQ(result->orig_width, 768);
  EXPECT_EQ(result->decoded_height, 576);
  EXPECT_EQ(result->scale_num, 1);
  EXPECT_EQ(result->scale_denom, 1);
  EXPECT_TRUE(result->warning.empty()) << result->warning;
  // Same libjpeg-turbo underneath, same IDCT and upsampling: equal pixels.
  const cv::Mat expected = image_test::OpenCvDecodeRgb(bytes);
  EXPECT_LE(image_test::MaxAbsDiff(image_test::AsMat(image), expected), 1.0);
}

TEST(ImageDecoderTest, PngBmpWebpMatchOpenCvAndSource) {
  REQUIRE_PHOTO("kite.jpg");
  const cv::Mat bgr = PhotoBgr("kite.jpg", {401, 267});  // Odd sizes on purpose.
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  struct Case {
    std::string ext;
    std::vector<int> params;
    ImageFormat format;
    bool lossless;
  };
  const Case cases[] = {
      {".png", {}, ImageFormat::kPng, true},
      {".bmp", {}, ImageFormat::kBmp, true},
      {".webp", {cv::IMWRITE_WEBP_QUALITY, 101}, ImageFormat::kWebp, true},
      {".webp", {cv::IMWRITE_WEBP_QUALITY, 85}, ImageFormat::kWebp, false},
      {".jpg", {cv::IMWRITE_JPEG_QUALITY, 95}, ImageFormat::kJpeg, false},
  };
  ImageDecoder decoder;  // One decoder for all: buffers are reused.
  Image image;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.ext);
    const Bytes bytes = image_test::Encode(bgr, c.ext, c.params);
    auto result = DecodeBytes(decoder, bytes, &image);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ(result->format, c.format);
    EXPECT_EQ(image.width, 401);
    EXPECT_EQ(image.height, 267);
    EXPECT_EQ(result->orig_width, 401);
    EXPECT_EQ(result->orig_height, 267);
    const cv::Mat mine = image_test::AsMat(image);
    EXPECT_LE(image_test::MaxAbsDiff(mine, image_test::OpenCvDecodeRgb(bytes)), 1.0);
    if (c.lossless) {
      EXPECT_EQ(image_test::MaxAbsDiff(mine, rgb), 0.0);
    } else {
      EXPECT_LT(image_test::MeanAbsDiff(mine, rgb), 4.0);
    }
  }
}

TEST(ImageDecoderTest, GrayscaleJpegBecomesRgb) {
  cv::Mat gray(50, 70, CV_8UC1);
  cv::randu(gray, 0, 255);
  cv::GaussianBlur(gray, gray, {5, 5}, 2);
  const Bytes bytes = image_test::EncodeJpeg(gray, 95);
  ImageDecoder decoder;
  Image image;
  auto result = DecodeBytes(decoder, bytes, &image);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(image.channels, 3);
  EXPECT_LE(image_test::MaxAbsDiff(image_test::AsMat(image), image_test::OpenCvDecodeRgb(bytes)),
            1.0);
  for (int y = 0; y < image.height; ++y) {
    const uint8_t* p = image.row(y);
    for (int x = 0; x < image.width; ++x, p += 3) ASSERT_TRUE(p[0] == p[1] && p[1] == p[2]);
  }
}

TEST(ImageDecoderTest, CmykJpegFallsBackToOpenCv) {
  // TurboJPEG writes a YCCK JPEG from CMYK pixels; it cannot decode that to
  // RGB itself, so the decoder must route it through OpenCV.
  const int w = 48, h = 32;
  std::vector<uint8_t> cmyk(w * h * 4);
  for (int i = 0; i < w * h; ++i) {
    cmyk[4 * i + 0] = static_cast<uint8_t>(i % w * 5);
    cmyk[4 * i + 1] = static_cast<uint8_t>(i / w * 7);
    cmyk[4 * i + 2] = 40;
    cmyk[4 * i + 3] = 10;
  }
  std::string jpeg_error;
  const Bytes bytes = image_test::EncodeCmykJpeg(cmyk, w, h, &jpeg_error);
  ASSERT_FALSE(bytes.empty()) << jpeg_error;

  ImageDecoder decoder;
  Image image;
  auto result = DecodeBytes(decoder, bytes, &image);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->format, ImageFormat::kJpeg);
  EXPECT_EQ(image.width, w);
  EXPECT_LE(image_test::MaxAbsDiff(image_test::AsMat(image), image_test::OpenCvDecodeRgb(bytes)),
            0.0);
}

struct ScaleCase {
  int w, h, target;
  int num, denom;
};

void ExpectScales(const ScaleCase* cases, size_t n, bool power_of_two_only) {
  for (size_t i = 0; i < n; ++i) {
    const ScaleCase& c = cases[i];
    DecodeOptions options;
    options.target_w = c.target;
    options.target_h = c.target;
    options.power_of_two_scales_only = power_of_two_only;
    int num = 0, denom = 0;
    ImageDecoder::ChooseJpegScale(c.w, c.h, options, &num, &denom);
    EXPECT_EQ(num * c.denom, denom * c.num)
        << c.w << "x" << c.h << " -> " << c.target << ": got " << num << "/" << denom << ", want "
        << c.num << "/" << c.denom << (power_of_two_only ? " (1/2^k only)" : "");
  }
}

TEST(ImageDecoderTest, ChoosesSmallestSufficientDctScale) {
  // Any TurboJPEG factor <= 1.
  const ScaleCase all_factors[] = {
      {1920, 1080, 640, 3, 8},  // Needs 640x360: 3/8 -> 720x405; 1/4 -> 480 is too small.
      {768, 576, 640, 7, 8},    // Needs 640x480: 7/8 -> 672x504; 3/4 -> 576 too small.
      {4000, 3000, 640, 1, 4},  // Needs 640x480: 1/4 -> 1000x750; 1/8 -> 500 too small.
      {5120, 5120, 640, 1, 8},  // 1/8 gives exactly 640.
      {1352, 900, 320, 1, 4},   // Needs 320x213: 1/4 -> 338x225.
      {900, 1352, 320, 1, 4},   // Portrait: same factor.
      {640, 480, 640, 1, 1},    // No shrink needed.
      {100, 100, 640, 1, 1},    // Letterbox scales up: never shrink.
      {1000, 10, 640, 3, 4},    // Needs 640x6: 5/8 -> 625 is too small, 3/4 -> 750.
      {1001, 1001, 640, 3, 4},  // Needs 640: 5/8 -> ceil(625.6) = 626 < 640; 3/4 -> 751.
  };
  ExpectScales(all_factors, std::size(all_factors), false);
  // The default: 1/2, 1/4, 1/8 only (the fast IDCTs).
  const ScaleCase power_of_two[] = {
      {1920, 1080, 640, 1, 2},  // 3/8 would do, 1/2 is the smallest fast one.
      {768, 576, 640, 1, 1},    // 7/8 would do but is slower than a full decode.
      {4000, 3000, 640, 1, 4}, {5120, 5120, 640, 1, 8}, {1352, 900, 320, 1, 4},
      {640, 480, 640, 1, 1},   {100, 100, 640, 1, 1},   {1000, 10, 640, 1, 1},
      {3840, 2160, 640, 1, 4},  // Needs 640x360: 1/4 -> 960x540; 1/8 -> 480.
      {1280, 1280, 640, 1, 2},  // Exactly half.
      {1279, 1279, 640, 1, 2},  // 1/2 -> ceil(639.5) = 640: just enough.
      {1277, 1277, 640, 1, 1},  // 1/2 -> ceil(638.5) = 639 < 640.
  };
  ExpectScales(power_of_two, std::size(power_of_two), true);

  DecodeOptions no_target;
  int num = 0, denom = 0;
  ImageDecoder::ChooseJpegScale(4000, 3000, no_target, &num, &denom);
  EXPECT_EQ(num, denom);
}

TEST(ImageDecoderTest, DctScalingKeepsLetterboxQualityAndGeometry) {
  REQUIRE_PHOTO("kite.jpg");
  // A 1920x1080 photo with a white 40x40 square centred on (1520, 320).
  cv::Mat bgr = PhotoBgr("kite.jpg", {1920, 1080});
  bgr *= 0.5;  // Keep the photo darker than the marker.
  cv::rectangle(bgr, cv::Rect(1500, 300, 40, 40), cv::Scalar(255, 255, 255), cv::FILLED);
  const Bytes bytes = image_test::EncodeJpeg(bgr, 90);

  ImageDecoder decoder;
  Image scaled, full;
  DecodeOptions options;
  options.target_w = 640;
  options.target_h = 640;
  options.power_of_two_scales_only = false;  // 3/8: the tightest factor.
  auto scaled_result = DecodeBytes(decoder, bytes, &scaled, options);
  ASSERT_TRUE(scaled_result.ok()) << scaled_result.status().ToString();
  EXPECT_EQ(scaled_result->scale_num, 3);
  EXPECT_EQ(scaled_result->scale_denom, 8);
  EXPECT_EQ(scaled_result->orig_width, 1920);
  EXPECT_EQ(scaled_result->orig_height, 1080);
  EXPECT_EQ(scaled_result->decoded_width, 720);
  EXPECT_EQ(scaled_result->decoded_height, 405);
  EXPECT_EQ(scaled.width, 720);
  // The default picks 1/2.
  Image half;
  options.power_of_two_scales_only = true;
  auto half_result = DecodeBytes(decoder, bytes, &half, options);
  ASSERT_TRUE(half_result.ok());
  EXPECT_EQ(half_result->scale_denom, 2 * half_result->scale_num);
  EXPECT_EQ(half.width, 960);
  EXPECT_EQ(half.height, 540);
  EXPECT_EQ(half_result->orig_width, 1920);
  auto full_result = DecodeBytes(decoder, bytes, &full);
  ASSERT_TRUE(full_result.ok());
  EXPECT_EQ(full.width, 1920);

  // The 640 letterbox of the shrunk decode is close to that of the full one.
  Letterbox letterbox;
  std::vector<float> from_scaled(3 * 640 * 640), from_full(3 * 640 * 640);
  auto t_scaled =
      letterbox.ToTensor(scaled, *scaled_result, from_scaled.data(), from_scaled.size());
  auto t_full = letterbox.ToTensor(full, *full_result, from_full.data(), from_full.size());
  std::vector<float> from_half(3 * 640 * 640);
  auto t_half = letterbox.ToTensor(half, *half_result, from_half.data(), from_half.size());
  ASSERT_TRUE(t_scaled.ok() && t_full.ok() && t_half.ok());
  for (const std::vector<float>* tensor : {&from_scaled, &from_half}) {
    double sum_abs = 0;
    for (size_t i = 0; i < from_full.size(); ++i) sum_abs += std::abs((*tensor)[i] - from_full[i]);
    EXPECT_LT(sum_abs / from_full.size() * 255, 2.0);  // Mean difference, 8-bit levels.
  }

  // All transforms map the network input back onto the same 1920x1080 picture.
  for (const LetterboxTransform& t : {*t_scaled, *t_full, *t_half}) {
    EXPECT_EQ(t.orig_w, 1920);
    EXPECT_EQ(t.orig_h, 1080);
    EXPECT_NEAR(t.gain_x, 1.0 / 3.0, 1e-6);
    EXPECT_EQ(t.pad_x, 0.f);
    EXPECT_EQ(t.pad_y, 140.f);
  }
  // Find the marker in the scaled tensor and map its centre back.
  double sx = 0, sy = 0, n = 0;
  for (int y = 0; y < 640; ++y) {
    for (int x = 0; x < 640; ++x) {
      const size_t i = static_cast<size_t>(y) * 640 + x;
      if (from_scaled[i] > 0.9f && from_scaled[i + 640 * 640] > 0.9f &&
          from_scaled[i + 2 * 640 * 640] > 0.9f) {
        sx += x + 0.5, sy += y + 0.5, n += 1;
      }
    }
  }
  ASSERT_GT(n, 50);
  EXPECT_NEAR(t_scaled->ToOrigX(sx / n), 1520, 2.0);
  EXPECT_NEAR(t_scaled->ToOrigY(sy / n), 320, 2.0);
}

// Where the stored top-left (red) and top-right (green) blocks end up once
// orientation o is applied: corners of the upright picture.
enum Corner { kTopLeft, kTopRight, kBottomLeft, kBottomRight };
struct OrientationCase {
  int orientation;
  Corner red, green;
};
constexpr OrientationCase kOrientationCases[] = {
    {1, kTopLeft, kTopRight},       {2, kTopRight, kTopLeft},   {3, kBottomRight, kBottomLeft},
    {4, kBottomLeft, kBottomRight}, {5, kTopLeft, kBottomLeft}, {6, kTopRight, kBottomRight},
    {7, kBottomRight, kTopRight},   {8, kBottomLeft, kTopLeft},
};

cv::Vec3b CornerPixel(const Image& image, Corner corner) {
  const int m = 8;  // Inside the 24x24 block, away from JPEG edge ringing.
  const int x = (corner == kTopLeft || corner == kBottomLeft) ? m : image.width - 1 - m;
  const int y = (corner == kTopLeft || corner == kTopRight) ? m : image.height - 1 - m;
  const uint8_t* p = image.row(y) + 3 * x;
  return {p[0], p[1], p[2]};
}

TEST(ImageDecoderTest, AppliesExifOrientation) {
  const int w = 96, h = 64;
  cv::Mat stored(h, w, CV_8UC3, cv::Scalar(128, 128, 128));
  stored(cv::Rect(0, 0, 24, 24)).setTo(cv::Scalar(0, 0, 255));       // BGR red, top-left.
  stored(cv::Rect(w - 24, 0, 24, 24)).setTo(cv::Scalar(0, 255, 0));  // Green, top-right.
  const Bytes plain = image_test::EncodeJpeg(stored, 95);
  ImageDecoder decoder;
  Image image;
  for (const OrientationCase& c : kOrientationCases) {
    SCOPED_TRACE("orientation " + std::to_string(c.orientation));
    const Bytes bytes = image_test::WithExifOrientation(plain, c.orientation, c.orientation % 2);
    auto result = DecodeBytes(decoder, bytes, &image);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    const bool swapped = c.orientation >= 5;
    EXPECT_EQ(image.width, swapped ? h : w);
    EXPECT_EQ(image.height, swapped ? w : h);
    EXPECT_EQ(result->orig_width, image.width);
    EXPECT_EQ(result->orig_height, image.height);
    EXPECT_EQ(result->orientation, c.orientation);
    EXPECT_EQ(result->orientation_applied, c.orientation != 1);
    const cv::Vec3b red = CornerPixel(image, c.red);
    const cv::Vec3b green = CornerPixel(image, c.green);
    EXPECT_GT(red[0], 200);
    EXPECT_LT(red[1], 60);
    EXPECT_LT(green[0], 60);
    EXPECT_GT(green[1], 200);
    // OpenCV applies EXIF orientation on its own: an independent oracle.
    EXPECT_LE(
        image_test::MaxAbsDiff(image_test::AsMat(image),
                               image_test::OpenCvDecodeRgb(bytes, /*apply_orientation=*/true)),
        1.0);

    DecodeOptions raw;
    raw.apply_exif_orientation = false;
    auto unrotated = DecodeBytes(decoder, bytes, &image, raw);
    ASSERT_TRUE(unrotated.ok());
    EXPECT_EQ(image.width, w);
    EXPECT_FALSE(unrotated->orientation_applied);
    EXPECT_EQ(unrotated->orientation, c.orientation);
  }
}

TEST(ImageDecoderTest, OrientationAndDctScalingTogether) {
  REQUIRE_PHOTO("kite.jpg");
  const Bytes bytes = image_test::WithExifOrientation(
      image_test::EncodeJpeg(PhotoBgr("kite.jpg", {1600, 1200})), 6);
  DecodeOptions options;
  options.target_w = 640;
  options.target_h = 640;
  ImageDecoder decoder;
  Image image;
  auto result = DecodeBytes(decoder, bytes, &image, options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  // Upright it is 1200x1600; the letterbox needs 480x640, so 1/2 (600x800).
  EXPECT_EQ(result->orig_width, 1200);
  EXPECT_EQ(result->orig_height, 1600);
  EXPECT_EQ(result->scale_num * 2, result->scale_denom);
  EXPECT_EQ(image.width, 600);
  EXPECT_EQ(image.height, 800);
}

TEST(ImageDecoderTest, RejectsEmptyRandomAndUnsupportedInput) {
  ImageDecoder decoder;
  Image image;
  auto empty = decoder.Decode(nullptr, 0, {}, &image);
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(empty.status().message(), HasSubstr("empty input"));

  std::mt19937 rng(42);
  Bytes random(4096);
  for (auto& b : random) b = static_cast<uint8_t>(rng());
  random[0] = 0x00;  // Make sure no magic matches by chance.
  auto noise = DecodeBytes(decoder, random, &image);
  EXPECT_EQ(noise.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(noise.status().message(), HasSubstr("unrecognized image format"));

  const Bytes gif = {'G', 'I', 'F', '8', '9',  'a',  10,   0,    10,   0, 0x80, 0,
                     0,   0,   0,   0,   0xFF, 0xFF, 0xFF, ',',  0,    0, 0,    0,
                     10,  0,   10,  0,   0,    2,    2,    0x44, 0x01, 0, ';'};
  auto gif_result = DecodeBytes(decoder, gif, &image);
  EXPECT_EQ(gif_result.status().code(), StatusCode::kUnimplemented);
  EXPECT_THAT(gif_result.status().message(), HasSubstr("unsupported image format (GIF)"));
}

TEST(ImageDecoderTest, TruncatedJpegIsDataLoss) {
  REQUIRE_PHOTO("dog.jpg");
  const Bytes bytes = image_test::ReadFile(image_test::PhotoPath("dog.jpg"));
  ImageDecoder decoder;
  Image image;
  for (DecodeOptions options : {DecodeOptions{}, DecodeOptions{.target_w = 320, .target_h = 320}}) {
    for (size_t cut : {bytes.size() / 2, bytes.size() - 2, bytes.size() / 10}) {
      auto result =
          DecodeBytes(decoder, Bytes(bytes.begin(), bytes.begin() + cut), &image, options);
      EXPECT_EQ(result.status().code(), StatusCode::kDataLoss) << cut;
      EXPECT_THAT(result.status().message(), HasSubstr("truncated JPEG")) << cut;
    }
  }
  // The decoder is still usable afterwards.
  EXPECT_TRUE(DecodeBytes(decoder, bytes, &image).ok());
}

TEST(ImageDecoderTest, TruncatedPngIsDataLoss) {
  REQUIRE_PHOTO("dog.jpg");
  const Bytes png = image_test::Encode(PhotoBgr("dog.jpg"), ".png");
  ImageDecoder decoder;
  Image image;
  auto result = DecodeBytes(decoder, Bytes(png.begin(), png.begin() + png.size() / 2), &image);
  EXPECT_EQ(result.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(result.status().message(), HasSubstr("corrupt PNG"));
}

TEST(ImageDecoderTest, HeaderWithoutPixelsIsDataLoss) {
  ImageDecoder decoder;
  Image image;
  auto jpeg = DecodeBytes(decoder, image_test::JpegHeaderOnly(100, 80), &image);
  EXPECT_EQ(jpeg.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(jpeg.status().message(), HasSubstr("corrupt JPEG"));
  auto png = DecodeBytes(decoder, image_test::PngHeaderOnly(100, 80), &image);
  EXPECT_EQ(png.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(png.status().message(), HasSubstr("corrupt PNG"));
}

TEST(ImageDecoderTest, CorruptJpegWarningsTolerantOrStrict) {
  REQUIRE_PHOTO("dog.jpg");
  Bytes bytes = image_test::ReadFile(image_test::PhotoPath("dog.jpg"));
  // Stray bytes before the final EOI: libjpeg warns and carries on.
  const uint8_t stray[] = {0x12, 0x34, 0x56};
  bytes.insert(bytes.end() - 2, stray, stray + 3);
  ImageDecoder decoder;
  Image image;
  auto tolerant = DecodeBytes(decoder, bytes, &image);
  ASSERT_TRUE(tolerant.ok()) << tolerant.status().ToString();
  EXPECT_THAT(tolerant->warning, HasSubstr("extraneous bytes"));
  EXPECT_EQ(image.width, 768);
  DecodeOptions strict;
  strict.strict_jpeg = true;
  auto rejected = DecodeBytes(decoder, bytes, &image, strict);
  EXPECT_EQ(rejected.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(rejected.status().message(), HasSubstr("corrupt JPEG"));

  // A benign warning first, then the file is cut: still a truncated JPEG.
  Bytes early_stray = image_test::ReadFile(image_test::PhotoPath("dog.jpg"));
  const size_t sos = [&] {
    for (size_t i = 2; i + 1 < early_stray.size(); ++i) {
      if (early_stray[i] == 0xFF && early_stray[i + 1] == 0xDA) return i;
    }
    return size_t{0};
  }();
  ASSERT_GT(sos, 0u);
  early_stray.insert(early_stray.begin() + sos, stray, stray + 3);  // Stray bytes before SOS.
  auto whole = DecodeBytes(decoder, early_stray, &image);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  EXPECT_THAT(whole->warning, HasSubstr("extraneous bytes before marker 0xda"));
  early_stray.resize(early_stray.size() * 2 / 3);
  auto cut = DecodeBytes(decoder, early_stray, &image);
  EXPECT_EQ(cut.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(cut.status().message(), HasSubstr("truncated JPEG"));
}

TEST(ImageDecoderTest, RejectsTooManyPixelsBeforeDecoding) {
  ImageDecoder decoder;
  Image image;
  // Headers only: had the decoder tried to decode, it would report data loss.
  for (const Bytes& bytes :
       {image_test::JpegHeaderOnly(10000, 10000), image_test::PngHeaderOnly(10000, 10000)}) {
    auto result = DecodeBytes(decoder, bytes, &image);
    EXPECT_EQ(result.status().code(), StatusCode::kOutOfRange);
    EXPECT_THAT(result.status().message(), HasSubstr("10000x10000"));
    EXPECT_THAT(result.status().message(), HasSubstr("100000000 pixels"));
    EXPECT_THAT(result.status().message(), HasSubstr("limit of 40000000"));
    EXPECT_TRUE(image.data.empty());  // Nothing was allocated for it.
  }
  REQUIRE_PHOTO("dog.jpg");
  DecodeOptions small_limit;
  small_limit.max_pixels = 768 * 576 - 1;
  const Bytes dog = image_test::ReadFile(image_test::PhotoPath("dog.jpg"));
  EXPECT_EQ(DecodeBytes(decoder, dog, &image, small_limit).status().code(),
            StatusCode::kOutOfRange);
  small_limit.max_pixels = 768 * 576;
  EXPECT_TRUE(DecodeBytes(decoder, dog, &image, small_limit).ok());
}

TEST(ImageDecoderTest, NeverCrashesOnMangledFiles) {
  REQUIRE_PHOTO("dog.jpg");
  const cv::Mat bgr = PhotoBgr("dog.jpg", {160, 120});
  const Bytes sources[] = {image_test::EncodeJpeg(bgr), image_test::Encode(bgr, ".png"),
                           image_test::Encode(bgr, ".bmp"), image_test::Encode(bgr, ".webp")};
  std::mt19937 rng(7);
  ImageDecoder decoder;
  Image image;
  DecodeOptions options;
  options.target_w = 64;
  options.target_h = 64;
  int ok = 0, failed = 0;
  for (int i = 0; i < 400; ++i) {
    const Bytes& source = sources[i % 4];
    Bytes bytes(source.begin(), source.begin() + 1 + rng() % source.size());
    for (int k = 0; k < 3; ++k) bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
    auto result = DecodeBytes(decoder, bytes, &image, options);
    if (result.ok()) {
      ++ok;
      EXPECT_EQ(image.width, result->decoded_width);
      EXPECT_EQ(image.data.size(), static_cast<size_t>(image.width) * image.height * 3);
    } else {
      ++failed;
      EXPECT_NE(result.status().code(), StatusCode::kInternal) << result.status().ToString();
    }
  }
  EXPECT_GT(failed, 0);
  RecordProperty("decoded_ok", ok);
}

TEST(ImageDecoderTest, ReusesOutputBuffer) {
  REQUIRE_PHOTO("kite.jpg");
  REQUIRE_PHOTO("dog.jpg");
  const Bytes kite = image_test::ReadFile(image_test::PhotoPath("kite.jpg"));
  const Bytes dog = image_test::ReadFile(image_test::PhotoPath("dog.jpg"));
  ImageDecoder decoder;
  Image image;
  ASSERT_TRUE(DecodeBytes(decoder, kite, &image).ok());
  const uint8_t* buffer = image.data.data();
  ASSERT_TRUE(DecodeBytes(decoder, dog, &image).ok());  // Smaller: no reallocation.
  EXPECT_EQ(image.data.data(), buffer);
  EXPECT_EQ(image.width, 768);

  ImageDecoder moved = std::move(decoder);  // Handles move with the object.
  EXPECT_TRUE(DecodeBytes(moved, kite, &image).ok());
}

}  // namespace
}  // namespace yoloscope
