// ServerTiming: the server-side stage breakdown that a yoloscope /v1/detect
// response carries:
//   {..., "batch_size": 4, "batch_id": 17,
//    "timing": {"queue_ms": .., "decode_ms": .., "preprocess_ms": ..,
//               "inference_ms": .., "postprocess_ms": .., "total_ms": ..}}
// ParseServerTiming reads it with a targeted scan (no JSON DOM, so it is
// cheap enough for every response at tens of thousands per second).
//
// Units: milliseconds. Thread-safety: pure function, value type.
#pragma once

#include <optional>
#include <string_view>

namespace yoloscope {

enum class Stage { kQueue = 0, kDecode, kPreprocess, kInference, kPostprocess, kTotal };
inline constexpr int kNumStages = 6;
// "queue", "decode", "preprocess", "inference", "postprocess", "total".
std::string_view StageName(Stage stage);

struct ServerTiming {
  double ms[kNumStages] = {0, 0, 0, 0, 0, 0};  // indexed by Stage
  int batch_size = 0;                          // 0 = not reported
};

// The timing of a response body, or nullopt when it has no `"timing"`
// object (errors, KServe responses, other endpoints). Stages missing from
// the object read 0.
std::optional<ServerTiming> ParseServerTiming(std::string_view body);

}  // namespace yoloscope
