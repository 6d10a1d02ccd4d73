// ArrivalReplay: the arrival process of a request log, replayed as it was
// or scaled in rate. Scaling by F divides every gap between consecutive
// arrivals by F (x1.5 = the same traffic pattern, bursts included, 1.5 times
// as fast); the first arrival stays at time 0.
//
// Units: input in Unix microseconds (the log's ts), output in nanoseconds
// from the first arrival. Thread-safety: immutable after Create.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"

namespace yoloscope {

class ArrivalReplay {
 public:
  // Window of PeakRatePerS's default.
  static constexpr double kPeakWindowS = 1.0;

  // `arrival_us` in any order (Create sorts; a caller that attaches data per
  // arrival passes them sorted, and the order is kept). FailedPrecondition
  // "cannot predict: needs ..." with fewer than two arrivals or when they
  // all share one instant.
  static StatusOr<ArrivalReplay> Create(std::vector<int64_t> arrival_us);

  size_t size() const { return arrival_us_.size(); }
  // Last minus first arrival, seconds.
  double DurationS() const;
  // (n - 1) / duration: the mean arrival rate, requests per second.
  double MeanRatePerS() const;
  // The most arrivals in any window of `window_s` (sliding over arrival
  // times), per second; the mean rate when the log is shorter than a window.
  double PeakRatePerS(double window_s = kPeakWindowS) const;
  // Arrival times in ns from the first arrival with gaps divided by `scale`
  // (> 0), in the sorted order.
  std::vector<int64_t> ScaledNs(double scale) const;

 private:
  explicit ArrivalReplay(std::vector<int64_t> arrival_us) : arrival_us_(std::move(arrival_us)) {}
  std::vector<int64_t> arrival_us_;  // ascending.
};

}  // namespace yoloscope
