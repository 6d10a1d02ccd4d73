#include "server/detections_json.h"

#include "reqlog/json_line_serializer.h"

namespace yoloscope {

void AppendDetectionsJson(const Detections& detections, const ModelInfo& info, std::string* out) {
  *out += '[';
  for (size_t i = 0; i < detections.size(); ++i) {
    const Detection& d = detections[i];
    if (i) *out += ',';
    *out += "{\"class_id\":" + std::to_string(d.class_id) + ",\"label\":";
    AppendJsonString(info.Label(d.class_id), out);
    *out += ",\"score\":";
    AppendJsonNumber(d.score, 4, out);
    *out += ",\"box\":[";
    AppendJsonNumber(d.x1, 2, out);
    *out += ',';
    AppendJsonNumber(d.y1, 2, out);
    *out += ',';
    AppendJsonNumber(d.x2, 2, out);
    *out += ',';
    AppendJsonNumber(d.y2, 2, out);
    *out += "]}";
  }
  *out += ']';
}

}  // namespace yoloscope
