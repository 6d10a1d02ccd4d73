// TelemetrySource: something that can read the current state of the devices
// this process runs on. Implementations: NvmlTelemetry (NVIDIA GPUs through
// NVML, loaded at run time), ProcessTelemetry (CPU hosts: this process's CPU
// use and RSS, host memory), SimTelemetrySource (the simulated GPU of
// `--backend sim`, in src/backends/sim_backend.h).
//
// Contract:
// - Sample() returns one DeviceSample per device it watches, in a stable
//   order (device index order). Fields it cannot read are left empty.
// - A failure that concerns the whole source (the driver went away) comes
//   back as a non-OK Status; a field that cannot be read is just left empty.
// - Rates and utilisations that need two readings (CPU %, busy fraction) are
//   computed over the interval since the previous Sample() call (the first
//   call uses the interval since the source was created).
// - Thread-safety: Sample() is called by one thread at a time (normally the
//   TelemetrySampler's thread); kind()/description() are const and safe from
//   any thread.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "telemetry/device_sample.h"

namespace yoloscope {

class TelemetrySource {
 public:
  virtual ~TelemetrySource() = default;

  // Reads every watched device now. `ts_us` is left 0 (the sampler stamps it).
  virtual StatusOr<std::vector<DeviceSample>> Sample() = 0;

  // Short machine name: "nvml", "process", "sim", or a test's own name.
  virtual std::string kind() const = 0;
  // One line for logs and `/status`, e.g. "NVML 12.535.104.05, 2 GPUs".
  virtual std::string description() const = 0;
};

}  // namespace yoloscope
