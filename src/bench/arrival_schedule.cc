#include "bench/arrival_schedule.h"

#include <cmath>
#include <string>
#include <utility>

namespace yoloscope {

std::string_view ArrivalProcessName(ArrivalProcess process) {
  return process == ArrivalProcess::kPoisson ? "poisson" : "constant";
}

StatusOr<ArrivalProcess> ParseArrivalProcess(std::string_view name) {
  if (name == "poisson") return ArrivalProcess::kPoisson;
  if (name == "constant") return ArrivalProcess::kConstant;
  return InvalidArgumentError("arrivals must be 'poisson' or 'constant', not '" +
                              std::string(name) + "'");
}

ArrivalSchedule ArrivalSchedule::FromRate(double rate_per_s, ArrivalProcess process,
                                          uint64_t seed) {
  ArrivalSchedule s;
  s.process_ = process;
  s.gap_ns_ = 1e9 / rate_per_s;
  s.rng_.seed(seed);
  if (process == ArrivalProcess::kPoisson) {
    std::exponential_distribution<double> gap(1.0);
    s.next_ns_ = gap(s.rng_) * s.gap_ns_;
  }
  return s;
}

ArrivalSchedule ArrivalSchedule::FromReplay(std::vector<Arrival> arrivals, double speed) {
  ArrivalSchedule s;
  s.replay_ = true;
  for (Arrival& a : arrivals) {
    a.offset_ns = static_cast<int64_t>(std::llround(static_cast<double>(a.offset_ns) / speed));
  }
  s.arrivals_ = std::move(arrivals);
  return s;
}

std::optional<Arrival> ArrivalSchedule::Next() {
  if (replay_) {
    if (index_ >= arrivals_.size()) return std::nullopt;
    return arrivals_[index_++];
  }
  Arrival a;
  if (process_ == ArrivalProcess::kConstant) {
    // Computed from the count, not accumulated, so rounding never drifts.
    a.offset_ns = static_cast<int64_t>(std::llround(static_cast<double>(count_++) * gap_ns_));
  } else {
    a.offset_ns = static_cast<int64_t>(std::llround(next_ns_));
    std::exponential_distribution<double> gap(1.0);
    next_ns_ += gap(rng_) * gap_ns_;
  }
  return a;
}

}  // namespace yoloscope
