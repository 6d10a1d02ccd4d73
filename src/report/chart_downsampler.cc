#include "report/chart_downsampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace yoloscope {
namespace {

constexpr size_t kNone = std::numeric_limits<size_t>::max();

// The bucket of `v` among `buckets` equal spans of [lo, hi].
size_t BucketOf(double v, double lo, double hi, size_t buckets) {
  if (!(hi > lo)) return 0;
  const double f = (v - lo) / (hi - lo) * static_cast<double>(buckets);
  if (!(f > 0)) return 0;
  return std::min(buckets - 1, static_cast<size_t>(f));
}

void SortUnique(std::vector<size_t>* rows) {
  std::sort(rows->begin(), rows->end());
  rows->erase(std::unique(rows->begin(), rows->end()), rows->end());
}

}  // namespace

std::vector<size_t> ChartDownsampler::MinMaxRows(
    const std::vector<double>& x, const std::vector<const std::vector<double>*>& series,
    size_t buckets) {
  std::vector<size_t> rows;
  const size_t n = x.size();
  size_t first = kNone, last = kNone;
  double lo = 0, hi = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) continue;
    if (first == kNone) {
      first = i;
      lo = hi = x[i];
    }
    last = i;
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  if (first == kNone) return rows;
  buckets = std::max<size_t>(buckets, 1);
  rows.push_back(first);
  rows.push_back(last);
  // Per series and bucket: row of the min, of the max, of the first gap.
  struct Pick {
    size_t min_row = kNone, max_row = kNone, gap_row = kNone;
  };
  std::vector<Pick> picks(buckets);
  for (const std::vector<double>* s : series) {
    std::fill(picks.begin(), picks.end(), Pick{});
    const size_t m = std::min(n, s->size());
    for (size_t i = 0; i < m; ++i) {
      if (!std::isfinite(x[i])) continue;
      Pick& p = picks[BucketOf(x[i], lo, hi, buckets)];
      const double v = (*s)[i];
      if (std::isnan(v)) {
        if (p.gap_row == kNone) p.gap_row = i;
        continue;
      }
      if (p.min_row == kNone || v < (*s)[p.min_row]) p.min_row = i;
      if (p.max_row == kNone || v > (*s)[p.max_row]) p.max_row = i;
    }
    for (const Pick& p : picks) {
      for (size_t r : {p.min_row, p.max_row, p.gap_row}) {
        if (r != kNone) rows.push_back(r);
      }
    }
  }
  SortUnique(&rows);
  return rows;
}

std::vector<size_t> ChartDownsampler::TimeRows(
    const std::vector<double>& x, const std::vector<const std::vector<double>*>& series,
    size_t max_points, size_t pixel_buckets) {
  const size_t k = std::max<size_t>(series.size(), 1);
  const size_t max_rows = std::max<size_t>(max_points / k, 2);
  std::vector<size_t> all;
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isfinite(x[i])) all.push_back(i);
  }
  if (all.size() <= max_rows) return all;
  for (size_t buckets = std::max<size_t>(pixel_buckets, 1);; buckets /= 2) {
    std::vector<size_t> rows = MinMaxRows(x, series, buckets);
    if (rows.size() <= max_rows) return rows;
    if (buckets <= 1) {
      // Even one bucket holds too many picks (many series, tiny cap).
      rows.resize(max_rows - 1);
      rows.push_back(all.back());
      SortUnique(&rows);
      return rows;
    }
  }
}

std::vector<size_t> ChartDownsampler::ScatterRows(const std::vector<double>& x,
                                                  const std::vector<double>& y, size_t max_points) {
  std::vector<size_t> valid;
  const size_t n = std::min(x.size(), y.size());
  double x_lo = 0, x_hi = 0, y_lo = 0, y_hi = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) continue;
    if (valid.empty()) {
      x_lo = x_hi = x[i];
      y_lo = y_hi = y[i];
    }
    x_lo = std::min(x_lo, x[i]);
    x_hi = std::max(x_hi, x[i]);
    y_lo = std::min(y_lo, y[i]);
    y_hi = std::max(y_hi, y[i]);
    valid.push_back(i);
  }
  max_points = std::max<size_t>(max_points, 4);
  if (valid.size() <= max_points) return valid;
  // Columns take 2 extremes each; cells take the rest of the budget.
  const size_t cols = std::clamp<size_t>(max_points / 8, 1, 1000);
  const size_t cells_per_col = std::max<size_t>((max_points - 2 * cols) / cols, 1);
  std::vector<size_t> cell_row(cols * cells_per_col, kNone);
  std::vector<size_t> col_min(cols, kNone), col_max(cols, kNone);
  for (size_t i : valid) {
    const size_t c = BucketOf(x[i], x_lo, x_hi, cols);
    const size_t r = BucketOf(y[i], y_lo, y_hi, cells_per_col);
    size_t& cell = cell_row[c * cells_per_col + r];
    if (cell == kNone) cell = i;
    if (col_min[c] == kNone || y[i] < y[col_min[c]]) col_min[c] = i;
    if (col_max[c] == kNone || y[i] > y[col_max[c]]) col_max[c] = i;
  }
  std::vector<size_t> rows;
  for (const auto* v : {&cell_row, &col_min, &col_max}) {
    for (size_t r : *v) {
      if (r != kNone) rows.push_back(r);
    }
  }
  SortUnique(&rows);
  return rows;
}

}  // namespace yoloscope
