// GrpcLoadGenerator: `yoloscope bench --protocol kserve-grpc`, the load
// generator for KServe v2 gRPC servers (yoloscope serve's gRPC port,
// Triton's 8001). The same modes and measurement as LoadGenerator (closed
// loop, open loop, replay; warm-up, fixed windows, stability), with the
// same LoadGeneratorConfig and BenchReport, over gRPC:
// - each request is one ModelInfer with the image as a BYTES input in
//   raw_input_contents (as Triton's clients send it);
// - `stream` (closed loop only): each of the C slots keeps one
//   ModelStreamInfer stream open and has one request outstanding on it.
// Calls are spread over a few channels (separate TCP connections). Results
// are counted by the HTTP status Triton maps each gRPC code to (OK 200,
// INVALID_ARGUMENT 400, NOT_FOUND 404, UNAVAILABLE 503, DEADLINE_EXCEEDED
// 504, RESOURCE_EXHAUSTED 429, anything else 500).
//
// Threads: Run drives levels and windows on the calling thread; gRPC's
// callback threads record responses and issue the next requests; shared
// state is guarded by one mutex. Run is called once.
#pragma once

#include <memory>
#include <string>

#include "bench/load_generator.h"
#include "common/status.h"

namespace yoloscope {

// True when this build has gRPC (YOLOSCOPE_WITH_GRPC).
bool HaveGrpcLoadGenerator();

// The "host:port" of a gRPC target URL: grpc://HOST:PORT or HOST:PORT.
StatusOr<std::string> ParseGrpcTarget(const std::string& url);

// The name of the one model a KServe gRPC server serves (RepositoryIndex),
// for a bench run that was not told which.
StatusOr<std::string> GrpcServedModelName(const std::string& url);

class GrpcLoadGenerator {
 public:
  // Validates the config (as LoadGenerator, plus: stream needs closed
  // loop; the target needs a model name) and prepares the requests.
  static StatusOr<std::unique_ptr<GrpcLoadGenerator>> Create(const LoadGeneratorConfig& config,
                                                             bool stream);
  ~GrpcLoadGenerator();
  StatusOr<BenchReport> Run();

 private:
  class Engine;
  GrpcLoadGenerator() = default;
  std::unique_ptr<Engine> engine_;
};

}  // namespace yoloscope
