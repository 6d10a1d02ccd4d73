#include "server/frontend_registry.h"

#include "server/detect_http_frontend.h"
#include "server/kserve_http_frontend.h"
#include "server/stream_frontend.h"
#ifdef YOLOSCOPE_HAVE_GRPC
#include "server/kserve_grpc_frontend.h"
#endif

namespace yoloscope {

const std::vector<FrontendEntry>& FrontendRegistry() {
  static const std::vector<FrontendEntry> kEntries = {
      {"detect_http", "POST /v1/detect, GET /v1/stats", [](const ServeConfig&) { return true; },
       &DetectHttpFrontend::Create},
      {"kserve_http", "KServe v2 over HTTP: /v2/... (Triton's HTTP clients)",
       [](const ServeConfig&) { return true; }, &KServeHttpFrontend::Create},
      {"streams", "video streams (--stream NAME=URI, YAML streams:) into the same batcher",
       [](const ServeConfig& c) { return !c.streams.empty(); }, &StreamFrontend::Create},
#ifdef YOLOSCOPE_HAVE_GRPC
      {"kserve_grpc", "KServe v2 over gRPC (inference.GRPCInferenceService)",
       [](const ServeConfig& c) { return c.grpc.enabled; }, &KServeGrpcFrontend::Create},
#endif
  };
  return kEntries;
}

bool HaveGrpcFrontend() {
#ifdef YOLOSCOPE_HAVE_GRPC
  return true;
#else
  return false;
#endif
}

}  // namespace yoloscope
