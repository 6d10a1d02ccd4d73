// Helpers shared by the image tests that compare with OpenCV: in-memory
// encoding and decoding with OpenCV, Mat views and differences, plus
// everything of test_bytes.h. Test-only; not thread-safe (nothing here needs
// to be).
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "image/image.h"
#include "image/test_bytes.h"

namespace yoloscope::image_test {

// Encodes a BGR (or gray) Mat; `ext` like ".png", params as for cv::imencode.
inline Bytes Encode(const cv::Mat& image, const std::string& ext,
                    const std::vector<int>& params = {}) {
  Bytes out;
  cv::imencode(ext, image, out, params);
  return out;
}

inline Bytes EncodeJpeg(const cv::Mat& bgr, int quality = 90) {
  return Encode(bgr, ".jpg", {cv::IMWRITE_JPEG_QUALITY, quality});
}

// OpenCV's own decode of `bytes`, as RGB, EXIF orientation applied or not.
inline cv::Mat OpenCvDecodeRgb(const Bytes& bytes, bool apply_orientation = false) {
  const int flags = cv::IMREAD_COLOR | (apply_orientation ? 0 : cv::IMREAD_IGNORE_ORIENTATION);
  cv::Mat bgr = cv::imdecode(bytes, flags);
  cv::Mat rgb;
  if (!bgr.empty()) cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

// A Mat header over an Image's pixels (no copy).
inline cv::Mat AsMat(const Image& image) {
  return cv::Mat(image.height, image.width, CV_8UC3, const_cast<uint8_t*>(image.data.data()));
}

// Largest absolute per-channel difference between two same-sized images.
inline double MaxAbsDiff(const cv::Mat& a, const cv::Mat& b) {
  if (a.size() != b.size() || a.type() != b.type()) return 1e9;
  return cv::norm(a, b, cv::NORM_INF);
}

inline double MeanAbsDiff(const cv::Mat& a, const cv::Mat& b) {
  if (a.size() != b.size() || a.type() != b.type()) return 1e9;
  cv::Mat diff;
  cv::absdiff(a, b, diff);
  const cv::Scalar mean = cv::mean(diff);
  return (mean[0] + mean[1] + mean[2]) / 3.0;
}

}  // namespace yoloscope::image_test
