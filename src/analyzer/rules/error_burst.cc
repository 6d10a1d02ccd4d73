#include "analyzer/rules/error_burst.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "analyzer/aggregate/change_detector.h"
#include "analyzer/rules/rule_helpers.h"

namespace yoloscope {
namespace {

bool AnyStatus(const std::vector<CountEntry>& top, bool (*pred)(std::string_view)) {
  return !top.empty() && pred(top.front().key);
}

bool LooksOom(std::string_view s) {
  std::string l(s);
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
  return l.find("oom") != std::string::npos || l.find("out of memory") != std::string::npos ||
         l.find("out_of_memory") != std::string::npos;
}

bool LooksRejected(std::string_view s) {
  std::string l(s);
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
  return l == "503" || l == "429" || l.find("queue") != std::string::npos ||
         l.find("overload") != std::string::npos || l.find("reject") != std::string::npos ||
         l.find("exhausted") != std::string::npos || l.find("unavailable") != std::string::npos;
}

bool LooksTimeout(std::string_view s) {
  std::string l(s);
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
  return l == "504" || l.find("timeout") != std::string::npos ||
         l.find("deadline") != std::string::npos || l.find("timed out") != std::string::npos;
}

}  // namespace

void ErrorBurstRule::Run(AnalysisContext& ctx) const {
  const FlagCounter& err = ctx.agg.flag(RecordFlag::kError);
  if (err.hits == 0) return;
  const double overall = err.fraction();
  // Bursts are looked for on windows ~10x finer than the time series: a 30 s
  // burst must not drown in a 2 min window.
  const std::vector<AnalysisContext::FineWindow> W = ctx.FineWindows(t_.burst_fine_windows);
  std::vector<double> rates;
  for (const auto& w : W) {
    if (w.requests >= t_.burst_window_min_requests) rates.push_back(Frac(w.errors, w.requests));
  }
  const double median = ChangeDetector::Median(rates);
  auto burst = [&](size_t i) {
    const auto& w = W[i];
    return w.requests >= t_.burst_window_min_requests && w.errors >= t_.burst_min_errors &&
           Frac(w.errors, w.requests) >=
               std::max(t_.burst_min_rate, t_.burst_over_median * median + 0.01);
  };
  int64_t burst_errors = 0, burst_requests = 0;
  size_t burst_windows = 0;
  double peak = 0;
  for (size_t i = 0; i < W.size(); ++i) {
    if (!burst(i)) continue;
    ++burst_windows;
    burst_errors += W[i].errors;
    burst_requests += W[i].requests;
    peak = std::max(peak, Frac(W[i].errors, W[i].requests));
  }
  const bool is_burst =
      burst_windows > 0 && burst_errors >= t_.burst_min_errors &&
      static_cast<double>(burst_windows) <= 0.5 * static_cast<double>(rates.size());
  const bool steady = overall >= t_.error_rate_warn && err.hits >= t_.burst_min_errors;
  const bool notable = overall >= t_.error_rate_info && err.hits >= 10;
  if (!is_burst && !steady && !notable) return;
  FindingSeverity sev = FindingSeverity::kInfo;
  if (is_burst || steady) sev = FindingSeverity::kWarning;
  if ((is_burst && peak >= t_.burst_critical_rate) || overall >= t_.error_rate_critical)
    sev = FindingSeverity::kCritical;
  std::vector<TimeRange> ranges;
  for (size_t i = 0; is_burst && i < W.size(); ++i) {
    if (!burst(i)) continue;
    if (!ranges.empty() && ranges.back().end_us == W[i].start_us) {
      ranges.back().end_us = W[i].end_us;
    } else {
      ranges.push_back({W[i].start_us, W[i].end_us});
    }
  }
  auto in_burst = [&](int64_t ts) {
    return std::any_of(ranges.begin(), ranges.end(),
                       [&](const TimeRange& r) { return ts >= r.start_us && ts < r.end_us; });
  };
  Finding f = NewFinding(
      "error_burst", sev,
      is_burst ? fmt::format("Error burst: up to {} of requests failed{}", FormatPercent(peak),
                             ranges.empty() ? "" : " from " + ctx.Time(ranges.front().start_us))
               : fmt::format("{} of requests failed", FormatPercent(overall)));
  const auto& top = ctx.report->summary.errors_by_status;
  std::vector<std::string> parts;
  for (size_t i = 0; i < top.size() && i < 3; ++i) {
    parts.push_back(fmt::format("'{}' x{}", top[i].key, top[i].count));
  }
  f.evidence.push_back(fmt::format("{} of {} requests failed ({}): {}", err.hits, err.eligible,
                                   FormatPercent(overall), fmt::join(parts, ", ")));
  if (is_burst) {
    f.evidence.push_back(
        fmt::format("{} errors in {} (error rate up to {} vs a typical {})", burst_errors,
                    Plural(static_cast<int64_t>(burst_windows), "window", "windows"),
                    FormatPercent(peak), FormatPercent(median)));
  }
  AddMetric(&f, "error_rate", overall);
  if (is_burst) AddMetric(&f, "peak_error_rate", peak);
  f.affected_count = is_burst ? burst_errors : err.hits;
  f.affected_fraction = is_burst ? Frac(burst_errors, ctx.agg.requests()) : overall;
  f.time_ranges = ranges;
  for (const RequestExample& e : err.examples.items()) {
    if (static_cast<int>(f.request_ids.size()) >= ctx.config.max_request_ids) break;
    if (!is_burst || in_burst(e.ts_us)) f.request_ids.push_back(e.id);
  }
  if (f.request_ids.empty()) f.request_ids = ctx.Ids(err.examples);
  if (AnyStatus(top, LooksOom)) {
    f.recommendation =
        "Most errors are out-of-memory: see the oom finding (cap the batch size, "
        "expandable_segments).";
  } else if (AnyStatus(top, LooksRejected)) {
    f.recommendation =
        "Most errors are rejections by a full queue or an overloaded server: see queue_saturation "
        "(add capacity, enable batching) and have clients retry with backoff.";
  } else if (AnyStatus(top, LooksTimeout)) {
    f.recommendation =
        "Most errors are timeouts: cut latency first (see the other findings) or raise the "
        "deadline to above the p99 latency.";
  } else {
    f.recommendation = fmt::format(
        "Look at the server log{} for the cause of '{}'; if it is bad client input, validate it at "
        "the edge and return 4xx without using the GPU.",
        ranges.empty() ? "" : " around " + ctx.Time(ranges.front().start_us),
        top.empty() ? std::string("error") : top.front().key);
  }
  ctx.report->findings.push_back(std::move(f));
}

}  // namespace yoloscope
