// VideoReader: the adapter around OpenCV's cv::VideoCapture (FFmpeg backend
// for files and network URIs, V4L2 for /dev/videoN). It is the only place
// the stream module touches OpenCV's video API; OpenCV exceptions never
// leave it (they become Statuses). Builds without OpenCV have no video
// support: see CheckSupported.
//
// Open and Read block: for at most open_timeout_ms / read_timeout_ms on
// network sources (FFmpeg's interrupt callback), as long as decoding takes
// on files.
//
// Ownership: owns the capture. Thread-safety: one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "image/image.h"
#include "stream/stream_config.h"

namespace yoloscope {

struct VideoReaderOptions {
  int64_t open_timeout_ms = 10'000;
  int64_t read_timeout_ms = 5'000;
};

class VideoReader {
 public:
  // Whether this build can read video at all: Ok, or FailedPrecondition in
  // builds without OpenCV (YOLOSCOPE_USE_OPENCV=OFF; video_reader_none.cc),
  // where Open always fails with that status.
  static Status CheckSupported();

  // Opens `uri` (a path, file://, a network URI, /dev/videoN, v4l2://...).
  // NotFound: a file that does not exist; InvalidArgument: a file FFmpeg
  // cannot read (not a video, unsupported container or codec);
  // Unavailable: a network source or device that could not be opened
  // (unreachable, refused, nothing sent within open_timeout_ms);
  // FailedPrecondition: this OpenCV has no FFmpeg / V4L2 backend.
  static StatusOr<std::unique_ptr<VideoReader>> Open(const std::string& uri,
                                                     const VideoReaderOptions& options);
  ~VideoReader();

  // Decodes the next frame into `*rgb` (resized to the frame, RGB) and its
  // presentation time into `*pts_ms` (empty when unknown). OutOfRange: no
  // more frames (end of file, or the connection ended / timed out);
  // DataLoss: a frame was read but could not be converted.
  Status Read(Image* rgb, std::optional<double>* pts_ms);

  // What the container says: frames per second (0 when unknown), frame
  // size, the codec's FourCC ("h264", "MJPG"; "" when unknown), and the
  // OpenCV backend's name.
  double fps() const { return fps_; }
  int width() const { return width_; }
  int height() const { return height_; }
  const std::string& codec() const { return codec_; }
  const std::string& backend() const { return backend_; }

 private:
  struct Capture;  // cv::VideoCapture and its reused buffer
  VideoReader() = default;

  std::unique_ptr<Capture> capture_;
  double fps_ = 0;
  int width_ = 0, height_ = 0;
  std::string codec_, backend_;
};

}  // namespace yoloscope
