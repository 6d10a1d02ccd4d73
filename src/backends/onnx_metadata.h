// Reads the metadata_props of an ONNX file (ModelProto field 14) without a
// protobuf library: OpenCV's importer does not expose them, and Ultralytics
// exports keep class names, input size and stride there.
#pragma once

#include <map>
#include <string>

#include "common/status.h"

namespace yoloscope {

// Returns key -> value for every metadata_props entry (empty map when none).
// InvalidArgument when the bytes are not a well-formed protobuf message.
StatusOr<std::map<std::string, std::string>> ReadOnnxMetadata(const std::string& path);
StatusOr<std::map<std::string, std::string>> ParseOnnxMetadata(const std::string& bytes);

}  // namespace yoloscope
