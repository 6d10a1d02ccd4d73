// Helpers shared by the diagnosis rules (rules/<kind>.cc): building findings,
// and the measures several rules read (memory per batch size, stage means,
// the reference clock). A helper used by one rule stays in that rule's file.
//
// All functions are pure reads of the context (thread-safe on a const one).
// Units: times in ms, memory in MB, ratios in 0..1.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "analyzer/rules/analysis_context.h"

namespace yoloscope {

Finding NewFinding(std::string_view kind, FindingSeverity severity, std::string title);
// Adds a metric when `value` is finite.
void AddMetric(Finding* f, std::string name, double value);
// "1 request", "3 requests".
std::string Plural(int64_t n, std::string_view one, std::string_view many);
// Non-empty parts joined by one space.
std::string JoinSentences(const std::vector<std::string>& parts);
// a / b, 0 when b <= 0.
double Frac(int64_t a, int64_t b);

// Per batch size: peak memory ratio, OOMs and samples (all equal-work keys).
struct BatchMemory {
  double max_ratio = -1;
  double max_used_mb = -1;
  int64_t ooms = 0;
  int64_t samples = 0;
};
std::map<int64_t, BatchMemory> MemoryByBatch(const LogAggregator& agg);
// Largest batch size b such that no batch <= b ran out of memory and, where
// memory is known, none of them went above `safe_mem_ratio`. nullopt: no cap
// known.
std::optional<int64_t> SafeBatchCap(const std::map<int64_t, BatchMemory>& by_batch,
                                    double safe_mem_ratio);
// Highest memory ratio seen in records or device windows; -1 when unknown.
double PeakMemRatio(const AnalysisContext& ctx);

double StageMean(const AnalysisContext& ctx, LogStage s);
// Mean end-to-end latency: total_ms when logged, else the sum of stage means.
double TotalMean(const AnalysisContext& ctx);
// "inference" or "total latency": the metric the equal-work baselines use.
const char* MetricName(const AnalysisContext& ctx);
// Mean of v[b, e).
double MeanOf(const std::vector<double>& v, size_t b, size_t e);
// gpu_ids with device state in some window.
std::set<int64_t> DeviceIds(const AnalysisContext& ctx);
// Whether an earlier rule reported a finding of `kind` (the registry lists
// the rules a rule reads, so that they run before it).
bool HasFinding(const AnalysisContext& ctx, std::string_view kind);
// Mean queue wait over mean total latency (0 when unknown).
double QueueShare(const AnalysisContext& ctx);
// The 90th percentile of the windows' SM clocks (MHz); 0 when unknown.
double ReferenceClock(const AnalysisContext& ctx);
// A window throttled: half its samples report a throttle reason, or its clock
// is at most `clock_drop` x the reference clock.
bool ThrottledWindow(const AnalysisContext& ctx, size_t i, double ref_clock, double clock_drop);

}  // namespace yoloscope
