#include "bench/batch_queue_model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "bench/measurement_window.h"

namespace yoloscope {
namespace {

// Linear interpolation of (batch_size, value(point)) at b.
template <typename F>
double Interpolate(const EngineCurve& curve, int b, F value) {
  const auto& p = curve.points;
  if (p.size() == 1) return value(p[0]) * b / p[0].batch_size;
  if (b <= p.front().batch_size) return value(p.front()) * b / p.front().batch_size;
  for (size_t i = 1; i < p.size(); ++i) {
    if (b <= p[i].batch_size) {
      double t = static_cast<double>(b - p[i - 1].batch_size) /
                 static_cast<double>(p[i].batch_size - p[i - 1].batch_size);
      return value(p[i - 1]) + t * (value(p[i]) - value(p[i - 1]));
    }
  }
  const CurvePoint& a = p[p.size() - 2];
  const CurvePoint& z = p.back();
  double slope = (value(z) - value(a)) / static_cast<double>(z.batch_size - a.batch_size);
  return std::max(value(z), value(z) + slope * (b - z.batch_size));
}

}  // namespace

double BatchQueueModel::MedianMs(const EngineCurve& curve, int b) {
  return Interpolate(curve, b, [](const CurvePoint& p) { return p.p50_ms; });
}

double BatchQueueModel::P99Ms(const EngineCurve& curve, int b) {
  return std::max(MedianMs(curve, b),
                  Interpolate(curve, b, [](const CurvePoint& p) { return p.p99_ms; }));
}

BatchQueuePrediction BatchQueueModel::Simulate(const EngineCurve& curve,
                                               const BatchQueueConfig& config) {
  BatchQueuePrediction out;
  if (curve.points.empty() || config.instances < 1 || config.max_batch_size < 1 ||
      !(config.arrival_rate > 0)) {
    return out;
  }
  const int n = config.num_requests > 0
                    ? config.num_requests
                    : static_cast<int>(std::clamp(config.arrival_rate * 20.0, 5000.0, 50000.0));
  const int max_b = config.max_batch_size;
  // Service-time parameters per batch size: median and log-normal sigma.
  std::vector<double> median(max_b + 1), sigma(max_b + 1);
  for (int b = 1; b <= max_b; ++b) {
    median[b] = MedianMs(curve, b) * 1e6;  // ns
    double ratio = P99Ms(curve, b) * 1e6 / median[b];
    sigma[b] = ratio > 1 ? std::log(ratio) / 2.3263 : 0;
  }
  std::mt19937_64 rng(config.seed);
  std::exponential_distribution<double> gap(config.arrival_rate / 1e9);  // per ns
  std::normal_distribution<double> z(0.0, 1.0);
  std::vector<double> arrival(n);
  double t = 0;
  for (int i = 0; i < n; ++i) {
    t += gap(rng);
    arrival[i] = t;
  }
  const double delay_ns = static_cast<double>(config.max_queue_delay_us) * 1e3;
  std::vector<double> free_at(config.instances, 0.0);
  std::vector<double> latency_ms(n);
  double busy_ns = 0, last_completion = 0;
  int64_t batches = 0;
  int head = 0;
  while (head < n) {
    auto k = std::min_element(free_at.begin(), free_at.end());
    const double f = *k;
    const double a0 = arrival[head];
    double dispatch;
    if (delay_ns <= 0) {
      dispatch = std::max(f, a0);
    } else {
      const double full = head + max_b - 1 < n ? arrival[head + max_b - 1]
                                               : std::numeric_limits<double>::infinity();
      dispatch = std::max(f, std::min(a0 + delay_ns, full));
    }
    const int limit = std::min(n, head + max_b);
    const int end = static_cast<int>(
        std::upper_bound(arrival.begin() + head, arrival.begin() + limit, dispatch) -
        arrival.begin());
    const int b = std::max(1, end - head);
    const double service = median[b] * std::exp(sigma[b] * z(rng));
    const double done = dispatch + service;
    for (int i = head; i < head + b; ++i) latency_ms[i] = (done - arrival[i]) / 1e6;
    busy_ns += service;
    last_completion = std::max(last_completion, done);
    *k = done;
    head += b;
    ++batches;
  }
  const double span_s = (last_completion - arrival.front()) / 1e9;
  out.throughput = span_s > 0 ? n / span_s : 0;
  out.mean_batch_size = static_cast<double>(n) / static_cast<double>(batches);
  out.utilization = span_s > 0 ? busy_ns / 1e9 / (span_s * config.instances) : 0;
  out.stable = out.throughput >= 0.97 * config.arrival_rate;
  // Percentiles over all but the first 5% (the empty-system start).
  std::vector<double> measured(latency_ms.begin() + n / 20, latency_ms.end());
  double sum = 0;
  for (double v : measured) sum += v;
  out.mean_ms = sum / static_cast<double>(measured.size());
  std::sort(measured.begin(), measured.end());
  out.p50_ms = NearestRank(measured, 0.50);
  out.p99_ms = NearestRank(measured, 0.99);
  return out;
}

}  // namespace yoloscope
