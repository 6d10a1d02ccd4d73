// RequestParams: the per-request knobs a client may set (conf, iou, max_det,
// timeout, priority), parsed the same way whatever carried them: a /v1 query
// parameter, an HTTP header, a KServe HTTP `parameters` entry (a number or a
// numeric string) or a KServe gRPC InferParameter. One parser, one message.
//
// Names accepted by ApplyParam:
//   conf, iou      number in [0, 1]
//   max_det        whole number >= 1
//   timeout_ms     whole milliseconds >= 0 (0 = the server's default)
//   timeout        whole microseconds >= 0 (Triton's request `timeout`)
//   priority       "high" / "normal", or Triton's integer level: 0 = the
//                  default (normal), 1 = the highest (high), >= 2 = normal
// Other names are ignored (Triton passes unknown parameters through too).
//
// Value types; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace yoloscope {

struct InferenceRequest;

struct RequestParams {
  std::optional<float> conf, iou;
  std::optional<int> max_det;
  std::optional<int64_t> timeout_us;
  std::optional<bool> high_priority;

  // Copies the parameters that were set onto `request`.
  void ApplyTo(InferenceRequest* request) const;
};

// The parameter names ApplyParam understands.
inline constexpr std::string_view kRequestParamNames[] = {"conf",    "iou",        "max_det",
                                                          "timeout", "timeout_ms", "priority"};

// True when ApplyParam knows `name`.
bool IsRequestParam(std::string_view name);

// Sets parameter `name` from its text. `where` names it in the error
// ("query parameter 'conf'", "header X-Timeout-Ms", "KServe parameter
// 'conf'"): InvalidArgument "<where> must be ..., got '<text>'".
Status ApplyParam(std::string_view name, const std::string& where, std::string_view text,
                  RequestParams* params);

// A client-chosen request id that is safe to log and echo: 1-128 printable
// ASCII characters, no quote or backslash.
bool ValidRequestId(std::string_view id);

}  // namespace yoloscope
