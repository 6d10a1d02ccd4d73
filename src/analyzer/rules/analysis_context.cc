#include "analyzer/rules/analysis_context.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "analyzer/report/report_format.h"

namespace yoloscope {
namespace {

int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t RoundUpToMultiple(int64_t v, int64_t m) { return ((v + m - 1) / m) * m; }

}  // namespace

std::string AnalysisContext::Time(int64_t ts_us) const {
  return ts_monotonic ? FormatOffset(ts_us, time_origin_us) : FormatTime(ts_us);
}

bool AnalysisContext::Require(std::string_view check,
                              const std::vector<std::vector<LogField>>& groups) {
  SkippedCheck skip;
  for (const auto& group : groups) {
    bool any = false;
    std::string names;
    for (LogField f : group) {
      any = any || Has(f);
      if (!names.empty()) names += '|';
      names += LogFieldName(f);
    }
    if (!any) skip.missing_fields.push_back(names);
  }
  if (skip.missing_fields.empty()) return true;
  skip.check = std::string(check);
  skip.reason = "the log has no " + fmt::format("{}", fmt::join(skip.missing_fields, ", no "));
  report->skipped_checks.push_back(std::move(skip));
  return false;
}

void AnalysisContext::SkipForSamples(std::string_view check, std::string reason) {
  SkippedCheck skip;
  skip.check = std::string(check);
  skip.reason = std::move(reason);
  report->skipped_checks.push_back(std::move(skip));
}

std::optional<AnalysisContext::Inflation> AnalysisContext::InflationWhere(
    const std::function<bool(size_t)>& pick) const {
  Inflation out;
  double num = 0, den = 0;
  for (size_t i = 0; i < windows.size(); ++i) {
    if (!pick(i)) continue;
    ++out.windows;
    out.requests += windows[i].requests;
    if (inflation_den[i] <= 0) continue;
    num += inflation_num[i];
    den += inflation_den[i];
    for (const WorkCell& c : windows[i].work) {
      if (steady.count(c.key)) out.samples += use_inference ? c.inference_n : c.total_n;
    }
  }
  if (den <= 0) return std::nullopt;
  out.ratio = num / den;
  return out;
}

std::vector<TimeRange> AnalysisContext::RangesWhere(const std::function<bool(size_t)>& pick) const {
  std::vector<TimeRange> ranges;
  for (size_t i = 0; i < windows.size(); ++i) {
    if (!pick(i)) continue;
    const TimeRange r = WindowRange(i);
    if (!ranges.empty() && ranges.back().end_us == r.start_us) {
      ranges.back().end_us = r.end_us;
    } else {
      ranges.push_back(r);
    }
  }
  return ranges;
}

std::vector<std::string> AnalysisContext::SlowestIdsWhere(
    const std::function<bool(size_t)>& pick) const {
  std::vector<const RequestExample*> ex;
  for (size_t i = 0; i < windows.size(); ++i) {
    if (pick(i) && windows[i].has_slowest) ex.push_back(&windows[i].slowest);
  }
  std::sort(ex.begin(), ex.end(), [](const RequestExample* a, const RequestExample* b) {
    if (a->value != b->value) return a->value > b->value;
    return a->ts_us < b->ts_us;
  });
  std::vector<std::string> ids;
  for (const RequestExample* e : ex) {
    if (static_cast<int>(ids.size()) >= config.max_request_ids) break;
    ids.push_back(e->id);
  }
  return ids;
}

std::vector<std::string> AnalysisContext::Ids(const ExampleSet& set) const {
  std::vector<std::string> ids;
  for (const RequestExample& e : set.items()) {
    if (static_cast<int>(ids.size()) >= config.max_request_ids) break;
    ids.push_back(e.id);
  }
  return ids;
}

std::optional<size_t> AnalysisContext::WindowOf(int64_t ts_us) const {
  if (windows.empty() || ts_us == std::numeric_limits<int64_t>::max()) return std::nullopt;
  const int64_t i = FloorDiv(ts_us - window_start_us.front(), window_us);
  if (i < 0 || i >= static_cast<int64_t>(windows.size())) return std::nullopt;
  return static_cast<size_t>(i);
}

std::vector<AnalysisContext::FineWindow> AnalysisContext::FineWindows(int target) const {
  std::vector<FineWindow> out;
  const TimeBucketStore& store = agg.time_buckets();
  const int64_t res = store.resolution_us();
  const int64_t span = range_end_us - range_start_us;
  if (store.size() == 0 || span <= 0) return out;
  const int64_t w = RoundUpToMultiple(std::max(res, span / std::max(1, target)), res);
  const int64_t count = (span + w - 1) / w;
  out.resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    out[static_cast<size_t>(i)].start_us = range_start_us + i * w;
    out[static_cast<size_t>(i)].end_us = range_start_us + (i + 1) * w;
  }
  for (const auto& [key, b] : store.buckets()) {
    const int64_t start = key * res;
    if (start < range_start_us || start >= range_end_us) continue;
    FineWindow& fw = out[static_cast<size_t>((start - range_start_us) / w)];
    fw.requests += b.requests;
    fw.errors += b.errors;
  }
  return out;
}

}  // namespace yoloscope
