// DetectHttpFrontend: yoloscope's own HTTP API.
//   POST /v1/detect  image body (image/*, application/octet-stream) or
//                    multipart/form-data field `image`;
//                    ?conf=&iou=&max_det=&timeout_ms=&priority=, headers
//                    X-Timeout-Ms, X-Priority, X-Request-Id
//   GET  /v1/stats   per-batch-size execution counts and times, log health
// Records carry protocol "http". Thread-safety: handlers run on HTTP I/O
// threads; the object is immutable after Create.
#pragma once

#include <memory>

#include "server/frontend.h"

namespace yoloscope {

class DetectHttpFrontend : public Frontend {
 public:
  static StatusOr<std::unique_ptr<Frontend>> Create(const FrontendContext& context);
  std::string_view name() const override { return "detect_http"; }

 private:
  explicit DetectHttpFrontend(const FrontendContext& context) : ctx_(context) {}
  void HandleDetect(http::Request req, http::Responder resp);
  void HandleStats(http::Request req, http::Responder resp);

  FrontendContext ctx_;
};

}  // namespace yoloscope
