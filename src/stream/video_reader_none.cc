// VideoReader of builds without OpenCV (YOLOSCOPE_USE_OPENCV=OFF): there is
// no video decoder to adapt, so every Open fails with the reason, and
// StreamSource::Create refuses streams before any thread starts.
#include <string>

#include "stream/video_reader.h"

namespace yoloscope {

struct VideoReader::Capture {};

Status VideoReader::CheckSupported() {
  return FailedPreconditionError(
      "video streams are not supported: this build has no OpenCV video I/O "
      "(built with YOLOSCOPE_USE_OPENCV=OFF); detect and serve images instead");
}

StatusOr<std::unique_ptr<VideoReader>> VideoReader::Open(const std::string& uri,
                                                         const VideoReaderOptions&) {
  return CheckSupported().WithContext("cannot open " + uri);
}

VideoReader::~VideoReader() = default;

Status VideoReader::Read(Image*, std::optional<double>*) { return CheckSupported(); }

}  // namespace yoloscope
