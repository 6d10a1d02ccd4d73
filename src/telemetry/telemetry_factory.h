// CreateTelemetrySource: picks the TelemetrySource for this host.
//
// Kinds:
// - "auto": the simulated GPU's source when `sim_source` is given (the
//   backend is `sim`: a real GPU's numbers would describe the wrong device),
//   else NVML when a driver is present, else the process source. When NVML is
//   skipped the process source's description says why.
// - "nvml": NVML or its error (Unavailable on a CPU host).
// - "process": the CPU-host source.
// - "sim": `sim_source`, which the caller gets from the sim backend
//   (SimBackend::NewTelemetrySource); FailedPrecondition without one.
// Anything else: InvalidArgument.
//
// The Clock is not owned and must outlive the source.
#pragma once

#include <memory>
#include <string>

#include "common/clock.h"
#include "telemetry/nvml_telemetry.h"
#include "telemetry/process_telemetry.h"
#include "telemetry/telemetry_sampler.h"
#include "telemetry/telemetry_source.h"

namespace yoloscope {

struct TelemetryConfig {
  std::string kind = "auto";       // "auto" | "nvml" | "process" | "sim"
  TelemetrySamplerConfig sampler;  // period (default 200 ms)
  NvmlTelemetryConfig nvml;
  ProcessTelemetryConfig process;
};

StatusOr<std::unique_ptr<TelemetrySource>> CreateTelemetrySource(
    const TelemetryConfig& config, Clock* clock,
    std::unique_ptr<TelemetrySource> sim_source = nullptr);

}  // namespace yoloscope
