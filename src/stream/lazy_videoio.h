// cv::VideoCapture with libopencv_videoio loaded on first use (dlopen)
// instead of linked, as image/lazy_imgcodecs does for the image codecs:
// Debian's videoio pulls in imgcodecs, FFmpeg, GStreamer and their ~120
// libraries, whose loading would cost every subcommand 0.1-0.3 s before
// main(), `analyze` included. Only the constructor and
// videoio_registry::hasBackend are looked up by name; every other call
// (open, grab, retrieve, get, the destructor) is virtual and goes through
// the object's vtable, which lives in the loaded library.
//
// Thread-safety: safe from any thread (the library is loaded once); a
// capture is used by one thread at a time.
#pragma once

#include <memory>
#include <opencv2/videoio.hpp>

#include "common/status.h"

namespace yoloscope::lazy_videoio {

struct CaptureDeleter {
  void operator()(cv::VideoCapture* capture) const;
};
using CapturePtr = std::unique_ptr<cv::VideoCapture, CaptureDeleter>;

// A new, closed cv::VideoCapture. FailedPrecondition when the library
// cannot be loaded.
StatusOr<CapturePtr> NewCapture();

// cv::videoio_registry::hasBackend(api).
StatusOr<bool> HasBackend(cv::VideoCaptureAPIs api);

}  // namespace yoloscope::lazy_videoio
