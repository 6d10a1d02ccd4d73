// ChartDownsampler: picks the rows of a chart worth drawing when there are
// more than a page should carry, keeping what a person looks for: spikes,
// dips and gaps.
//
// Time charts (MinMaxRows): x is cut into `buckets` equal spans (about one
// per pixel); in each span every series keeps the row of its minimum and of
// its maximum, and the first row where it has no value (so a gap stays a
// gap); the first and last rows are always kept. A spike of one row is
// never lost, whatever the bucket count.
//
// Scatter charts (ScatterRows): the x/y range is cut into a grid; each cell
// keeps its first point and each column its lowest and highest point.
//
// Values are doubles; NaN means "no value". Rows whose x is not finite are
// dropped. Results are ascending, unique row indices.
//
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <vector>

namespace yoloscope {

class ChartDownsampler {
 public:
  // Rows to keep for a time chart with `x` ascending and every series as
  // long as `x`. `buckets` >= 1.
  static std::vector<size_t> MinMaxRows(const std::vector<double>& x,
                                        const std::vector<const std::vector<double>*>& series,
                                        size_t buckets);

  // Rows to keep so that rows x series <= `max_points`: all rows when they
  // fit, else MinMaxRows with the largest bucket count (starting at
  // `pixel_buckets`, halving) whose result fits. Never returns more than
  // max_points / series rows (at worst the first and last row).
  static std::vector<size_t> TimeRows(const std::vector<double>& x,
                                      const std::vector<const std::vector<double>*>& series,
                                      size_t max_points, size_t pixel_buckets);

  // At most `max_points` points of the scatter (x[i], y[i]) (NaN in either
  // drops the point); all of them when they fit.
  static std::vector<size_t> ScatterRows(const std::vector<double>& x, const std::vector<double>& y,
                                         size_t max_points);
};

}  // namespace yoloscope
