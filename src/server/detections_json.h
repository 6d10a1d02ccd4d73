// AppendDetectionsJson: the `detections` array of a response or result line
// -- [{"class_id":N,"label":"...","score":S,"box":[x1,y1,x2,y2]}, ...] with
// scores to 4 decimals and boxes (original-image pixels) to 2 -- shared by
// /v1/detect and the stream result sinks so the two never drift apart.
//
// Pure function; thread-safe.
#pragma once

#include <string>

#include "model/detection.h"
#include "model/model_info.h"

namespace yoloscope {

// Appends the JSON array (brackets included) to `out`.
void AppendDetectionsJson(const Detections& detections, const ModelInfo& info, std::string* out);

}  // namespace yoloscope
