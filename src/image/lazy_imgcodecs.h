// cv::imdecode and cv::imwrite, with libopencv_imgcodecs loaded on first use
// (dlopen) instead of linked: Debian's imgcodecs pulls in GDAL, GDCM, Qt,
// GStreamer and FFmpeg -- ~120 shared libraries whose loading and
// relocation cost every subcommand 0.1-0.3 s before main(), `analyze`
// included, which never decodes an image. JPEG goes through TurboJPEG
// anyway; these are the PNG/BMP/WebP fallback and the annotated output.
//
// Thread-safety: safe from any thread (the library is loaded once).
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "common/status.h"

namespace yoloscope::lazy_imgcodecs {

// As cv::imdecode (throws cv::Exception like it). FailedPrecondition when
// the library cannot be loaded.
StatusOr<cv::Mat> Imdecode(cv::InputArray buf, int flags);

// As cv::imwrite; false when OpenCV could not write the file.
StatusOr<bool> Imwrite(const std::string& path, cv::InputArray img,
                       const std::vector<int>& params = {});

}  // namespace yoloscope::lazy_imgcodecs
