// ProcessTelemetry: resource facts of a CPU host, so CPU-only logs still
// carry them. Reads, from Linux's /proc:
// - process_cpu_util: this process's CPU time (utime + stime of
//   /proc/self/stat, in clock ticks) over the wall time since the previous
//   Sample(), as a percent of ALL the cores this process may run on
//   (sched_getaffinity): 100 = every allowed core busy; one busy thread on a
//   2-core machine reads ~50. Resolution is one clock tick (usually 10 ms of
//   CPU time), i.e. +-5 points at a 200 ms period on one core.
// - process_rss_mb: VmRSS of /proc/self/status.
// - host_mem_used_mb / host_mem_total_mb: MemTotal - MemAvailable and
//   MemTotal of /proc/meminfo.
// GPU fields stay empty; `device` is "cpu" and gpu_id is empty.
//
// The Clock measures the wall interval; pass a RealClock (CPU ticks are
// real). Not owned; must outlive the source.
// Thread-safety: Sample() from one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/clock.h"
#include "telemetry/telemetry_source.h"

namespace yoloscope {

struct ProcessTelemetryConfig {
  // Root of the proc filesystem (tests may point it at a copy).
  std::string proc_root = "/proc";
  // Appended to description(), e.g. why NVML was not used.
  std::string description_note;
};

class ProcessTelemetry final : public TelemetrySource {
 public:
  // Unavailable when <proc_root>/self/stat cannot be read (not Linux).
  static StatusOr<std::unique_ptr<ProcessTelemetry>> Create(const ProcessTelemetryConfig& config,
                                                            Clock* clock);

  StatusOr<std::vector<DeviceSample>> Sample() override;
  std::string kind() const override { return "process"; }
  std::string description() const override { return description_; }

  int cores() const { return cores_; }

 private:
  ProcessTelemetry(const ProcessTelemetryConfig& config, Clock* clock);

  // CPU time of this process (utime + stime) in clock ticks.
  StatusOr<int64_t> ReadCpuTicks() const;

  ProcessTelemetryConfig config_;
  Clock* clock_;  // not owned.
  int cores_ = 1;
  int64_t ticks_per_second_ = 100;
  // The previous reading (for the CPU delta).
  int64_t last_ticks_ = 0;
  int64_t last_ns_ = 0;
  std::string description_;
};

}  // namespace yoloscope
