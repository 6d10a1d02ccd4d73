// Annotator in every build: with OpenCV (boxes and captions, cv::imwrite)
// and without it (plain boxes, TurboJPEG/libpng). Either way the box
// outline lands on the box's edges in the class's colour, the inside of the
// box is untouched, and EXIF orientation is applied before drawing.
#include "pipeline/annotator.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "image/image_decoder.h"
#include "image/image_encoder.h"

namespace yoloscope {
namespace {

namespace fs = std::filesystem;

class AnnotatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ys_annotator_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    model_.name = "m";
    model_.class_names = {"person", "bicycle"};
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // A uniform grey picture, w x h.
  static Image Grey(int w, int h) {
    Image image;
    image.Resize(w, h, 3);
    std::fill(image.data.begin(), image.data.end(), 128);
    return image;
  }

  static std::string Encoded(const StatusOr<std::vector<uint8_t>>& bytes) {
    return bytes.ok() ? std::string(bytes->begin(), bytes->end()) : std::string();
  }

  Image ReadBack(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                     std::istreambuf_iterator<char>());
    Image out;
    ImageDecoder decoder;
    auto result = decoder.Decode(bytes.data(), bytes.size(), DecodeOptions{}, &out);
    EXPECT_TRUE(result.ok()) << path << ": " << result.status().ToString();
    return out;
  }

  fs::path dir_;
  ModelInfo model_;
};

// Class 0's palette colour, RGB.
constexpr int kRed = 255, kGreen = 56, kBlue = 56;

void ExpectColour(const Image& image, int x, int y, int r, int g, int b, int tolerance) {
  const uint8_t* p = image.row(y) + 3 * x;
  EXPECT_NEAR(p[0], r, tolerance) << "at " << x << "," << y;
  EXPECT_NEAR(p[1], g, tolerance) << "at " << x << "," << y;
  EXPECT_NEAR(p[2], b, tolerance) << "at " << x << "," << y;
}

TEST_F(AnnotatorTest, DrawsTheBoxIntoAPng) {
  // 1000 x 1000: the outline is round(2000 * 0.001) = 2 pixels wide.
  const std::string png = Encoded(ImageEncoder::EncodePng(Grey(1000, 1000)));
  ASSERT_FALSE(png.empty());
  const Detections detections = {{200, 300, 700, 800, 0.9f, 0}};
  const fs::path out = dir_ / "drawn.png";
  const Status st = Annotator().Write(png, detections, model_, out.string());
  ASSERT_TRUE(st.ok()) << st.ToString();
  const Image drawn = ReadBack(out);
  ASSERT_EQ(drawn.width, 1000);
  ASSERT_EQ(drawn.height, 1000);
  // Bottom, left and right edges in the middle (the caption, where drawn,
  // sits on the top edge).
  ExpectColour(drawn, 450, 800, kRed, kGreen, kBlue, 0);
  ExpectColour(drawn, 200, 550, kRed, kGreen, kBlue, 0);
  ExpectColour(drawn, 700, 550, kRed, kGreen, kBlue, 0);
  // Inside and outside the box: untouched.
  ExpectColour(drawn, 450, 550, 128, 128, 128, 0);
  ExpectColour(drawn, 450, 900, 128, 128, 128, 0);
  ExpectColour(drawn, 100, 550, 128, 128, 128, 0);
}

TEST_F(AnnotatorTest, DrawsIntoAJpegWithItsOrientationApplied) {
  // Stored 600 x 400 with EXIF orientation 6: upright it is 400 x 600, and
  // the detections are in upright pixels.
  std::string jpeg = Encoded(ImageEncoder::EncodeJpeg(Grey(600, 400), 95));
  ASSERT_FALSE(jpeg.empty());
  // An APP1 Exif segment with one IFD0 entry, Orientation (0x0112) = 6,
  // little-endian, spliced in after SOI.
  const unsigned char app1[] = {0xFF, 0xE1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0,  // header
                                'I',  'I',  42,   0,    8,   0,   0,   0,          // TIFF
                                1,    0,                                           // 1 entry
                                0x12, 0x01, 3,    0,    1,   0,   0,   0,   6, 0,
                                0,    0,    0,    0,    0,   0};  // no next IFD
  jpeg.insert(2, reinterpret_cast<const char*>(app1), sizeof(app1));
  const Detections detections = {{100, 150, 300, 450, 0.5f, 0}};
  const fs::path out = dir_ / "drawn.jpg";
  const Status st = Annotator().Write(jpeg, detections, model_, out.string());
  ASSERT_TRUE(st.ok()) << st.ToString();
  const Image drawn = ReadBack(out);
  ASSERT_EQ(drawn.width, 400);
  ASSERT_EQ(drawn.height, 600);
  // round(1000 * 0.001) = 1 pixel: JPEG blurs it, so a loose colour check
  // on the outline and a tight one well inside.
  const uint8_t* edge = drawn.row(300) + 3 * 100;
  EXPECT_GT(edge[0] - edge[1], 40)
      << "left edge is not reddish: " << int(edge[0]) << "," << int(edge[1]) << "," << int(edge[2]);
  ExpectColour(drawn, 200, 300, 128, 128, 128, 3);
}

TEST_F(AnnotatorTest, RefusesWhatItCannotReadOrWrite) {
  const Status bad = Annotator().Write("not an image", {}, model_, (dir_ / "x.jpg").string());
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument) << bad.ToString();
  const std::string png = Encoded(ImageEncoder::EncodePng(Grey(20, 20)));
  const Status nowhere =
      Annotator().Write(png, {}, model_, (dir_ / "missing" / "dir" / "x.png").string());
  EXPECT_FALSE(nowhere.ok());
  EXPECT_FALSE(fs::exists(dir_ / "missing"));
}

}  // namespace
}  // namespace yoloscope
