#include "analyzer/aggregate/change_detector.h"

#include <algorithm>
#include <cmath>

namespace yoloscope {

double ChangeDetector::Median(std::vector<double> values) {
  if (values.empty()) return 0.0;
  const size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid), values.end());
  double m = values[mid];
  if (values.size() % 2 == 0) {
    const double lower =
        *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid));
    m = (m + lower) / 2.0;
  }
  return m;
}

double ChangeDetector::Mad(const std::vector<double>& values, double median) {
  std::vector<double> dev;
  dev.reserve(values.size());
  for (double v : values) dev.push_back(std::fabs(v - median));
  return Median(std::move(dev));
}

std::vector<ChangeDetector::Spike> ChangeDetector::FindSpikes(
    const std::vector<std::optional<double>>& series, double min_z, double min_rel,
    double mad_floor_rel) {
  std::vector<Spike> spikes;
  std::vector<double> values;
  for (const auto& v : series) {
    if (v) values.push_back(*v);
  }
  if (values.size() < 8) return spikes;
  const double median = Median(values);
  const double scale =
      std::max({1.4826 * Mad(values, median), mad_floor_rel * std::fabs(median), 1e-9});
  Spike current;
  bool open = false;
  for (size_t i = 0; i < series.size(); ++i) {
    const bool hit = series[i] && (*series[i] - median) / scale >= min_z &&
                     *series[i] >= (1.0 + min_rel) * median && *series[i] > 0;
    if (hit) {
      const double z = (*series[i] - median) / scale;
      if (!open) {
        current = Spike{i, i + 1, *series[i], median, z};
        open = true;
      } else {
        current.end = i + 1;
        current.peak = std::max(current.peak, *series[i]);
        current.z = std::max(current.z, z);
      }
    } else if (open && series[i]) {
      spikes.push_back(current);
      open = false;
    }
  }
  if (open) spikes.push_back(current);
  return spikes;
}

std::optional<ChangeDetector::Shift> ChangeDetector::FindLevelShift(
    const std::vector<std::optional<double>>& series, double min_t, double min_rel,
    size_t min_side) {
  std::vector<double> values;
  std::vector<size_t> index;
  for (size_t i = 0; i < series.size(); ++i) {
    if (series[i]) {
      values.push_back(*series[i]);
      index.push_back(i);
    }
  }
  const size_t n = values.size();
  if (n < 2 * min_side || n < 8) return std::nullopt;
  double mean = 0;
  for (double v : values) mean += v;
  mean /= static_cast<double>(n);
  double cusum = 0, best = 0;
  size_t best_at = 0;
  for (size_t k = 0; k + 1 < n; ++k) {
    cusum += values[k] - mean;
    if (std::fabs(cusum) > best && k + 1 >= min_side && n - (k + 1) >= min_side) {
      best = std::fabs(cusum);
      best_at = k + 1;
    }
  }
  if (best_at == 0) return std::nullopt;
  auto stats = [&](size_t b, size_t e, double* m, double* var) {
    double s = 0;
    for (size_t i = b; i < e; ++i) s += values[i];
    *m = s / static_cast<double>(e - b);
    double ss = 0;
    for (size_t i = b; i < e; ++i) ss += (values[i] - *m) * (values[i] - *m);
    *var = e - b > 1 ? ss / static_cast<double>(e - b - 1) : 0.0;
  };
  double m1, v1, m2, v2;
  stats(0, best_at, &m1, &v1);
  stats(best_at, n, &m2, &v2);
  const double n1 = static_cast<double>(best_at), n2 = static_cast<double>(n - best_at);
  const double floor_var = std::pow(0.02 * std::max(std::fabs(m1), std::fabs(m2)), 2) + 1e-18;
  const double se = std::sqrt(std::max(v1, floor_var) / n1 + std::max(v2, floor_var) / n2);
  const double t = std::fabs(m2 - m1) / se;
  const double base = std::max(std::fabs(m1), 1e-12);
  if (t < min_t || std::fabs(m2 - m1) / base < min_rel) return std::nullopt;
  return Shift{index[best_at], m1, m2, t};
}

ChangeDetector::Trend ChangeDetector::FitTrend(const std::vector<double>& x,
                                               const std::vector<double>& y) {
  Trend t;
  const size_t n = std::min(x.size(), y.size());
  t.n = n;
  if (n < 2) return t;
  double mx = 0, my = 0;
  for (size_t i = 0; i < n; ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= static_cast<double>(n);
  my /= static_cast<double>(n);
  double sxx = 0, sxy = 0, syy = 0;
  for (size_t i = 0; i < n; ++i) {
    sxx += (x[i] - mx) * (x[i] - mx);
    sxy += (x[i] - mx) * (y[i] - my);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (sxx <= 0) return t;
  t.slope = sxy / sxx;
  t.intercept = my - t.slope * mx;
  t.r2 = syy > 0 ? (sxy * sxy) / (sxx * syy) : 0.0;
  return t;
}

}  // namespace yoloscope
