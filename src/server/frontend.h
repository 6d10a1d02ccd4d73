// Frontend: one protocol's face of the server (/v1/detect over HTTP, KServe
// v2 over HTTP, KServe v2 over gRPC). A front end only parses its wire
// format into InferenceCore's types and renders what the core answers,
// mapping Outcomes to its codes through outcome.h's one table. Front ends
// are registered in frontend_registry.cc, one per file.
//
// Ownership: a front end borrows everything in FrontendContext (owned by
// InferenceServer, which outlives it). Thread-safety: Start and Shutdown are
// called once each from the controlling thread; handlers run on the
// protocol's own threads.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string_view>

#include "alerts/live_alerter.h"
#include "common/clock.h"
#include "common/status.h"
#include "http/router.h"
#include "server/inference_core.h"
#include "server/metrics_registry.h"
#include "server/serve_config.h"

namespace yoloscope {

struct FrontendContext {
  InferenceCore* core = nullptr;
  http::Router* router = nullptr;  // HTTP front ends add their routes here
  const ServeConfig* config = nullptr;
  Clock* clock = nullptr;
  MetricsRegistry* metrics = nullptr;  // front ends with their own series (streams)
  LiveAlerter* alerter = nullptr;      // null unless alerts are on (detection rules)
};

class Frontend {
 public:
  virtual ~Frontend() = default;

  // The registry's name, e.g. "kserve_grpc".
  virtual std::string_view name() const = 0;
  // Starts serving. HTTP front ends serve through the shared HTTP server
  // (their routes were added at creation); a front end with its own
  // listener starts it here.
  virtual Status Start() { return Status::Ok(); }
  // Stops accepting and answers what it accepted, waiting at most `grace`.
  // True when everything was answered in time.
  virtual bool Shutdown(std::chrono::milliseconds grace) {
    (void)grace;
    return true;
  }
  // The port of its own listener; -1 when it shares the HTTP server's.
  virtual int port() const { return -1; }
  // Brings the series it mirrors from elsewhere up to date (called before
  // every /metrics scrape). Thread-safe.
  virtual void CollectMetrics() {}
  // Adds its part to the live page's JSON (`/api/live`), e.g. "streams".
  // Thread-safe.
  virtual void AddLiveStatus(nlohmann::json* live) const { (void)live; }
};

}  // namespace yoloscope
