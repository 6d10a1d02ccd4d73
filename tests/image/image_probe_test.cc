#include "image/image_probe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

#include "image/image_decoder.h"
#include "image/test_images.h"

namespace yoloscope {
namespace {

using image_test::Bytes;
using ::testing::HasSubstr;

cv::Mat Gradient(int w, int h) {
  cv::Mat bgr(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      bgr.at<cv::Vec3b>(y, x) = cv::Vec3b(x * 7 % 256, y * 11 % 256, (x + y) % 256);
    }
  }
  return bgr;
}

StatusOr<ImageInfo> Probe(const Bytes& bytes) { return ProbeImage(bytes.data(), bytes.size()); }

TEST(ImageProbeTest, ReadsSizeOfEveryDecodableFormat) {
  const cv::Mat bgr = Gradient(37, 23);
  struct Case {
    std::string ext;
    std::vector<int> params;
    ImageFormat format;
  };
  const Case cases[] = {
      {".jpg", {}, ImageFormat::kJpeg},
      {".png", {}, ImageFormat::kPng},
      {".bmp", {}, ImageFormat::kBmp},
      {".webp", {cv::IMWRITE_WEBP_QUALITY, 80}, ImageFormat::kWebp},   // VP8 (lossy).
      {".webp", {cv::IMWRITE_WEBP_QUALITY, 101}, ImageFormat::kWebp},  // VP8L (lossless).
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.ext + (c.params.empty() ? "" : " q" + std::to_string(c.params[1])));
    const Bytes bytes = image_test::Encode(bgr, c.ext, c.params);
    ASSERT_FALSE(bytes.empty());
    auto info = Probe(bytes);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_EQ(info->format, c.format);
    EXPECT_EQ(info->width, 37);
    EXPECT_EQ(info->height, 23);
    EXPECT_EQ(info->orientation, 1);
  }
}

TEST(ImageProbeTest, ReadsWebpExtendedHeader) {
  // RIFF/WEBP with a VP8X chunk: canvas 300 x 200 stored minus one, 24-bit LE.
  Bytes bytes = {'R', 'I', 'F', 'F', 0, 0,    0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8',
                 'X', 10,  0,   0,   0, 0x00, 0, 0, 0,   43,  1,   0,   199, 0,   0};
  auto info = Probe(bytes);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->format, ImageFormat::kWebp);
  EXPECT_EQ(info->width, 300);
  EXPECT_EQ(info->height, 200);

  bytes[20] = 0x02;  // Animation flag.
  auto animated = Probe(bytes);
  EXPECT_EQ(animated.status().code(), StatusCode::kUnimplemented);
  EXPECT_THAT(animated.status().message(), HasSubstr("animated WebP"));
}

TEST(ImageProbeTest, ReadsBmpHeaderVariants) {
  Bytes bmp = image_test::Encode(Gradient(37, 23), ".bmp");
  ASSERT_GE(bmp.size(), 26u);
  // Top-down rows: negative height in BITMAPINFOHEADER.
  const int32_t minus_23 = -23;
  std::memcpy(bmp.data() + 22, &minus_23, 4);  // Little-endian host, as BMP.
  auto top_down = Probe(bmp);
  ASSERT_TRUE(top_down.ok()) << top_down.status().ToString();
  EXPECT_EQ(top_down->height, 23);
  // OS/2 BITMAPCOREHEADER: 12 bytes, 16-bit sizes.
  const Bytes core = {'B', 'M', 0, 0, 0, 0,    0,    0,    0,    0, 26, 0,  0,
                      0,   12,  0, 0, 0, 0x2C, 0x01, 0xC8, 0x00, 1, 0,  24, 0};
  auto os2 = Probe(core);
  ASSERT_TRUE(os2.ok()) << os2.status().ToString();
  EXPECT_EQ(os2->width, 300);
  EXPECT_EQ(os2->height, 200);
}

TEST(ImageProbeTest, ReadsExifOrientationInBothByteOrders) {
  const Bytes jpeg = image_test::EncodeJpeg(Gradient(40, 30));
  for (bool little_endian : {true, false}) {
    for (int orientation = 1; orientation <= 8; ++orientation) {
      auto info = Probe(image_test::WithExifOrientation(jpeg, orientation, little_endian));
      ASSERT_TRUE(info.ok()) << info.status().ToString();
      EXPECT_EQ(info->orientation, orientation) << "little_endian=" << little_endian;
      EXPECT_EQ(info->width, 40);  // Stored size, unaffected.
      EXPECT_EQ(info->height, 30);
      EXPECT_EQ(info->UprightWidth(), orientation >= 5 ? 30 : 40);
      EXPECT_EQ(info->UprightHeight(), orientation >= 5 ? 40 : 30);
    }
  }
}

TEST(ImageProbeTest, MalformedExifMeansNoOrientation) {
  Bytes app1 = image_test::ExifApp1(6);
  const Bytes payload(app1.begin() + 4, app1.end());  // Strip marker and length.
  EXPECT_EQ(ParseExifOrientation(payload.data(), payload.size()), 6);
  EXPECT_EQ(ParseExifOrientation(payload.data(), 10), 1);  // Cut short.
  Bytes bad_order = payload;
  bad_order[6] = 'X';
  EXPECT_EQ(ParseExifOrientation(bad_order.data(), bad_order.size()), 1);
  Bytes bad_offset = payload;
  bad_offset[10] = 0xF0;  // IFD0 offset far past the end.
  EXPECT_EQ(ParseExifOrientation(bad_offset.data(), bad_offset.size()), 1);
  Bytes bad_value = payload;
  bad_value[6 + 8 + 2 + 8] = 9;  // Orientation 9 does not exist.
  EXPECT_EQ(ParseExifOrientation(bad_value.data(), bad_value.size()), 1);
  Bytes huge_count = payload;
  huge_count[6 + 8] = 0xFF;  // 255 entries claimed, 1 present: stop at the end.
  EXPECT_EQ(ParseExifOrientation(huge_count.data(), huge_count.size()), 6);
}

// Found by fuzz_exif_orientation (ASan heap-buffer-overflow): a TIFF block of
// 10 bytes, shorter than one 12-byte IFD entry, made `tiff_size - 12` wrap
// around and the entry was read past the segment. Here the bytes after the
// segment hold an orientation entry: reading them would return 6.
TEST(ImageProbeTest, ExifShorterThanOneEntryIsNotReadPastItsEnd) {
  const Bytes buffer = {'E',  'x',  'i', 'f', 0, 0, 'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1,  // 16 bytes
                        0x01, 0x12, 0,   3,   0, 0, 0,   1,   0, 6,  0, 0};  // past the end
  EXPECT_EQ(ParseExifOrientation(buffer.data(), 16), 1);
}

TEST(ImageProbeTest, CraftedHugeHeadersAreReadWithoutPixels) {
  auto jpeg = Probe(image_test::JpegHeaderOnly(10000, 10000));
  ASSERT_TRUE(jpeg.ok()) << jpeg.status().ToString();
  EXPECT_EQ(jpeg->width, 10000);
  auto png = Probe(image_test::PngHeaderOnly(10000, 10000));
  ASSERT_TRUE(png.ok()) << png.status().ToString();
  EXPECT_EQ(png->height, 10000);
}

TEST(ImageProbeTest, RejectsEmptyUnknownAndUnsupported) {
  auto empty = ProbeImage(nullptr, 0);
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(empty.status().message(), HasSubstr("empty input"));

  const Bytes gif = {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0, 0, 0};
  EXPECT_EQ(Probe(gif).status().code(), StatusCode::kUnimplemented);
  EXPECT_THAT(Probe(gif).status().message(), HasSubstr("unsupported image format (GIF)"));

  const Bytes tiff = {'I', 'I', 42, 0, 8, 0, 0, 0};
  EXPECT_THAT(Probe(tiff).status().message(), HasSubstr("unsupported image format (TIFF)"));
  const Bytes heic = {0, 0, 0, 24, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c', 0, 0, 0, 0};
  EXPECT_THAT(Probe(heic).status().message(), HasSubstr("HEIF"));

  const std::string html = "<html><body>not an image</body></html>";
  auto text = Probe(Bytes(html.begin(), html.end()));
  EXPECT_EQ(text.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(text.status().message(), HasSubstr("unrecognized image format"));
  EXPECT_THAT(text.status().message(), HasSubstr("3c 68 74 6d"));  // "<htm".

  const std::string bm_text = "BMW drivers";  // "BM" magic, nonsense header.
  EXPECT_EQ(Probe(Bytes(bm_text.begin(), bm_text.end())).status().code(), StatusCode::kDataLoss);
}

TEST(ImageProbeTest, TruncatedHeadersAreDataLoss) {
  const Bytes jpeg = image_test::EncodeJpeg(Gradient(40, 30));
  for (size_t cut : {2, 3, 10, 40}) {
    auto info = Probe(Bytes(jpeg.begin(), jpeg.begin() + cut));
    EXPECT_EQ(info.status().code(), StatusCode::kDataLoss) << cut;
    EXPECT_THAT(info.status().message(), HasSubstr("truncated JPEG")) << cut;
  }
  const Bytes png = image_test::Encode(Gradient(40, 30), ".png");
  auto short_png = Probe(Bytes(png.begin(), png.begin() + 20));
  EXPECT_EQ(short_png.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(short_png.status().message(), HasSubstr("truncated PNG"));
}

TEST(ImageProbeTest, NeverCrashesOnRandomOrMangledBytes) {
  std::mt19937 rng(1234);
  const Bytes jpeg = image_test::WithExifOrientation(image_test::EncodeJpeg(Gradient(64, 48)), 6);
  for (int i = 0; i < 2000; ++i) {
    Bytes bytes;
    if (i % 2 == 0) {
      bytes.resize(rng() % 64);
      for (auto& b : bytes) b = static_cast<uint8_t>(rng());
    } else {
      bytes.assign(jpeg.begin(), jpeg.begin() + rng() % jpeg.size());
      for (int k = 0; k < 4 && !bytes.empty(); ++k) {
        bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
      }
    }
    auto info = Probe(bytes);
    if (info.ok()) {
      EXPECT_GT(info->width, 0);
      EXPECT_GT(info->height, 0);
      EXPECT_GE(info->orientation, 1);
      EXPECT_LE(info->orientation, 8);
    } else {
      EXPECT_FALSE(info.status().message().empty());
    }
  }
}

}  // namespace
}  // namespace yoloscope
