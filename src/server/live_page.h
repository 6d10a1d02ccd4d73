// LivePage: serve's live page. `GET /` answers a self-contained HTML page
// (the report's renderer and uPlot, inlined; ReportPage) that polls
// `GET /api/live` every second and redraws the charts of the last minutes
// from LiveSeries: latency by stage, p50/p99, throughput and errors, GPU
// memory with OOM / allocation-retry markers, GPU utilisation, queue length
// and batch size, the batch size distribution, inference time vs batch size
// and where the time goes. Everything shown from the server (model name,
// backend, device) is HTML-escaped.
//
// Streams (`serve --stream`): the page has a per-stream panel (state, fps
// achieved vs target, latency p50/p99 of the last seconds, processed,
// dropped of read, reconnects, results written, detection alerts firing),
// filled from the "streams" array that `extend` adds to /api/live (the
// stream front end's AddLiveStatus); hidden while there is none.
//
// Without chart assets (npm unavailable at build time) `/` still answers,
// with the numbers and a banner saying the binary has no charts.
//
// Thread-safety: the handlers only read the LiveSeries (thread-safe) and
// their own copy of the options. The Router and LiveSeries must outlive the
// server that dispatches to them.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"
#include "http/router.h"
#include "server/live_series.h"

namespace yoloscope {

struct LivePageOptions {
  std::string title = "yoloscope serve";  // Plain text.
  std::string subtitle;                   // Plain text, e.g. "model yolov8n, backend torch, cpu".
  std::string page_path = "/";
  std::string api_path = "/api/live";
  int interval_ms = 1000;  // Polling period of the page.
};

// Adds to the /api/live object (e.g. "streams"); called per request, from
// the HTTP threads: must be thread-safe.
using LiveExtension = std::function<void(nlohmann::json* live)>;

class LivePage {
 public:
  // The HTML page, with the current snapshot embedded (so it draws at once).
  static std::string RenderHtml(const LiveSeries& series, const LivePageOptions& options);
  // The /api/live body (LiveSeries::Snapshot, plus what `extend` adds, as
  // compact JSON).
  static std::string RenderJson(const LiveSeries& series, const LiveExtension& extend = nullptr);
  // Registers GET page_path and GET api_path on `router` (before the server
  // starts). AlreadyExists / InvalidArgument from Router::Add.
  static Status AddRoutes(http::Router* router, const LiveSeries* series,
                          const LivePageOptions& options, LiveExtension extend = nullptr);
};

}  // namespace yoloscope
