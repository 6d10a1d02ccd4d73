// Detection: one box in original-image pixel coordinates.
#pragma once

#include <vector>

namespace yoloscope {

struct Detection {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;  // pixels of the original image, clipped to it.
  float score = 0;                       // confidence in [0, 1].
  int class_id = 0;
};

using Detections = std::vector<Detection>;

}  // namespace yoloscope
