// CheckServedNumbers: what a reader of the raw request records would
// confirm about an analysis -- the served count, the served requests'
// total_ms p50 / p99 and the served capacity (served per second over the
// requests' arrival span). The lab applies it to every scenario's log, so the
// overload scenario asserts that its percentiles and its "handles N rps" are
// those of the served requests, not of the refusals (issue 16).
//
// Served = a `request` record (or one without `event`) whose status is "ok"
// or absent. Thread-safety: a pure function.
#pragma once

#include <string>
#include <vector>

#include "analyzer/analysis_report.h"
#include "common/status.h"

namespace yoloscope {

struct ServedTruth {
  int64_t requests = 0, served = 0;
  double served_p50_ms = 0, served_p99_ms = 0;  // nearest rank
  double span_s = 0;                             // max - min arrival ts of requests
  double served_rps = 0;
};

// Reads a yoloscope.v1 JSONL log with a plain JSON parser (not the analyzer's readers).
StatusOr<ServedTruth> ReadServedTruth(const std::string& log_path);

// The disagreements, e.g. "served p99 1.18 s in the analysis, 812 ms in the
// records"; empty when the analysis matches (percentiles within 2%, the
// histogram's resolution; rates within 1%).
std::vector<std::string> CompareServedNumbers(const ServedTruth& truth,
                                              const AnalysisReport& report);

}  // namespace yoloscope
