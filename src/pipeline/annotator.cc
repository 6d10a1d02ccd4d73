#include "pipeline/annotator.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <vector>

#if YOLOSCOPE_HAVE_OPENCV
#include <opencv2/imgcodecs.hpp>  // the IMREAD_* flags
#include <opencv2/imgproc.hpp>

#include "image/lazy_imgcodecs.h"
#else
#include "image/image.h"
#include "image/image_decoder.h"
#include "image/image_encoder.h"
#endif

namespace yoloscope {
namespace {

// A fixed palette (BGR) so a class keeps its colour across images.
constexpr unsigned char kPalette[][3] = {
    {56, 56, 255},  {151, 157, 255}, {31, 112, 255}, {29, 178, 255},  {49, 210, 207},
    {10, 249, 72},  {23, 204, 146},  {134, 219, 61}, {52, 147, 26},   {187, 212, 0},
    {168, 153, 44}, {255, 194, 0},   {147, 69, 52},  {255, 115, 100}, {236, 24, 0},
    {255, 56, 132}, {133, 0, 82},    {255, 56, 203}, {200, 149, 255}, {199, 55, 255}};

const unsigned char* PaletteBgr(int class_id) {
  constexpr int n = sizeof(kPalette) / sizeof(kPalette[0]);
  return kPalette[((class_id % n) + n) % n];
}

// Box outline width for a picture: ~0.1% of width + height, as Ultralytics.
int Thickness(int width, int height) {
  return std::max(1, static_cast<int>(std::lround((width + height) * 0.001)));
}

#if YOLOSCOPE_HAVE_OPENCV
cv::Scalar ClassColour(int class_id) {
  const unsigned char* c = PaletteBgr(class_id);
  return cv::Scalar(c[0], c[1], c[2]);
}
#else
// Fills [x0, x1) x [y0, y1), clipped to the image, with an RGB colour.
void FillRect(Image* image, int x0, int y0, int x1, int y1, const uint8_t rgb[3]) {
  x0 = std::clamp(x0, 0, image->width);
  x1 = std::clamp(x1, 0, image->width);
  y0 = std::clamp(y0, 0, image->height);
  y1 = std::clamp(y1, 0, image->height);
  for (int y = y0; y < y1; ++y) {
    uint8_t* p = image->row(y) + static_cast<size_t>(x0) * 3;
    for (int x = x0; x < x1; ++x, p += 3) {
      p[0] = rgb[0];
      p[1] = rgb[1];
      p[2] = rgb[2];
    }
  }
}

// A box outline `thickness` pixels wide centred on the box's edges, as
// cv::rectangle draws it (without its anti-aliasing).
void DrawBox(Image* image, const Detection& d, int thickness, const uint8_t rgb[3]) {
  // Clamped to a bit beyond the picture so that huge or non-finite
  // coordinates neither overflow int nor draw anything off the picture.
  auto coord = [](float v, int limit) {
    if (!std::isfinite(v)) return v > 0 ? limit + 1 : -1;
    return static_cast<int>(std::clamp(v, -1.f, static_cast<float>(limit + 1)));
  };
  const int x1 = coord(d.x1, image->width), y1 = coord(d.y1, image->height);
  const int x2 = coord(d.x2, image->width), y2 = coord(d.y2, image->height);
  const int lo = thickness / 2;                              // pixels before the edge line
  const int hi = thickness - lo;                             // the line itself and after it
  FillRect(image, x1 - lo, y1 - lo, x2 + hi, y1 + hi, rgb);  // top
  FillRect(image, x1 - lo, y2 - lo, x2 + hi, y2 + hi, rgb);  // bottom
  FillRect(image, x1 - lo, y1 - lo, x1 + hi, y2 + hi, rgb);  // left
  FillRect(image, x2 - lo, y1 - lo, x2 + hi, y2 + hi, rgb);  // right
}
#endif

}  // namespace

#if !YOLOSCOPE_HAVE_OPENCV
// Without OpenCV: JPEG and PNG in (ImageDecoder), boxes drawn as plain
// rectangles, JPEG or PNG out (TurboJPEG, libpng) by the output's
// extension. The "label score" captions are left out: there is no font
// renderer without OpenCV, and the JSON output carries labels and scores.
Status Annotator::Write(std::string_view encoded, const Detections& detections,
                        const ModelInfo& model, const std::string& out_path) const {
  (void)model;  // labels are not drawn in this build
  ImageDecoder decoder;
  Image image;
  DecodeOptions options;  // full size, EXIF orientation applied (as the pipeline)
  auto decoded = decoder.Decode(reinterpret_cast<const uint8_t*>(encoded.data()), encoded.size(),
                                options, &image);
  if (!decoded.ok()) {
    return InvalidArgumentError("cannot decode image for drawing: " + decoded.status().message());
  }
  const int thickness = Thickness(image.width, image.height);
  for (const Detection& d : detections) {
    const unsigned char* bgr = PaletteBgr(d.class_id);
    const uint8_t rgb[3] = {bgr[2], bgr[1], bgr[0]};
    DrawBox(&image, d, thickness, rgb);
  }
  auto bytes = ImageEncoder::EncodeForPath(image, out_path);
  if (!bytes.ok()) return bytes.status();
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes->data()),
            static_cast<std::streamsize>(bytes->size()));
  out.close();
  if (!out) return InternalError("cannot write " + out_path);
  return Status::Ok();
}
#else
Status Annotator::Write(std::string_view encoded, const Detections& detections,
                        const ModelInfo& model, const std::string& out_path) const {
  try {
    cv::Mat raw(1, static_cast<int>(encoded.size()), CV_8UC1,
                const_cast<char*>(encoded.data()));
    auto decoded = lazy_imgcodecs::Imdecode(raw, cv::IMREAD_COLOR);  // applies EXIF orientation
    if (!decoded.ok()) return decoded.status();
    cv::Mat img = std::move(decoded).value();
    if (img.empty()) return InvalidArgumentError("cannot decode image for drawing");
    const int thickness = Thickness(img.cols, img.rows);
    const double font_scale = std::max(0.4, thickness / 3.0);
    for (const Detection& d : detections) {
      cv::Scalar colour = ClassColour(d.class_id);
      cv::Point p1(static_cast<int>(d.x1), static_cast<int>(d.y1));
      cv::Point p2(static_cast<int>(d.x2), static_cast<int>(d.y2));
      cv::rectangle(img, p1, p2, colour, thickness, cv::LINE_AA);
      char caption[128];
      std::snprintf(caption, sizeof(caption), "%s %.2f", model.Label(d.class_id).c_str(),
                    d.score);
      int baseline = 0;
      cv::Size ts = cv::getTextSize(caption, cv::FONT_HERSHEY_SIMPLEX, font_scale,
                                    std::max(1, thickness - 1), &baseline);
      // Caption above the box, or inside it when the box touches the top edge.
      int top = p1.y - ts.height - 3 >= 0 ? p1.y - ts.height - 3 : p1.y;
      cv::rectangle(img, cv::Point(p1.x, top), cv::Point(p1.x + ts.width, top + ts.height + 3),
                    colour, cv::FILLED);
      cv::putText(img, caption, cv::Point(p1.x, top + ts.height), cv::FONT_HERSHEY_SIMPLEX,
                  font_scale, cv::Scalar(255, 255, 255), std::max(1, thickness - 1),
                  cv::LINE_AA);
    }
    auto written = lazy_imgcodecs::Imwrite(out_path, img);
    if (!written.ok()) return written.status();
    if (!*written) return InternalError("cannot write " + out_path);
  } catch (const cv::Exception& e) {
    return InternalError(std::string("drawing failed: ") + e.what());
  }
  return Status::Ok();
}
#endif

}  // namespace yoloscope
