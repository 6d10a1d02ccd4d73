// KServeHttpFrontend: the KServe v2 HTTP/REST protocol with the Triton
// extensions its clients call (binary tensors, model configuration,
// statistics, model repository index, parameters), every model route also
// under /versions/{v}:
//   GET  /v2                               server metadata
//   GET  /v2/health/live, /v2/health/ready
//   GET  /v2/models/{m}[/versions/{v}]               model metadata
//   GET  /v2/models/{m}[/versions/{v}]/ready
//   GET  /v2/models/{m}[/versions/{v}]/config        Triton model configuration JSON
//   GET  /v2/models[/{m}[/versions/{v}]]/stats       Triton statistics extension
//   POST /v2/models/{m}[/versions/{v}]/infer
//   POST /v2/repository/index
// Request bodies may be gzip/deflate (Content-Encoding); responses are
// compressed when Accept-Encoding asks (inference responses only, as Triton). Errors are {"error":
// "..."} with the status of outcome.h's table. Records carry protocol "kserve_http".
//
// Thread-safety: handlers run on HTTP I/O threads; immutable after Create.
#pragma once

#include <memory>

#include "server/frontend.h"

namespace yoloscope {

class KServeHttpFrontend : public Frontend {
 public:
  static StatusOr<std::unique_ptr<Frontend>> Create(const FrontendContext& context);
  std::string_view name() const override { return "kserve_http"; }

 private:
  explicit KServeHttpFrontend(const FrontendContext& context) : ctx_(context) {}
  Status AddRoutes();
  void HandleInfer(http::Request req, http::Responder resp);
  void HandleMetadata(http::Request req, http::Responder resp);
  void HandleReady(http::Request req, http::Responder resp);
  void HandleConfig(http::Request req, http::Responder resp);
  void HandleStats(http::Request req, http::Responder resp);
  void HandleIndex(http::Request req, http::Responder resp);
  // Sends a non-inference `response` (uncompressed, as Triton).
  void Send(const http::Request& req, http::Responder& resp, http::Response response) const;
  // The model route's {model}/{version} check; answers 404 when not served.
  bool CheckModel(const http::Request& req, http::Responder& resp) const;

  FrontendContext ctx_;
};

}  // namespace yoloscope
