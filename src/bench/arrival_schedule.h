// ArrivalSchedule: when an open-loop load generator sends each request.
//
// Three sources of arrival times:
// - constant: one request every 1/rate seconds, exactly;
// - poisson: exponentially distributed gaps with mean 1/rate (seeded, so a
//   run is reproducible);
// - replay: the arrival times of a recorded request log, divided by a speed
//   factor (speed 2 = twice as fast), with each request's image size.
//
// Offsets are nanoseconds since the start of the schedule (the first arrival
// is at offset 0 for constant and replay, at one random gap for poisson).
// Rate schedules never end; a replay ends after its last arrival.
//
// Thread-safety: thread-compatible (one user at a time).
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace yoloscope {

enum class ArrivalProcess { kConstant, kPoisson };

// "constant" / "poisson".
std::string_view ArrivalProcessName(ArrivalProcess process);
// Inverse of ArrivalProcessName; InvalidArgument for anything else.
StatusOr<ArrivalProcess> ParseArrivalProcess(std::string_view name);

// One scheduled request. image_w/image_h: the image size the request should
// carry (0 = any image).
struct Arrival {
  int64_t offset_ns = 0;
  int image_w = 0;
  int image_h = 0;
};

class ArrivalSchedule {
 public:
  // `rate_per_s` > 0 requests per second.
  static ArrivalSchedule FromRate(double rate_per_s, ArrivalProcess process, uint64_t seed = 1);
  // `arrivals` sorted by offset (as ReplayLog returns them); `speed` > 0
  // divides every offset.
  static ArrivalSchedule FromReplay(std::vector<Arrival> arrivals, double speed = 1.0);

  // The next arrival, or nullopt when a replay is exhausted.
  std::optional<Arrival> Next();

  // True for a replay (a finite schedule).
  bool finite() const { return replay_; }
  // Replay: number of arrivals; rate schedules: 0.
  size_t size() const { return arrivals_.size(); }

 private:
  ArrivalSchedule() = default;

  bool replay_ = false;
  ArrivalProcess process_ = ArrivalProcess::kConstant;
  double gap_ns_ = 0;   // mean gap for rate schedules
  int64_t count_ = 0;   // arrivals returned so far (constant)
  double next_ns_ = 0;  // poisson: offset of the next arrival
  std::mt19937_64 rng_;
  std::vector<Arrival> arrivals_;
  size_t index_ = 0;
};

}  // namespace yoloscope
