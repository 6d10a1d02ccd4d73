// FakeTelemetrySource: a scripted TelemetrySource for tests. Each Sample()
// returns `devices` samples whose gpu_util is the call number (1, 2, ...),
// or fails when `fail_next` is set. Thread-safe counters.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "telemetry/telemetry_source.h"

namespace yoloscope::testing {

class FakeTelemetrySource final : public TelemetrySource {
 public:
  explicit FakeTelemetrySource(int devices = 1) : devices_(devices) {}

  StatusOr<std::vector<DeviceSample>> Sample() override {
    int64_t n = calls_.fetch_add(1) + 1;
    if (fail_next_.exchange(false)) return UnavailableError("fake failure");
    std::vector<DeviceSample> out;
    for (int i = 0; i < devices_; ++i) {
      DeviceSample s;
      s.device = "fake:" + std::to_string(i);
      s.gpu_id = i;
      s.gpu_util = static_cast<double>(n);
      out.push_back(s);
    }
    return out;
  }
  std::string kind() const override { return "fake"; }
  std::string description() const override { return "fake source"; }

  int64_t calls() const { return calls_.load(); }
  void FailNext() { fail_next_.store(true); }

 private:
  int devices_;
  std::atomic<int64_t> calls_{0};
  std::atomic<bool> fail_next_{false};
};

}  // namespace yoloscope::testing
