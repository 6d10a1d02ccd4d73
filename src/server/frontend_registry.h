// The registry of protocol front ends, one per file, in the style of
// clang-tidy's check registry: a name, whether the configuration turns it
// on, and a factory. InferenceServer creates every enabled front end in
// registry order.
//
// Stateless; thread-safe.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "server/frontend.h"

namespace yoloscope {

struct FrontendEntry {
  std::string_view name;
  // What it serves, for `serve --help` and docs.
  std::string_view summary;
  bool (*enabled)(const ServeConfig& config);
  StatusOr<std::unique_ptr<Frontend>> (*create)(const FrontendContext& context);
};

// Every front end this build has (kserve_grpc only when built with gRPC).
const std::vector<FrontendEntry>& FrontendRegistry();

// True when this build has the KServe gRPC front end.
bool HaveGrpcFrontend();

}  // namespace yoloscope
