#include "bench/measurement_window.h"

#include <algorithm>
#include <cmath>

namespace yoloscope {

double NearestRank(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  double rank = std::ceil(q * static_cast<double>(sorted.size()));
  size_t i = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return sorted[std::min(i, sorted.size() - 1)];
}

void MeasurementWindow::Record(int64_t latency_ns, int http_status,
                               const std::optional<ServerTiming>& timing) {
  ++responses_;
  ++status_counts_[http_status];
  if (http_status < 200 || http_status > 299) return;
  latency_ns_.push_back(latency_ns);
  if (timing) timings_.push_back(*timing);
}

WindowSummary MeasurementWindow::Summarize(int64_t duration_ns) const {
  return Merge({this}, duration_ns);
}

WindowSummary MeasurementWindow::Merge(const std::vector<const MeasurementWindow*>& windows,
                                       int64_t duration_ns) {
  WindowSummary s;
  s.duration_s = static_cast<double>(duration_ns) / 1e9;
  std::vector<double> latency_ms;
  size_t timed = 0;
  for (const MeasurementWindow* w : windows) {
    s.responses += w->responses_;
    for (const auto& [status, n] : w->status_counts_) s.status_counts[status] += n;
    for (int64_t ns : w->latency_ns_) latency_ms.push_back(static_cast<double>(ns) / 1e6);
    timed += w->timings_.size();
  }
  s.ok = static_cast<int64_t>(latency_ms.size());
  s.throughput = s.duration_s > 0 ? static_cast<double>(s.ok) / s.duration_s : 0;
  if (!latency_ms.empty()) {
    double sum = 0;
    for (double v : latency_ms) sum += v;
    std::sort(latency_ms.begin(), latency_ms.end());
    s.latency.count = s.ok;
    s.latency.mean_ms = sum / static_cast<double>(latency_ms.size());
    s.latency.p50_ms = NearestRank(latency_ms, 0.50);
    s.latency.p90_ms = NearestRank(latency_ms, 0.90);
    s.latency.p95_ms = NearestRank(latency_ms, 0.95);
    s.latency.p99_ms = NearestRank(latency_ms, 0.99);
    s.latency.max_ms = latency_ms.back();
  }
  if (timed > 0) {
    s.server_timed = static_cast<int64_t>(timed);
    std::vector<double> values;
    values.reserve(timed);
    for (int stage = 0; stage < kNumStages; ++stage) {
      values.clear();
      double sum = 0;
      for (const MeasurementWindow* w : windows) {
        for (const ServerTiming& t : w->timings_) {
          values.push_back(t.ms[stage]);
          sum += t.ms[stage];
        }
      }
      std::sort(values.begin(), values.end());
      s.stages[stage].mean_ms = sum / static_cast<double>(values.size());
      s.stages[stage].p50_ms = NearestRank(values, 0.50);
      s.stages[stage].p99_ms = NearestRank(values, 0.99);
    }
    for (const MeasurementWindow* w : windows) {
      for (const ServerTiming& t : w->timings_) {
        if (t.batch_size > 0) ++s.batch_sizes[t.batch_size];
      }
    }
  }
  return s;
}

MeasurementWindow::Pooled MeasurementWindow::PoolLast(
    const std::vector<std::unique_ptr<MeasurementWindow>>& windows,
    const std::vector<int64_t>& window_ns, const std::vector<int64_t>& sent, size_t n) {
  n = std::min(n, windows.size());
  std::vector<const MeasurementWindow*> last;
  int64_t duration = 0, sent_total = 0;
  for (size_t k = windows.size() - n; k < windows.size(); ++k) {
    last.push_back(windows[k].get());
    duration += window_ns[k];
    sent_total += sent[k];
  }
  Pooled p;
  p.summary = Merge(last, duration);
  p.send_rate =
      duration > 0 ? static_cast<double>(sent_total) * 1e9 / static_cast<double>(duration) : 0;
  return p;
}

}  // namespace yoloscope
