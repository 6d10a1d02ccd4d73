#include "pipeline/annotator.h"

#include <algorithm>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>  // the IMREAD_* flags
#include <opencv2/imgproc.hpp>
#include <vector>

#include "image/lazy_imgcodecs.h"

namespace yoloscope {
namespace {

// A fixed palette (BGR) so a class keeps its colour across images.
cv::Scalar ClassColour(int class_id) {
  static constexpr unsigned char kPalette[][3] = {
      {56, 56, 255},  {151, 157, 255}, {31, 112, 255}, {29, 178, 255}, {49, 210, 207},
      {10, 249, 72},  {23, 204, 146},  {134, 219, 61}, {52, 147, 26},  {187, 212, 0},
      {168, 153, 44}, {255, 194, 0},   {147, 69, 52},  {255, 115, 100}, {236, 24, 0},
      {255, 56, 132}, {133, 0, 82},    {255, 56, 203}, {200, 149, 255}, {199, 55, 255}};
  constexpr int n = sizeof(kPalette) / sizeof(kPalette[0]);
  const auto& c = kPalette[((class_id % n) + n) % n];
  return cv::Scalar(c[0], c[1], c[2]);
}

}  // namespace

Status Annotator::Write(std::string_view encoded, const Detections& detections,
                        const ModelInfo& model, const std::string& out_path) const {
  try {
    cv::Mat raw(1, static_cast<int>(encoded.size()), CV_8UC1,
                const_cast<char*>(encoded.data()));
    auto decoded = lazy_imgcodecs::Imdecode(raw, cv::IMREAD_COLOR);  // applies EXIF orientation
    if (!decoded.ok()) return decoded.status();
    cv::Mat img = std::move(decoded).value();
    if (img.empty()) return InvalidArgumentError("cannot decode image for drawing");
    const int thickness = std::max(1, static_cast<int>(std::lround((img.rows + img.cols) * 0.001)));
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

}  // namespace yoloscope
