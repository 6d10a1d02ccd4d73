#include "whatif/arrival_replay.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace yoloscope {

StatusOr<ArrivalReplay> ArrivalReplay::Create(std::vector<int64_t> arrival_us) {
  if (arrival_us.size() < 2) {
    return FailedPreconditionError(fmt::format(
        "cannot predict: needs the arrival times (ts) of at least two requests; the log has {}",
        arrival_us.size()));
  }
  std::stable_sort(arrival_us.begin(), arrival_us.end());
  if (arrival_us.back() == arrival_us.front()) {
    return FailedPreconditionError(
        "cannot predict: needs arrivals spread over time; every request has the same ts");
  }
  return ArrivalReplay(std::move(arrival_us));
}

double ArrivalReplay::DurationS() const {
  return static_cast<double>(arrival_us_.back() - arrival_us_.front()) / 1e6;
}

double ArrivalReplay::MeanRatePerS() const {
  return static_cast<double>(arrival_us_.size() - 1) / DurationS();
}

double ArrivalReplay::PeakRatePerS(double window_s) const {
  if (!(window_s > 0) || DurationS() <= window_s) return MeanRatePerS();
  const auto window_us = static_cast<int64_t>(window_s * 1e6);
  size_t best = 0, lo = 0;
  for (size_t hi = 0; hi < arrival_us_.size(); ++hi) {
    while (arrival_us_[hi] - arrival_us_[lo] >= window_us) ++lo;
    best = std::max(best, hi - lo + 1);
  }
  return static_cast<double>(best) / window_s;
}

std::vector<int64_t> ArrivalReplay::ScaledNs(double scale) const {
  std::vector<int64_t> out;
  out.reserve(arrival_us_.size());
  const int64_t first = arrival_us_.front();
  for (int64_t t : arrival_us_) {
    out.push_back(std::llround(static_cast<double>(t - first) * 1000.0 / scale));
  }
  return out;
}

}  // namespace yoloscope
