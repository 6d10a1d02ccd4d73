#include "stream/video_reader.h"

#include <cmath>
#include <exception>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <vector>

#include "stream/lazy_videoio.h"

namespace yoloscope {

struct VideoReader::Capture {
  lazy_videoio::CapturePtr cap;  // never null
  cv::Mat bgr;
};

namespace {

std::string FourCcText(double value) {
  const auto v = static_cast<uint32_t>(value);
  std::string s;
  for (int i = 0; i < 4; ++i) {
    const char c = static_cast<char>((v >> (8 * i)) & 0xFF);
    if (c == 0) break;
    if (c < 0x20 || c > 0x7E) return "";
    s.push_back(c);
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

std::string StripPrefix(const std::string& uri, const std::string& prefix) {
  return uri.rfind(prefix, 0) == 0 ? uri.substr(prefix.size()) : uri;
}

}  // namespace

Status VideoReader::CheckSupported() { return Status::Ok(); }

VideoReader::~VideoReader() {
  if (capture_) {
    try {
      capture_->cap->release();
    } catch (const std::exception&) {  // nothing to report at destruction
    }
  }
}

StatusOr<std::unique_ptr<VideoReader>> VideoReader::Open(const std::string& uri,
                                                         const VideoReaderOptions& options) {
  const StreamSourceKind kind = ClassifyStreamUri(uri);
  const std::string shown = RedactStreamUri(uri);
  std::string target = uri;
  int api = cv::CAP_FFMPEG;
  if (kind == StreamSourceKind::kFile) {
    target = StripPrefix(uri, "file://");
    std::error_code ec;
    if (!std::filesystem::exists(target, ec)) {
      return NotFoundError("cannot open video " + shown + ": no such file");
    }
    if (std::filesystem::is_directory(target, ec)) {
      return InvalidArgumentError("cannot open video " + shown + ": is a directory");
    }
  } else if (kind == StreamSourceKind::kDevice) {
    target = StripPrefix(uri, "v4l2://");
    api = cv::CAP_V4L2;
  }
  auto reader = std::unique_ptr<VideoReader>(new VideoReader());
  const auto api_id = static_cast<cv::VideoCaptureAPIs>(api);
  bool backend_available = false;
  try {
    auto capture = lazy_videoio::NewCapture();
    if (!capture.ok()) return capture.status();
    auto has_backend = lazy_videoio::HasBackend(api_id);
    if (!has_backend.ok()) return has_backend.status();
    backend_available = *has_backend;
    reader->capture_ = std::make_unique<Capture>();
    reader->capture_->cap = std::move(capture).value();
  } catch (const std::exception& e) {
    return FailedPreconditionError(std::string("cannot create a video capture: ") + e.what());
  }
  cv::VideoCapture& cap = *reader->capture_->cap;
  try {
    if (!backend_available) {
      return FailedPreconditionError(std::string("cannot open video ") + shown + ": this OpenCV " +
                                     "build has no " + (api == cv::CAP_V4L2 ? "V4L2" : "FFmpeg") +
                                     " video backend");
    }
    std::vector<int> params;
    if (api == cv::CAP_FFMPEG) {
      params = {cv::CAP_PROP_OPEN_TIMEOUT_MSEC, static_cast<int>(options.open_timeout_ms),
                cv::CAP_PROP_READ_TIMEOUT_MSEC, static_cast<int>(options.read_timeout_ms)};
    }
    cap.open(target, api, params);
    if (!cap.isOpened()) {
      if (kind == StreamSourceKind::kFile) {
        return InvalidArgumentError("cannot open video " + shown +
                                    ": not a video file, or a container or codec FFmpeg cannot "
                                    "decode");
      }
      return UnavailableError("cannot open stream " + shown + " within " +
                              std::to_string(options.open_timeout_ms) +
                              " ms: unreachable, refused, nothing received, or a format FFmpeg "
                              "cannot decode");
    }
    const double fps = cap.get(cv::CAP_PROP_FPS);
    reader->fps_ = std::isfinite(fps) && fps > 0 && fps < 1e4 ? fps : 0;
    reader->width_ = static_cast<int>(cap.get(cv::CAP_PROP_FRAME_WIDTH));
    reader->height_ = static_cast<int>(cap.get(cv::CAP_PROP_FRAME_HEIGHT));
    reader->codec_ = FourCcText(cap.get(cv::CAP_PROP_FOURCC));
    reader->backend_ = api == cv::CAP_V4L2 ? "V4L2" : "FFMPEG";
  } catch (const std::exception& e) {
    return InvalidArgumentError("cannot open video " + shown + ": " + e.what());
  }
  return reader;
}

Status VideoReader::Read(Image* rgb, std::optional<double>* pts_ms) {
  cv::VideoCapture& cap = *capture_->cap;
  cv::Mat& bgr = capture_->bgr;
  try {
    if (!cap.grab()) return OutOfRangeError("no more frames (end of stream, or no data in time)");
    if (!cap.retrieve(bgr) || bgr.empty()) {
      return DataLossError("a frame was read but could not be decoded");
    }
    const double pts = cap.get(cv::CAP_PROP_POS_MSEC);
    *pts_ms = std::isfinite(pts) && pts >= 0 ? std::optional<double>(pts) : std::nullopt;
    if (bgr.depth() != CV_8U) return DataLossError("a frame that is not 8-bit");
    rgb->Resize(bgr.cols, bgr.rows, 3);
    cv::Mat out(bgr.rows, bgr.cols, CV_8UC3, rgb->data.data());
    switch (bgr.channels()) {
      case 3:
        cv::cvtColor(bgr, out, cv::COLOR_BGR2RGB);
        break;
      case 4:
        cv::cvtColor(bgr, out, cv::COLOR_BGRA2RGB);
        break;
      case 1:
        cv::cvtColor(bgr, out, cv::COLOR_GRAY2RGB);
        break;
      default:
        return DataLossError("a frame with " + std::to_string(bgr.channels()) + " channels");
    }
  } catch (const std::exception& e) {
    return DataLossError(std::string("decoding a frame failed: ") + e.what());
  }
  return Status::Ok();
}

}  // namespace yoloscope
