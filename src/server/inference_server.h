// InferenceServer: `yoloscope serve` as a library object. Owns the HTTP
// server, the protocol front ends (frontend_registry.h: /v1/detect, KServe
// v2 over HTTP, KServe v2 over gRPC), the protocol-independent
// InferenceCore and InferenceService pipeline, the request-log writer, the
// metrics registry and the request-id generator. Its own routes are the
// operational ones: GET /metrics (Prometheus text) and the live page.
//
// Every error is `{"error": "..."}` with a 4xx/5xx status; every inference
// request writes one `request` log record: those that reach a handler, and
// those the HTTP layer refuses itself (413, 431, 401, malformed HTTP, read
// timeout; see docs/serve.md), reported through HttpRejectionHandler.
//
// Thread-safety: Start/Shutdown from one controlling thread; handlers run on
// I/O threads and hand work to the pipeline.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "server/serve_config.h"

namespace yoloscope {

class InferenceServer {
 public:
  // Receives operational warnings (request-log write failures, recovery, a
  // reopened log file), rate-limited by the writer; called on the log
  // writer's thread. serve prints them on stderr.
  using WarningSink = std::function<void(const std::string& message)>;

  // Loads the model (and warms it up), opens the request log and binds the
  // port; serves nothing until Start. `clock` may be null (a RealClock is
  // used); `warn` may be null (no warnings).
  static StatusOr<std::unique_ptr<InferenceServer>> Create(const ServeConfig& config,
                                                           Clock* clock = nullptr,
                                                           WarningSink warn = nullptr);
  ~InferenceServer();

  // Starts the front ends (binds the gRPC port) and the HTTP server.
  Status Start();
  int port() const;
  // The gRPC front end's port after Start; -1 when gRPC is off or not built.
  int grpc_port() const;
  // Stops accepting, answers everything accepted, flushes the request log.
  // Returns true when everything drained within `grace`.
  bool Shutdown(std::chrono::milliseconds grace);

  // The Prometheus text exposition of every metric, gauges refreshed.
  std::string RenderMetrics();

  // SIGHUP: reopens every file the server writes (the request log; alert
  // records go through it) after writing what is buffered to the old file.
  // Serving continues throughout. Any thread.
  Status ReopenLogs();

  // What the request log wrote and dropped (by reason name), for the exit
  // message. Any thread.
  struct LogSummary {
    int64_t written = 0;
    int64_t dropped = 0;
    std::vector<std::pair<std::string, int64_t>> dropped_by_reason;
  };
  LogSummary GetLogSummary() const;

 private:
  struct Impl;
  InferenceServer() = default;
  std::unique_ptr<Impl> impl_;
};

}  // namespace yoloscope
