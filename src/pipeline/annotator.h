// Annotator: writes a copy of an image with its detections drawn (boxes and
// "label score" captions), for `yoloscope detect --draw DIR`.
// Thread-safety: stateless apart from a colour table; one per thread.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "model/detection.h"
#include "model/model_info.h"

namespace yoloscope {

class Annotator {
 public:
  // Decodes `encoded` (EXIF orientation applied, like the pipeline), draws
  // `detections` (original-image pixels) and writes `out_path` (format from
  // its extension). InvalidArgument when the image cannot be decoded,
  // Internal when the file cannot be written.
  // Builds without OpenCV (YOLOSCOPE_USE_OPENCV=OFF) read JPEG and PNG,
  // draw the boxes without captions and write only .jpg/.jpeg and .png
  // (InvalidArgument for other extensions).
  Status Write(std::string_view encoded, const Detections& detections, const ModelInfo& model,
               const std::string& out_path) const;
};

}  // namespace yoloscope
