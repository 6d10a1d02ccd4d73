// BenchReport: the results of a `yoloscope bench` load run, one LevelResult
// per load level, and their renderings: a table for the terminal, CSV (one
// row per level) and JSON (everything, including every window).
//
// Units: throughput in successful requests per second; latencies in ms.
// Thread-safety: value types; the rendering methods are const.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "bench/measurement_window.h"
#include "bench/stability_checker.h"
#include "common/status.h"

namespace yoloscope {

enum class LoadMode { kClosedLoop, kOpenLoop, kReplay };
// "closed", "open", "replay".
std::string_view LoadModeName(LoadMode mode);

struct LevelResult {
  LoadMode mode = LoadMode::kClosedLoop;
  // Concurrency (closed loop), requested rate in req/s (open loop) or the
  // speed factor (replay).
  double level = 0;
  // Over the measured windows: the last `stability.windows` windows (all of
  // them for a replay).
  WindowSummary summary;
  bool stable = false;
  StabilityVerdict verdict;
  int windows = 0;  // windows measured after warm-up
  std::vector<WindowSummary> window_series;
  // Requests sent per second over the measured windows; in open loop it
  // falls below `level` when the generator or the connection limit cannot
  // keep up (the backlog is then counted in the latencies anyway).
  double send_rate = 0;
  // Open loop: requests scheduled in the measured windows but still unsent
  // when the level ended (a backlog: connection limit reached).
  int64_t unsent = 0;
  int max_in_flight = 0;  // most requests outstanding at once while measuring
  int connections = 0;    // connections open at the end of the level

  // "concurrency 8", "rate 200/s", "replay x1".
  std::string Label() const;
};

class BenchReport {
 public:
  std::string target;    // URL + request target
  std::string protocol;  // yoloscope | kserve
  std::string images;    // what was sent, e.g. "4 generated 640x480 JPEGs"
  std::vector<LevelResult> levels;

  // The terminal table: one row per level (throughput, latency percentiles,
  // errors by status, stability), then the server-side stage breakdown and
  // batch sizes when the responses carried them.
  std::string ToTable() const;
  // One header line and one row per level.
  std::string ToCsv() const;
  // {"target":..., "levels":[{...,"windows":[...]}]}, pretty-printed.
  std::string ToJson() const;

  // FailedPrecondition naming every level whose measured requests all
  // failed (no 2xx response), with the statuses seen, e.g. "concurrency 8:
  // all 27140 requests failed (404 x 27140)": such a level measured nothing,
  // however stable its numbers look. Ok otherwise.
  Status Verdict() const;
};

// Writes `text` to `path` (truncating). Internal error naming the path when
// it cannot be written.
Status WriteTextFile(const std::string& path, const std::string& text);

}  // namespace yoloscope
