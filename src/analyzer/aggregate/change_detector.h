// ChangeDetector: spikes and level shifts in a per-window time series, and a
// least-squares trend. Missing windows are nullopt and skipped.
//
//  - Spikes: robust z-score against the series median and MAD
//    (z = (x - median) / (1.4826 * MAD)); the MAD is floored at
//    `mad_floor_rel` of |median| so that a near-constant series does not turn
//    noise into infinite z. A spike is a run of windows with z >= min_z AND
//    x >= (1 + min_rel) * median (both: statistically and practically large).
//  - Level shift: CUSUM of deviations from the mean; its extreme marks the
//    change point, accepted when Welch's t between the two sides >= min_t,
//    the relative change >= min_rel, and each side has >= min_side windows.
//
// Stateless; all functions are pure.
#pragma once

#include <optional>
#include <vector>

namespace yoloscope {

class ChangeDetector {
 public:
  struct Spike {
    size_t begin = 0, end = 0;  // windows [begin, end).
    double peak = 0;
    double median = 0;
    double z = 0;
  };
  struct Shift {
    size_t at = 0;  // first window of the new level.
    double before = 0, after = 0;
    double t = 0;
  };
  struct Trend {
    double slope = 0, intercept = 0, r2 = 0;
    size_t n = 0;
  };

  static std::vector<Spike> FindSpikes(const std::vector<std::optional<double>>& series,
                                       double min_z = 6.0, double min_rel = 0.5,
                                       double mad_floor_rel = 0.05);
  static std::optional<Shift> FindLevelShift(const std::vector<std::optional<double>>& series,
                                             double min_t = 6.0, double min_rel = 0.3,
                                             size_t min_side = 3);
  // Least squares of y on x over pairs where both exist.
  static Trend FitTrend(const std::vector<double>& x, const std::vector<double>& y);

  // Median of the values (0 when empty) and median absolute deviation.
  static double Median(std::vector<double> values);
  static double Mad(const std::vector<double>& values, double median);
};

}  // namespace yoloscope
