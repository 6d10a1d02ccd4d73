// KServeGrpcFrontend: the KServe v2 gRPC protocol (inference.
// GRPCInferenceService, proto/inference.proto) on its own port (8001 by
// default, as Triton): ServerLive, ServerReady, ModelReady, ServerMetadata,
// ModelMetadata, ModelInfer, ModelStreamInfer, ModelConfig,
// ModelStatistics, RepositoryIndex. Errors are gRPC statuses from outcome.h's
// table; a streamed request that fails gets a response with error_message
// (the stream stays open), as Triton does. Records carry protocol
// "kserve_grpc". Built only with gRPC (YOLOSCOPE_WITH_GRPC).
//
// Uses gRPC's callback API: no thread waits for the pipeline; a call is
// finished from the pipeline's completion. Thread-safety: Start and
// Shutdown from the controlling thread; handlers on gRPC's threads.
#pragma once

#include <memory>

#include "server/frontend.h"

namespace yoloscope {

class KServeGrpcFrontend : public Frontend {
 public:
  static StatusOr<std::unique_ptr<Frontend>> Create(const FrontendContext& context);
  ~KServeGrpcFrontend() override;

  std::string_view name() const override { return "kserve_grpc"; }
  // Binds grpc.host:grpc.port and starts serving.
  Status Start() override;
  bool Shutdown(std::chrono::milliseconds grace) override;
  int port() const override;

 private:
  struct Impl;
  explicit KServeGrpcFrontend(const FrontendContext& context);
  std::unique_ptr<Impl> impl_;
};

}  // namespace yoloscope
